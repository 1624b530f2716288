import { Logger as WorkerLogger, run, type Runner, type Task, type TaskSpec } from 'graphile-worker';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { JOB_QUEUE_SCHEMA } from '../db/job-queue-schema';

/** A task's handler: its payload, and helpers to queue follow-up jobs (docs/operations.md, "Jobs"). */
export type JobHandler = Task;

export interface JobQueueOptions {
  /**
   * Where the queue connects (the hub's least-privileged role). The queue has a small pool of its
   * own: its listening connection is held for as long as it runs, and must neither take a request's
   * connection nor keep the hub's pool from closing.
   */
  connectionString: string;
  /** Every task this process runs, by name. A job whose task is not listed here waits for a process that has it. */
  tasks: Record<string, JobHandler>;
  logger: Logger;
  /** Jobs this process runs at once. */
  concurrency?: number;
  /** How often (ms) to look for due jobs when no notification arrives (LISTEN/NOTIFY wakes it sooner). */
  pollIntervalMs?: number;
}

/**
 * The hub's job queue: graphile-worker on the hub's own PostgreSQL. Jobs are rows, taken with
 * `FOR UPDATE SKIP LOCKED`, so any number of hub processes on one database share them and each
 * job runs once at a time; a job whose process dies is taken again after graphile-worker's lock
 * timeout. The schema is installed by the owner at migration (src/db/job-queue-schema.ts).
 */
export class JobQueue {
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  private constructor(
    private runner: Runner,
    private readonly pool: Pool,
    private readonly options: JobQueueOptions,
  ) {
    this.watch(runner);
  }

  static async start(options: JobQueueOptions): Promise<JobQueue> {
    const concurrency = options.concurrency ?? 2;
    // One connection listens, each running job may take one to finish itself, one spare to take the next.
    const pool = new Pool({
      connectionString: options.connectionString,
      max: concurrency + 2,
      application_name: 'coalition-hub-jobs',
      options: '-c statement_timeout=30s',
    });
    // An idle connection the server drops (a restart, an outage) must not crash the process; the queue reconnects.
    const lost = (error: Error) => options.logger.warn({ err: error, component: 'job-queue' }, 'job queue connection lost');
    pool.on('error', lost);
    pool.on('connect', (client) => client.on('error', lost));
    return new JobQueue(await startRunner(pool, options), pool, options);
  }

  /**
   * graphile-worker stops its runner when it cannot record a job's end (the database refused a
   * connection, say): its promise rejects. That must not take the hub down, and jobs must go on:
   * the queue logs it and starts a new runner (a job left half-done is taken again after its lock times out).
   */
  private watch(runner: Runner): void {
    runner.promise.then(undefined, (error: unknown) => {
      if (this.stopping || runner !== this.runner) return;
      this.options.logger.error({ err: error, component: 'job-queue' }, 'job queue stopped on a database error; starting it again in 1 s');
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      startRunner(this.pool, this.options).then(
        (runner) => {
          if (this.stopping) return void runner.stop().catch(() => undefined);
          this.runner = runner;
          this.watch(runner);
          this.options.logger.info({ component: 'job-queue' }, 'job queue running again');
        },
        (error: unknown) => {
          this.options.logger.warn({ err: error, component: 'job-queue' }, 'job queue could not start again; trying in 1 s');
          this.scheduleRestart();
        },
      );
    }, 1000);
    this.restartTimer.unref();
  }

  /** Queues a job (outside any transaction of the caller; inside one, insert with graphile_worker.add_job instead). */
  async add(task: string, payload: Record<string, unknown>, spec?: TaskSpec): Promise<void> {
    await this.runner.addJob(task, payload, spec);
  }

  /** Takes no new job and waits for the jobs running now to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    try {
      // A runner that already stopped on its own has nothing left to wait for.
      await this.runner.stop().catch((error: unknown) => {
        this.options.logger.debug({ err: error, component: 'job-queue' }, 'job queue was already stopped');
      });
    } finally {
      await this.pool.end();
    }
  }
}

function startRunner(pool: Pool, options: JobQueueOptions): Promise<Runner> {
  return run({
    pgPool: pool,
    schema: JOB_QUEUE_SCHEMA,
    taskList: options.tasks,
    concurrency: options.concurrency ?? 2,
    pollInterval: options.pollIntervalMs ?? 2000,
    // The hub stops the queue itself when it shuts down (app.ts close()).
    noHandleSignals: true,
    logger: workerLogger(options.logger),
  });
}

/** graphile-worker's log lines through the hub's logger (debug and info are its routine chatter). */
function workerLogger(logger: Logger): WorkerLogger {
  const jobs = logger.child({ component: 'job-queue' });
  return new WorkerLogger((scope) => (level, message, meta) => {
    const fields = { ...scope, ...meta };
    if (level === 'error') jobs.error(fields, message);
    else if (level === 'warning') jobs.warn(fields, message);
    else jobs.debug(fields, message);
  });
}
