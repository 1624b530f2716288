import type { TestHub } from '../../helpers/test-hub';

/**
 * Every SQL statement the hub sends while `action` runs (TypeORM logs each one through the data
 * source's logger, whether or not logging is on). For N+1 checks: a list field that batches
 * sends as many statements for a page of 2 as for a page of 20.
 */
export async function queriesDuring<T>(hub: TestHub, action: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const spy = jest.spyOn(hub.hub.dataSource.logger, 'logQuery');
  try {
    const result = await action();
    return { result, queries: spy.mock.calls.map(([sql]) => sql) };
  } finally {
    spy.mockRestore();
  }
}
