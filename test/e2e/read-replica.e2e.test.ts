import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/db/embedded';
import { READ_APPLICATION_NAME } from '../../src/db/read-data-source';
import { signAccessToken } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * DATABASE_READ_URL against a real streaming replica (docs/scaling.md, "Read replicas"): this file
 * starts a primary and a hot standby of its own from the machine's PostgreSQL binaries
 * (initdb, pg_basebackup -R -X stream), runs a hub with DATABASE_URL on the primary and
 * DATABASE_READ_URL on the standby, and shows, by pausing the standby's replay, that member reads
 * are served by the standby while instructions are written to the primary.
 */

/** The PostgreSQL 15 server binaries of the machine, else whatever pg_config names; undefined when neither has them. */
function serverBinaries(): string | undefined {
  const candidates = ['/usr/lib/postgresql/15/bin'];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on this machine
  }
  return candidates.find((dir) => ['initdb', 'postgres', 'pg_basebackup'].every((name) => existsSync(join(dir, name))));
}

const BIN = serverBinaries();
if (!BIN)
  console.warn(
    'read-replica.e2e: skipped: no PostgreSQL server binaries (initdb, postgres, pg_basebackup) in /usr/lib/postgresql/15/bin or `pg_config --bindir`',
  );
const describeWithBinaries = BIN ? describe : describe.skip;

/** PostgreSQL refuses to run as root: as root, its programs run as the `postgres` account. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

interface Server {
  port: number;
  process: ChildProcess;
  log: string;
  /** The maintenance database as the superuser `postgres` (trust on 127.0.0.1). */
  url(database?: string): string;
}

const children: ChildProcess[] = [];
/** A crashed test run must not leave servers behind. */
const killChildren = () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL'));

