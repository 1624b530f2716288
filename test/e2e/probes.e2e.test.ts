import { Client } from 'pg';
import { TestHub } from '../helpers/test-hub';
import { databaseUrl as urlOf, dropTestDatabase, testServerUrl } from '../helpers/database';

/**
 * Liveness and readiness: /livez answers while the process serves; /readyz (and its alias
 * /healthz) answers 200 only when the database answers, no migration is pending and the hub is
 * not shutting down, and otherwise 503 naming the check that failed.
 */
let hub: TestHub;

async function probe(path: string): Promise<{ status: number; body: any; cache: string | null }> {
  const response = await fetch(`${hub.url}${path}`);
  return { status: response.status, body: await response.json(), cache: response.headers.get('cache-control') };
}

async function onDatabase<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const databaseUrl = () => urlOf(testServerUrl(), hub.databaseName);

beforeAll(async () => {
  hub = await TestHub.start();
});

afterAll(() => hub.stop());

describe('a running hub', () => {
  it('answers /livez with 200', async () => {
    expect(await probe('/livez')).toEqual({ status: 200, body: { status: 'ok' }, cache: 'no-store' });
  });

  it('answers /readyz and /healthz with 200 and every check ok', async () => {
    const ready = { status: 'ok', failed: [], checks: { database: { ok: true }, migrations: { ok: true }, draining: { ok: true } } };
    expect(await probe('/readyz')).toMatchObject({ status: 200, body: ready });
    expect(await probe('/healthz')).toMatchObject({ status: 200, body: ready });
  });
});

describe('readiness fails, naming the check', () => {
  it('on a pending migration (503 "migrations", with its name), and recovers once it is applied', async () => {
    const [last] = await onDatabase(
      databaseUrl(),
      async (client) => (await client.query('SELECT * FROM migrations ORDER BY id DESC LIMIT 1')).rows,
    );
    await onDatabase(databaseUrl(), (client) => client.query('DELETE FROM migrations WHERE id = $1', [last.id]));
    try {
      for (const path of ['/readyz', '/healthz']) {
        const answer = await probe(path);
        expect(answer.status).toBe(503);
        expect(answer.body.status).toBe('unavailable');
        expect(answer.body.failed).toEqual(['migrations']);
        expect(answer.body.checks.migrations.message).toBe(`1 pending: ${last.name}`);
      }
      expect((await probe('/livez')).status).toBe(200);
    } finally {
      await onDatabase(databaseUrl(), (client) =>
        client.query('INSERT INTO migrations (id, timestamp, name) VALUES ($1, $2, $3)', [last.id, last.timestamp, last.name]),
      );
    }
    expect((await probe('/readyz')).status).toBe(200);
  });

  it('when the database cannot be reached (503 "database"), while /livez stays 200', async () => {
    const name = hub.databaseName;
    await onDatabase(testServerUrl(), async (client) => {
      await client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    });
    try {
      const answer = await probe('/readyz');
      expect(answer.status).toBe(503);
      expect(answer.body.failed).toEqual(['database', 'migrations']);
      expect(answer.body.checks.database.ok).toBe(false);
      expect((await probe('/livez')).status).toBe(200);
    } finally {
      await onDatabase(testServerUrl(), (client) => client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`));
    }
    // The pool reconnects: ready again without a restart (a dropped connection may fail one query first).
    let status = 0;
    for (let attempt = 0; attempt < 5 && status !== 200; attempt += 1) status = (await probe('/readyz')).status;
    expect(status).toBe(200);
  });

  it('once the hub is shutting down ("draining"), while a request is still in flight', async () => {
    const other = await TestHub.start();
    const partner = await other.registerPartner('ACME');
    expect((await partner.client.enrollMember({ member: 'alice' })).ok).toBe(true);
    const locker = new Client({ connectionString: urlOf(testServerUrl(), other.databaseName) });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE journal_entry IN EXCLUSIVE MODE');
      const issued = partner.client.issuePoints({ member: 'alice', amount: '5' });
      while (
        (
          await locker.query(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'journal_entry' AND NOT l.granted`,
          )
        ).rows[0].n === 0
      ) {
        await new Promise((done) => setTimeout(done, 20));
      }
      expect((await other.hub.probes.readiness()).failed).toEqual([]);
      const closing = other.hub.close();
      const report = await other.hub.probes.readiness();
      expect(report.status).toBe('unavailable');
      expect(report.failed).toEqual(['draining']);
      await locker.query('COMMIT');
      expect((await issued).ok).toBe(true);
      await closing;
    } finally {
      await locker.end();
      await dropTestDatabase(other.databaseName);
    }
  });
});
