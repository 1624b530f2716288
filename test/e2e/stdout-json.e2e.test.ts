import { assertCliBuilt, CLI_PATH } from '../helpers/cli';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';
import { HubProcess } from '../helpers/hub-process';

/**
 * A real `serve` process writes only JSON lines to stdout (log shippers parse every line); what
 * is meant for a person at a terminal (the endpoint banner) goes to stderr.
 */
it('writes nothing but JSON lines to stdout while serving, each request logged with its request id', async () => {
  assertCliBuilt(); // npm test builds the hub first
  const database = await createTestDatabase();
  const hub = HubProcess.run([CLI_PATH, 'serve'], {
    DATABASE_URL: database.url,
    PORT: '0',
    LOG_LEVEL: 'info',
    EXPIRY_INTERVAL_SECONDS: '0',
    SETTLEMENT_INTERVAL_SECONDS: '0',
  });
  try {
    const url = await hub.url();
    await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'stdout-check-1' },
      body: '{"query":"{ __typename }"}',
    });
    await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ nope }"}' });
    await fetch(`${url}/no-such-page`);
    await fetch(`${url}/healthz`);
  } finally {
    hub.signal('SIGTERM');
    await hub.exitCode();
    await dropTestDatabase(database.name);
  }
  const { stdout, stderr } = hub;
  const lines = stdout.split('\n').filter((line) => line !== '');
  expect(lines.length).toBeGreaterThanOrEqual(5);
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`not a JSON line on stdout: ${line}`);
    }
  });
  const requests = parsed.filter((line) => line.msg === 'request');
  expect(requests).toHaveLength(4);
  expect(requests[0]).toMatchObject({ reqId: 'stdout-check-1', path: '/graphql', status: 200 });
  for (const line of requests) expect(line.reqId).toEqual(expect.any(String));
  expect(stderr).toContain('GraphQL endpoint');
});
