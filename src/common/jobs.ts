/**
 * Scheduled jobs report each run here (metrics implement it), so that the jobs need not know
 * about Prometheus: a run is ok, skipped (another instance holds the job) or failed, takes
 * some time and processes some items (lots expired, periods closed).
 */
export type JobOutcome = 'ok' | 'skipped' | 'failed';

export interface JobObserver {
  job(job: string, outcome: JobOutcome, seconds: number, items: number): void;
}

export interface JobReport {
  outcome: Exclude<JobOutcome, 'failed'>;
  items: number;
}

/** Runs one job pass and reports it; the pass's own result or error passes through unchanged. */
export async function observeJob<T>(
  observer: JobObserver | undefined,
  job: string,
  work: () => Promise<T>,
  report: (result: T) => JobReport,
): Promise<T> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const result = await work();
    const { outcome, items } = report(result);
    observer?.job(job, outcome, seconds(), items);
    return result;
  } catch (error) {
    observer?.job(job, 'failed', seconds(), 0);
    throw error;
  }
}
