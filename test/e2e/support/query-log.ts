import type { TestHub } from '../../helpers/test-hub';
import { ACTIVE_KEY_SQL } from '../../../src/hub-keys/hub-keys';

/**
 * Every SQL statement the hub sends while `action` runs (TypeORM logs each one through the data
 * source's logger, whether or not logging is on). For N+1 checks: a list field that batches
 * sends as many statements for a page of 2 as for a page of 20. Left out: the hub key's background
 * refresh (every HUB_KEY_REFRESH_SECONDS, whatever the hub is doing), which is no request's work.
 */
export async function queriesDuring<T>(hub: TestHub, action: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const spy = jest.spyOn(hub.hub.dataSource.logger, 'logQuery');
  try {
    const result = await action();
    return { result, queries: spy.mock.calls.map(([sql]) => sql).filter((sql) => sql !== ACTIVE_KEY_SQL) };
  } finally {
    spy.mockRestore();
  }
}
