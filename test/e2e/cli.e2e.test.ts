import { exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { migrations } from '../../migrations';
import { assertCliBuilt, CLI_PATH, REPO_ROOT, runCli, type CliRun } from '../helpers/cli';
import { createTestDatabase, databaseUrl, dropTestDatabase, testServerUrl } from '../helpers/database';
import { HubProcess } from '../helpers/hub-process';

/**
 * The `coalition-hub` command line, run as the real built CLI in a child process: --help and
 * --version never act, exit codes scripts can trust (0 ok, 1 failure or difference, 2 usage) on
 * DATABASE_URL and on the embedded database in DATA_DIR, and `migrate` that finishes.
 */
const scratch: string[] = [];
const databases: string[] = [];

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coalition-cli-'));
  scratch.push(dir);
  return dir;
}

async function sql(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** An empty database (no migrations) on the test server. */
async function emptyDatabase(): Promise<string> {
  const name = `coalition_cli_${process.pid}_${databases.length}`;
  await sql(testServerUrl(), `DROP DATABASE IF EXISTS ${name}`);
  await sql(testServerUrl(), `CREATE DATABASE ${name}`);
  databases.push(name);
  return databaseUrl(testServerUrl(), name);
}

/** A closed period's stored totals gain a row the ledger never had: what reconciliation exists to catch. */
const TAMPER = "SET session_replication_role = replica; INSERT INTO settlement_total VALUES (1, 'TAMPERED', 'issued', 5, 50, 1)";

function expectOneLineError(run: CliRun, pattern: RegExp): void {
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => assertCliBuilt());

afterAll(async () => {
  for (const name of databases) await dropTestDatabase(name);
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('--help and --version', () => {
  const commands = [
    [],
    ['serve'],
    ['migrate'],
    ['operator'],
    ['operator', 'new'],
    ['operator', 'token'],
    ['expire'],
    ['settlement'],
    ['settlement', 'periods'],
    ['settlement', 'close'],
    ['settlement', 'show'],
    ['settlement', 'reconcile'],
    ['settlement', 'statements'],
    ['settlement', 'statement'],
    ['kpis'],
    ['kpis', 'refresh'],
    ['schema'],
    ['schema', 'print'],
    ['schema', 'check'],
  ];

  it('print and exit 0 on every command and sub-command, without touching a database, a data directory or a file', async () => {
    const schemaFile = resolve(REPO_ROOT, 'schema/schema.graphql');
    const schemaBefore = { text: readFileSync(schemaFile, 'utf8'), mtimeMs: statSync(schemaFile).mtimeMs };
    const { version } = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const cwd = scratchDir();
    const dataDir = scratchDir();
    // Nothing listens on port 1: a command that tried to connect would fail and exit 1.
    const unreachable = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', DATA_DIR: dataDir };
    for (const command of commands) {
      const help = await runCli([...command, '--help'], { cwd, env: unreachable, timeoutMs: 20_000 });
      expect({ command, code: help.code, stderr: help.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(help.stdout).toContain(`Usage: coalition-hub ${command.join(' ')}`.trimEnd());
      const shown = await runCli([...command, '--version'], { cwd, env: unreachable, timeoutMs: 20_000 });
      expect({ command, code: shown.code, stdout: shown.stdout, stderr: shown.stderr }).toEqual({
        command,
        code: 0,
        stdout: `${version}\n`,
        stderr: '',
      });
    }
    // Without DATABASE_URL the database commands would open the embedded one in DATA_DIR.
    for (const command of [
      ['serve', '--demo'],
      ['serve', '--demo', '--gateway'],
      ['migrate'],
      ['expire'],
      ['settlement', 'close'],
      ['settlement', 'reconcile'],
      ['kpis', 'refresh'],
    ]) {
      const help = await runCli([...command, '--help'], { cwd, env: { DATABASE_URL: undefined, DATA_DIR: dataDir }, timeoutMs: 20_000 });
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
    }
    expect(readdirSync(dataDir)).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readFileSync(schemaFile, 'utf8')).toBe(schemaBefore.text);
    expect(statSync(schemaFile).mtimeMs).toBe(schemaBefore.mtimeMs);
  }, 240_000);
});

describe('exit codes', () => {
  it.each([
    ['an unknown command', ['bogus'], /^error: unknown command 'bogus'/],
    ['an unknown option', ['expire', '--nope'], /^error: unknown option '--nope'/],
    ['a missing argument', ['settlement', 'reconcile'], /^error: missing required argument 'periodId'/],
    [
      'a value outside the choices',
      ['settlement', 'statement', '1', '--format', 'xml'],
      /^error: option .*--format.* argument 'xml' is invalid/,
    ],
    ['a bad option value', ['operator', 'token', '--lifetime', '99999'], /^error: --lifetime must be a whole number/],
    [
      'a period id that is not one',
      ['settlement', 'reconcile', 'abc'],
      /^error: command-argument value 'abc' is invalid .*a period id is a whole number/,
    ],
    ['a count out of range', ['settlement', 'periods', '-n', '500'], /^error: --count must be from 1 to 100, not 500/],
    [
      'a gateway port that is not one',
      ['serve', '--gateway-port', '70000'],
      /^error: option .*--gateway-port.* argument '70000' is invalid/,
    ],
    ['a gateway without the demo', ['serve', '--gateway'], /^error: --gateway composes the demo coalition/],
  ])('exit 2 with one line on standard error for %s', async (_name, args, message) => {
    const run = await runCli(args, { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' }, timeoutMs: 20_000 });
    expect(run.code).toBe(2);
    expectOneLineError(run, message);
  });

  it('exit 1 with one line on standard error and no stack trace when the command fails', async () => {
    const database = await createTestDatabase();
    databases.push(database.name);
    const missing = await runCli(['settlement', 'show', '999999'], { env: { DATABASE_URL: database.url } });
    expect(missing.code).toBe(1);
    expectOneLineError(missing, /^error: there is no settlement period 999999$/m);
    const unreachable = await runCli(['expire'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' } });
    expect(unreachable.code).toBe(1);
    expectOneLineError(unreachable, /^error: .*ECONNREFUSED/);
  }, 120_000);

  it('schema check exits 0 when the file matches the code and 1 when it differs', async () => {
    const file = join(scratchDir(), 'schema.graphql');
    writeFileSync(file, readFileSync(resolve(REPO_ROOT, 'schema/schema.graphql'), 'utf8'));
    const same = await runCli(['schema', 'check', '--file', file]);
    expect(same.code).toBe(0);
    writeFileSync(file, `${readFileSync(file, 'utf8')}\ntype Drifted { id: ID }\n`);
    const drifted = await runCli(['schema', 'check', '--file', file]);
    expect(drifted.code).toBe(1);
    expectOneLineError(drifted, /is out of date/);
  }, 120_000);
});

describe('operator', () => {
  it('new names each key by its own thumbprint, so two keys made the same day never share a kid', async () => {
    const dir = scratchDir();
    const kids: string[] = [];
    for (const name of ['one.json', 'two.json']) {
      const run = await runCli(['operator', 'new', join(dir, name)]);
      expect(run.code).toBe(0);
      kids.push(String(JSON.parse(readFileSync(join(dir, name), 'utf8')).kid));
    }
    expect(kids[0]).toMatch(/^operator-[A-Za-z0-9_-]{16}$/);
    expect(kids[1]).not.toBe(kids[0]);
  });
});

describe('on DATABASE_URL', () => {
  let url: string;

  it('settlement, expire and hub-key refuse a database behind this build and leave it as it was (only migrate migrates)', async () => {
    const behind = await emptyDatabase();
    for (const args of [['settlement', 'periods'], ['expire'], ['hub-key', 'list']]) {
      const run = await runCli(args, { env: { DATABASE_URL: behind }, timeoutMs: 60_000 });
      expect(run.code).toBe(1);
      expectOneLineError(run, /^error: the database is \d+ migration\(s\) behind this build: run `coalition-hub migrate` first/);
    }
    expect(await sql(behind, `SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'`)).toEqual([{ tables: 0 }]);
  }, 90_000);

  it('migrate applies every migration to a fresh empty database, with a pool of one, and exits 0', async () => {
    url = await emptyDatabase();
    const run = await runCli(['migrate'], { env: { DATABASE_URL: url }, timeoutMs: 60_000 });
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^applied ${migrations.length} migrations: `));
    const applied = await sql(url, 'SELECT count(*)::int AS n FROM migrations');
    expect(applied).toEqual([{ n: migrations.length }]);
  }, 90_000);

  it('migrate on an up-to-date database says nothing to migrate and exits 0', async () => {
    const run = await runCli(['migrate'], { env: { DATABASE_URL: url }, timeoutMs: 60_000 });
    expect({ timedOut: run.timedOut, code: run.code, stdout: run.stdout }).toEqual({
      timedOut: false,
      code: 0,
      stdout: 'nothing to migrate\n',
    });
  }, 90_000);

  it('settlement reconcile exits 0 on a period that reconciles and 1 on a difference or a period not closed', async () => {
    const env = { DATABASE_URL: url };
    const open = await runCli(['settlement', 'reconcile', '1'], { env });
    expect(open.code).toBe(1);
    expect(open.stdout).toContain('period 1 does NOT reconcile');
    const close = await runCli(['settlement', 'close'], { env });
    expect(close.code).toBe(0);
    // Progress is drawn only on a terminal: piped, standard error stays clean.
    expect(close.stderr).toBe('');
    expect(close.stdout).toMatch(/^period 1: closed/);
    // Money is shown in major units with its currency, never minor units labelled as the currency.
    expect(close.stdout).toContain('gross 0.00 EUR, net 0.00 EUR');
    const clean = await runCli(['settlement', 'reconcile', '1'], { env });
    expect({ code: clean.code, stderr: clean.stderr }).toEqual({ code: 0, stderr: '' });
    expect(clean.stdout).toContain('period 1 reconciles');
    // The payments after netting are transfers (an instruction is only a partner's signed JWS).
    expect(clean.stdout).toMatch(/transfers settle every position/);
    expect(clean.stdout).not.toMatch(/instruction/i);
    await sql(url, TAMPER);
    const tampered = await runCli(['settlement', 'reconcile', '1'], { env });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('FAIL recomputes identically: differs: totals');
    expect(tampered.stdout).toContain('period 1 does NOT reconcile');
  }, 120_000);

  it('settlement never replaces a hub key that came from HUB_SIGNING_JWK when run without it', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const configured = JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'ops-hsm-1', alg: 'EdDSA' });
    const given = await runCli(['settlement', 'periods'], { env: { DATABASE_URL: url, HUB_SIGNING_JWK: configured } });
    expect(given.code).toBe(0);
    const before = await sql(url, 'SELECT kid, private_jwk IS NULL AS public_only FROM hub_signing_key ORDER BY kid');
    const without = await runCli(['settlement', 'periods'], { env: { DATABASE_URL: url, HUB_SIGNING_JWK: undefined } });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('ops-hsm-1 came from HUB_SIGNING_JWK');
    expect(await sql(url, 'SELECT kid, private_jwk IS NULL AS public_only FROM hub_signing_key ORDER BY kid')).toEqual(before);
  }, 60_000);
});

describe('on the embedded database in DATA_DIR (no DATABASE_URL)', () => {
  let env: Record<string, string | undefined>;

  beforeAll(() => {
    env = { DATABASE_URL: undefined, DATA_DIR: scratchDir() };
  });

  it('migrate creates and migrates the database, then finds nothing to migrate', async () => {
    const fresh = await runCli(['migrate'], { env, timeoutMs: 90_000 });
    expect({ timedOut: fresh.timedOut, code: fresh.code, stderr: fresh.stderr }).toEqual({ timedOut: false, code: 0, stderr: '' });
    expect(fresh.stdout).toMatch(new RegExp(`^applied ${migrations.length} migrations: `));
    const again = await runCli(['migrate'], { env, timeoutMs: 60_000 });
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: 'nothing to migrate\n' });
  }, 180_000);

  it('settlement reconcile exits 1 on a difference here too (the embedded database used to turn it into 0)', async () => {
    const open = await runCli(['settlement', 'reconcile', '1'], { env });
    expect(open.code).toBe(1);
    expect((await runCli(['settlement', 'close'], { env })).code).toBe(0);
    const clean = await runCli(['settlement', 'reconcile', '1'], { env });
    expect({ code: clean.code, stderr: clean.stderr }).toEqual({ code: 0, stderr: '' });
    await tamperEmbedded(env.DATA_DIR!);
    const tampered = await runCli(['settlement', 'reconcile', '1'], { env });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('period 1 does NOT reconcile');
  }, 180_000);
});

/** The embedded server runs only while a command runs: a plain Node process opens it as its superuser to tamper. */
function tamperEmbedded(dataDir: string): Promise<void> {
  const script = `
    const { Client } = require('pg');
    const { startEmbeddedPostgres } = require(${JSON.stringify(resolve(REPO_ROOT, 'dist/src/db/embedded.js'))});
    (async () => {
      const server = await startEmbeddedPostgres({ dataDir: process.argv[1] });
      const url = new URL(server.serverUrl); url.pathname = '/coalition';
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      await client.query(${JSON.stringify(TAMPER)});
      await client.end();
      await server.stop();
      process.exit(0);
    })().catch((error) => { console.error(error); process.exit(1); });`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', script, dataDir], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`tampering exited ${code}`))));
  });
}

describe('serve', () => {
  it('serves the hub from the same CLI until SIGTERM', async () => {
    const database = await createTestDatabase();
    databases.push(database.name);
    const hub = HubProcess.run([CLI_PATH, 'serve'], {
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EXPIRY_INTERVAL_SECONDS: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
    });
    try {
      const url = await hub.url();
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      hub.signal('SIGTERM');
    }
    expect(await hub.exitCode()).toBe(0);
  }, 90_000);
});