function run(bin: string, args: string[], account: ReturnType<typeof serverAccount>): void {
  const result = spawnSync(join(BIN!, bin), args, { cwd: '/', encoding: 'utf8', ...(account ?? {}) });
  if (result.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

async function query<T = Record<string, any>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The first column of the one row `text` returns. */
async function value<T>(url: string, text: string, params: unknown[] = []): Promise<T> {
  const [row] = await query(url, text, params);
  if (!row) throw new Error(`no row: ${text}`);
  return Object.values(row)[0] as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function startServer(dataDir: string, socketDir: string, account: ReturnType<typeof serverAccount>): Promise<Server> {
  const port = await freePort();
  const log = `${dataDir}.log`;
  const out = openSync(log, 'a');
  if (account) chownSync(log, account.uid, account.gid);
  const child = spawn(
    join(BIN!, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'wal_level=replica',
      '-c',
      'max_wal_senders=5',
      '-c',
      'hot_standby=on',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=60',
    ],
    { cwd: '/', stdio: ['ignore', out, out], ...(account ?? {}) },
  );
  closeSync(out);
  children.push(child);
  const server: Server = {
    port,
    process: child,
    log,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
  };
  await until(`the server in ${dataDir} to accept connections (see ${log})`, async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${readFileSync(log, 'utf8')}`);
    await query(server.url(), 'SELECT 1');
    return true;
  });
  return server;
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server || server.process.exitCode !== null) return;
  const exited = new Promise((done) => server.process.once('exit', done));
  server.process.kill('SIGINT'); // fast shutdown
  const timer = setTimeout(() => server.process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Whether the standby has replayed everything the primary has written so far. */
async function caughtUp(primary: Server, standby: Server): Promise<boolean> {
  const lsn = await value<string>(primary.url(), 'SELECT pg_current_wal_lsn()::text');
  return value<boolean>(standby.url(), 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn', [lsn]);
}

const ME = `{ me { id balance available tier { name } combinedBalance { totalCp } lots { edges { node { amount } } }
  history(first: 10) { edges { node { id } } } } }`;

describeWithBinaries('member reads from a streaming replica (DATABASE_READ_URL)', () => {
  const account = serverAccount();
  let base: string | undefined;
  let primary: Server | undefined;
  let standby: Server | undefined;
  let hub: TestHub | undefined;
  let acme: TestPartner;

  beforeAll(async () => {
    process.once('exit', killChildren);
    base = mkdtempSync(join(tmpdir(), 'coalition-replica-'));
    if (account) chownSync(base, account.uid, account.gid);
    run('initdb', ['-D', join(base, 'primary'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], account);
    primary = await startServer(join(base, 'primary'), base, account);
    await query(primary.url(), 'CREATE DATABASE coalition');
    // The standby: a base backup streaming the WAL it needs, with standby.signal and primary_conninfo written (-R).
    run(
      'pg_basebackup',
      ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(base, 'standby'), '-R', '-X', 'stream', '-c', 'fast'],
      account,
    );
    standby = await startServer(join(base, 'standby'), base, account);
    await until('the standby to be in recovery', () => value<boolean>(standby!.url(), 'SELECT pg_is_in_recovery()'));
    // The hub migrates the primary (as the owner) and only connects to the standby. With the standby's
    // replay paused, the hub's role is on the primary but not yet on the standby: the hub waits for it.
    await query(standby.url(), 'SELECT pg_wal_replay_pause()');
    let started = false;
    const starting = TestHub.start({ databaseUrl: primary.url('coalition'), env: { DATABASE_READ_URL: standby.url('coalition') } });
    void starting.then(() => (started = true)).catch(() => undefined);
    await until('the hub to migrate the primary', async () =>
      (await value<number>(primary!.url('coalition'), "SELECT count(*)::int FROM pg_roles WHERE rolname = 'coalition_hub_app'")) === 1
        ? true
        : undefined,
    );
    await new Promise((done) => setTimeout(done, 1_000));
    expect(started).toBe(false);
    expect(await value<number>(standby.url(), "SELECT count(*)::int FROM pg_roles WHERE rolname = 'coalition_hub_app'")).toBe(0);
    await query(standby.url(), 'SELECT pg_wal_replay_resume()');
    hub = await starting;
    acme = await hub.registerPartner('ACME');
  }, 120_000);

  afterAll(async () => {
    try {
      await hub?.stop();
    } finally {
      await stopServer(standby);
      await stopServer(primary);
      killChildren();
      process.removeListener('exit', killChildren);
      if (base) rmSync(base, { recursive: true, force: true });
    }
  }, 60_000);

  it('serves the member read from the standby while instructions are written to the primary', async () => {
    if (!(await acme.client.enrollMember({ member: 'alice' })).ok) throw new Error('enrolment failed');
    const first = await acme.client.issuePoints({ member: 'alice', amount: '100' });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await until('the standby to replay the first issue', () => caughtUp(primary!, standby!));
    const token = await acme.client.memberToken('alice');
    const before = await hub!.graphql(ME, {}, token);
    expect(before.errors).toBeUndefined();
    expect(before.data?.me).toMatchObject({ balance: '100', available: '100', combinedBalance: { totalCp: '100' } });
    expect(before.data?.me.history.edges.map((edge: any) => edge.node.id)).toEqual([first.data.entryId]);

    // Replay stops: the standby keeps receiving WAL but shows nothing new.
    await query(standby!.url(), 'SELECT pg_wal_replay_pause()');
    await until(
      'replay to pause',
      async () => (await value<string>(standby!.url(), 'SELECT pg_get_wal_replay_pause_state()')) === 'paused',
    );

    // The write goes to the primary (a standby refuses writes): accepted, the receipt has the new balance.
    const second = await acme.client.issuePoints({ member: 'alice', amount: '50' });
    if (!second.ok) throw new Error(JSON.stringify(second));
    expect(second.data.balance).toBe('150');
    const entryOn = async (server: Server) =>
      (await query(server.url('coalition'), 'SELECT 1 FROM journal_entry WHERE id = $1', [second.data.entryId])).length;
    expect(await entryOn(primary!)).toBe(1);
    expect(await entryOn(standby!)).toBe(0);

    // The member's read is the standby's: still the balance before the second issue.
    const paused = await hub!.graphql(ME, {}, token);
    expect(paused.errors).toBeUndefined();
    expect(paused.data?.me).toMatchObject({ balance: '100', available: '100', combinedBalance: { totalCp: '100' } });
    expect(paused.data?.me.lots.edges).toHaveLength(1);
    expect(paused.data?.me.history.edges.map((edge: any) => edge.node.id)).toEqual([first.data.entryId]);
    // While the partner's own transactions, not a member read, come from the primary.
    const partnerToken = await signAccessToken({ issuer: 'ACME', subject: 'ACME', scope: 'partner', audience: HUB_ID, key: acme.key });
    const transactions = await hub!.graphql('{ partnerTransactions { edges { node { id } } } }', {}, partnerToken);
    expect(transactions.data?.partnerTransactions.edges.map((edge: any) => edge.node.id)).toEqual([
      second.data.entryId,
      first.data.entryId,
    ]);

    // Replay resumes: the read catches up.
    await query(standby!.url(), 'SELECT pg_wal_replay_resume()');
    await until('the standby to replay the second issue', () => caughtUp(primary!, standby!));
    const after = await hub!.graphql(ME, {}, token);
    expect(after.errors).toBeUndefined();
    expect(after.data?.me).toMatchObject({ balance: '150', available: '150', combinedBalance: { totalCp: '150' } });
    expect(after.data?.me.history.edges.map((edge: any) => edge.node.id)).toEqual([second.data.entryId, first.data.entryId]);
  });

  it("connects to the standby as the hub's app role, read-only, and checks it for readiness", async () => {
    const sessions = await query<{ usename: string }>(
      standby!.url(),
      `SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = $1`,
      [READ_APPLICATION_NAME],
    );
    expect(sessions).toEqual([{ usename: 'coalition_hub_app' }]);
    // Every transaction on the read pool is read-only, whatever server it points at.
    await expect(hub!.hub.readDataSource.query('CREATE TABLE never_made (id int)')).rejects.toMatchObject({
      driverError: expect.objectContaining({ code: '25006' }),
    });
    expect(await hub!.hub.probes.readiness()).toMatchObject({ status: 'ok', failed: [], checks: { replica: { ok: true } } });

    // Without the standby, member reads cannot be served: the hub is not ready, and says why.
    await stopServer(standby);
    const report = await hub!.hub.probes.readiness();
    expect(report.status).toBe('unavailable');
    expect(report.failed).toEqual(['replica']);
    expect(report.checks.database.ok).toBe(true);
  });
});
