import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parsePgbenchLog, parsePgbenchOutput, percentiles, type Measure } from './compare-report';

/**
 * PostgreSQL's own benchmark on the hub's database server: TPC-B (sort of), pgbench's built-in
 * script, on its own database of that server. The binary is PGBENCH or `pgbench` on the PATH.
 */
export const PGBENCH = process.env.PGBENCH ?? 'pgbench';

/** libpq's environment for a connection string (so that the password never appears in a command line). */
function libpqEnvironment(url: string): Record<string, string> {
  const parsed = new URL(url);
  return {
    PGHOST: parsed.hostname,
    PGPORT: parsed.port || '5432',
    PGUSER: decodeURIComponent(parsed.username || 'postgres'),
    PGDATABASE: decodeURIComponent(parsed.pathname.slice(1) || 'postgres'),
    ...(parsed.password ? { PGPASSWORD: decodeURIComponent(parsed.password) } : {}),
  };
}

/** pgbench, tried again a few times when the server is out of connection slots (a shared server's other clients come and go). */
async function pgbench(url: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await pgbenchOnce(url, args);
    } catch (error) {
      if (attempt >= 6 || !/too many clients/.test((error as Error).message)) throw error;
      process.stderr.write(`compare: pgbench: the server has too many clients; trying again in 10 s\n`);
      await new Promise((done) => setTimeout(done, 10_000));
    }
  }
}

function pgbenchOnce(url: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(PGBENCH, args, { env: { ...process.env, ...libpqEnvironment(url) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) =>
      code === 0 ? done({ stdout, stderr }) : fail(new Error(`pgbench ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`)),
    );
  });
}

/** `pgbench -i -s <scale>` into the given database, then VACUUM ANALYZE it. */
export async function initialisePgbench(url: string, scale: number): Promise<void> {
  await pgbench(url, ['-i', '-q', '-s', String(scale)]);
  await vacuumAnalyze(url);
}

export function vacuumAnalyze(url: string): Promise<void> {
  return runAlone(url, 'VACUUM ANALYZE');
}

/** One statement on a connection of its own (as the URL's user), closed after it. */
async function runAlone(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Writes every dirty buffer out now (CHECKPOINT, as the owner), so that a latency run does not pay
 * for the writes of the throughput runs before it: a checkpoint the server starts on its own during
 * a run (max_wal_size) made the first run at half load after pgbench and the batches show a p99
 * three to four times that of the same run placed later.
 */
export function checkpoint(url: string): Promise<void> {
  return runAlone(url, 'CHECKPOINT');
}

/**
 * Waits (at most `limitSeconds`) until no request of the hub is still working in its database: a run
 * that stops its client leaves the calls in flight to finish on the server (a batch call takes
 * seconds), and the next run must not be measured against them. Returns the seconds waited.
 */
export async function waitForQuietHub(url: string, limitSeconds = 120): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  try {
    for (;;) {
      const { rows } = await client.query<{ busy: number }>(
        `SELECT count(*)::int AS busy FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'coalition-hub' AND state <> 'idle'`,
      );
      if (rows[0]!.busy === 0 || Date.now() - started > limitSeconds * 1000) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await client.end();
  }
  return (Date.now() - started) / 1000;
}

/**
 * One timed TPC-B run: `pgbench -c <connections> -j <threads> -T <seconds> -P 5 -l`. The rate is
 * pgbench's own `tps` line; the percentiles come from its per-transaction log (every
 * transaction's latency, written by pgbench's threads to a temporary directory).
 */
export async function runPgbench(url: string, options: { connections: number; threads: number; seconds: number }): Promise<Measure> {
  const logDir = mkdtempSync(join(tmpdir(), 'compare-pgbench-log-'));
  try {
    const { stdout, stderr } = await pgbench(url, [
      '-c',
      String(options.connections),
      '-j',
      String(options.threads),
      '-T',
      String(options.seconds),
      '-P',
      '5',
      '-l',
      '--log-prefix',
      join(logDir, 'tx'),
    ]);
    const summary = parsePgbenchOutput(stdout, stderr);
    const latencies: number[] = [];
    let failedInLog = 0;
    for (const file of readdirSync(logDir)) {
      const { latenciesMs, failed } = parsePgbenchLog(readFileSync(join(logDir, file), 'utf8'));
      for (const latency of latenciesMs) latencies.push(latency);
      failedInLog += failed;
    }
    const progress = summary.progressTps
      ? `5 s intervals ${summary.progressTps.min.toFixed(0)}–${summary.progressTps.max.toFixed(0)} tps, `
      : '';
    return {
      kind: 'pgbench',
      rate: summary.tps,
      ...percentiles(latencies),
      failures: Math.max(summary.failed, failedInLog),
      note: `${progress}latency avg ${summary.latencyAverageMs.toFixed(1)} ms (pgbench)`,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
