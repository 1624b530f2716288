import type { Logger } from 'pino';
import { observeJob, type JobObserver, type JobReport } from '../common/jobs';
import type { JobHandler, JobQueue } from './queue';
import { processTime } from '../common/clock';

/**
 * A job that runs every `intervalSeconds` on the job queue (docs/operations.md, "Jobs").
 *
 * graphile-worker's cron counts in minutes and our intervals in seconds, so a recurring job
 * reschedules itself: it is one queue row with a fixed job key (its task name), and each run
 * first queues the next one at now + interval under that key. A key names at most one waiting
 * row (adding it again replaces the waiting row; a row already running loses the key), so
 * however many hub processes share the database there is exactly one pending instance, and one
 * process takes it. Every process makes sure the row exists when it starts (keeping the time of
 * a row already waiting), so a chain broken by a crash is mended by the next start.
 *
 * The next run is queued before the work, not after it: a process that dies in the middle of a
 * run then leaves the next run waiting rather than no run at all. So a run longer than the
 * interval may overlap the next one (in another process, or this one): each job stays safe
 * with that itself (advisory locks, row locks with SKIP LOCKED).
 */
export interface RecurringJob<T = unknown> {
  /** Task name and job key. */
  task: string;
  /** `job` label of the coalition_job_* metrics. */
  metric: string;
  /** Seconds between runs; 0: this process neither schedules nor runs the job. */
  intervalSeconds: number;
  /** One run; throws when it failed. */
  run(): Promise<T>;
  /** What the run reports to the metrics: ok or skipped (another run holds the work), and items processed. */
  report(result: T): JobReport;
  /** Log lines about a run that did something. */
  log?(result: T, logger: Logger): void;
}

/** The queue's task handlers of the enabled jobs: each queues its successor, then runs once, reported and logged. */
export function recurringTasks(jobs: RecurringJob[], logger: Logger, observer?: JobObserver): Record<string, JobHandler> {
  const tasks: Record<string, JobHandler> = {};
  for (const job of jobs.filter((candidate) => candidate.intervalSeconds > 0)) {
    tasks[job.task] = async (_payload, helpers) => {
      // If this fails, the handler throws and the queue retries this row (it still has the key).
      await helpers.addJob(job.task, {}, { jobKey: job.task, jobKeyMode: 'replace', runAt: nextRun(job) });
      try {
        const result = await observeJob(
          observer,
          job.metric,
          () => job.run(),
          (run) => job.report(run),
        );
        job.log?.(result, logger);
      } catch (error) {
        // Logged and counted (failed), not thrown: the next run is queued already, and a retry of
        // this row would only run beside it.
        logger.error({ err: error, job: job.task }, `${job.task} run failed`);
      }
    };
  }
  return tasks;
}

/** At start: every enabled job has its one waiting row (an existing row keeps its time). */
export async function ensureScheduled(queue: JobQueue, jobs: RecurringJob[]): Promise<void> {
  for (const job of jobs.filter((candidate) => candidate.intervalSeconds > 0))
    await queue.add(job.task, {}, { jobKey: job.task, jobKeyMode: 'preserve_run_at', runAt: nextRun(job) });
}

function nextRun(job: RecurringJob): Date {
  return new Date(processTime.ms() + job.intervalSeconds * 1000);
}
