import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root and the built CLI that package.json's bin, the npm scripts and the container run. */
export const REPO_ROOT = resolve(__dirname, '../..');
export const CLI_ENTRY = 'dist/src/cli/main.js';
export const CLI_PATH = resolve(REPO_ROOT, CLI_ENTRY);

function newestSourceMs(folder: string): number {
  let newest = 0;
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestSourceMs(path) : stat.mtimeMs);
  }
  return newest;
}

/** Fails loudly rather than testing a stale build: `npm test` builds first (`npm run build` when running one file). */
export function assertCliBuilt(): void {
  const buildInfo = resolve(REPO_ROOT, 'dist/hub.tsbuildinfo');
  if (!existsSync(CLI_PATH) || !existsSync(buildInfo)) throw new Error(`${CLI_ENTRY} is not built: run \`npm run build\` (npm test does)`);
  const sources = Math.max(newestSourceMs(resolve(REPO_ROOT, 'src')), newestSourceMs(resolve(REPO_ROOT, 'migrations')));
  if (sources > statSync(buildInfo).mtimeMs)
    throw new Error(`${CLI_ENTRY} is older than the sources: run \`npm run build\` (npm test does)`);
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CliOptions {
  /** Replaces DATABASE_URL, DATA_DIR and friends; everything else comes from this process. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Killed (and reported as timedOut) after this long: a hang fails the test instead of stalling it. */
  timeoutMs?: number;
}

/** Runs the built CLI as a child process, as a user or a script would. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn', ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // SIGTERM first so a hung command still stops an embedded database it started; SIGKILL if that hangs too.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, options.timeoutMs ?? 60_000);
    child.once('error', fail);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
  });
}
