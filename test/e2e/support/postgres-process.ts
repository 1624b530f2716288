import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

/**
 * An embedded PostgreSQL (src/db/embedded.ts) in a child process that the test can stop and
 * start again on the same port, as an outage would. See embedded-postgres-process.js for why a child.
 */
export class PostgresProcess {
  private readonly answers: Array<(line: string) => void> = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.answers.shift()?.(line));
  }

  static spawn(dataDir: string): PostgresProcess {
    const child = spawn(process.execPath, [join(__dirname, 'embedded-postgres-process.js'), dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    return new PostgresProcess(child);
  }

  private command<T>(command: unknown): Promise<T> {
    return new Promise((done, fail) => {
      this.answers.push((line) => {
        const answer = JSON.parse(line) as T & { error?: string };
        if (answer.error) fail(new Error(answer.error));
        else done(answer);
      });
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Starts (initialising it the first time) the cluster; returns the URL of its maintenance database. */
  async start(port?: number): Promise<string> {
    return (await this.command<{ serverUrl: string }>({ start: { port } })).serverUrl;
  }

  async stop(): Promise<void> {
    await this.command({ stop: true });
  }

  /** Stops the cluster if it runs and waits for the child to exit. */
  close(): Promise<void> {
    return new Promise((done) => {
      if (this.child.exitCode !== null) return done();
      this.child.once('exit', () => done());
      this.child.stdin.end();
    });
  }
}
