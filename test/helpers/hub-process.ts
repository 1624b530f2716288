import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built server (`npm test` builds first; a single file needs `npm run build` once). */
export const MAIN = resolve(__dirname, '..', '..', 'dist', 'src', 'main.js');

/**
 * The real hub as a child process (`node dist/src/main.js …`), with its output collected and
 * its URL read from what it prints, for tests of what only a whole process shows: signals,
 * exit codes, data kept between runs.
 */
export class HubProcess {
  /** Standard output and error as they arrived, together; and each on its own. */
  output = '';
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      this.stdout += chunk.toString('utf8');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  /** `node dist/src/main.js …args`. `env` replaces DATABASE_URL, PORT etc.; a key set to undefined is removed from the inherited environment. */
  static start(args: string[], env: Record<string, string | undefined>, cwd = resolve(__dirname, '..', '..')): HubProcess {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    return HubProcess.run([MAIN, ...args], env, cwd);
  }

  /** `node …argv` (a script and its arguments, e.g. the CLI's `serve` or the image's CMD), as start() does. */
  static run(argv: string[], env: Record<string, string | undefined>, cwd = resolve(__dirname, '..', '..')): HubProcess {
    // As a user runs it: jest's NODE_ENV=test would, for one, switch Apollo's signal handlers off.
    const merged: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: undefined, ...env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete merged[name];
    // Its own process group, as a shell gives a foreground job: signalGroup() then acts like Ctrl+C.
    return new HubProcess(spawn(process.execPath, argv, { cwd, env: merged, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  }

  /** Resolves with the hub's base URL once it serves (the "Press Ctrl+C" banner or the ready log line). */
  async url(timeoutMs = 90_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = /http:\/\/127\.0\.0\.1:(\d+)\/graphql/.exec(this.output);
      if (found && /Press Ctrl\+C|coalition hub ready/.test(this.output)) return `http://127.0.0.1:${found[1]}`;
      if (this.child.exitCode !== null) throw new Error(`the hub exited (${this.child.exitCode}) before serving:\n${this.output}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`the hub did not start within ${timeoutMs} ms:\n${this.output}`);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** To the whole process group, as a terminal sends Ctrl+C (SIGINT) to the foreground job. */
  signalGroup(name: NodeJS.Signals): void {
    process.kill(-this.child.pid!, name);
  }

  /** The exit code, or an error if the process does not exit within `timeoutMs`. */
  async exitCode(timeoutMs = 60_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>(
      (_, fail) => (timer = setTimeout(() => fail(new Error(`the hub did not exit within ${timeoutMs} ms:\n${this.output}`)), timeoutMs)),
    );
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For afterAll: never leave a server (or its embedded database) running. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const stopped = await this.exitCode(20_000).then(
      () => true,
      () => false,
    );
    if (!stopped) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * A fresh DATA_DIR for a hub process (its embedded cluster and keys), inside a temporary parent
 * that others may enter, so that as root the cluster stays inside it; remove `join(dir, '..')` after.
 */
export function freshDataDir(prefix: string): string {
  const parent = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(parent, 0o755);
  return join(parent, 'data');
}
