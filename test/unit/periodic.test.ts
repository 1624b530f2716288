import { runPeriodically } from '../../src/common/periodic';

/** Scheduled jobs: one run at a time, and stop() waits for the run in progress (shutdown at a safe point). */
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function controlledJob() {
  const runs: Array<() => void> = [];
  const job = jest.fn(() => new Promise<void>((done) => runs.push(done)));
  return { job, finishRun: (index: number) => runs[index]!() };
}

it('runs the job every interval, never two runs at once', async () => {
  const { job, finishRun } = controlledJob();
  const stop = runPeriodically(1, job);
  jest.advanceTimersByTime(1000);
  expect(job).toHaveBeenCalledTimes(1);
  jest.advanceTimersByTime(3000);
  expect(job).toHaveBeenCalledTimes(1);
  finishRun(0);
  await Promise.resolve();
  await Promise.resolve();
  jest.advanceTimersByTime(1000);
  expect(job).toHaveBeenCalledTimes(2);
  finishRun(1);
  await stop();
});

it('stop() resolves only once the run in progress has finished, and no run starts after it', async () => {
  const { job, finishRun } = controlledJob();
  const stop = runPeriodically(1, job);
  jest.advanceTimersByTime(1000);
  let stopped = false;
  const stopping = stop().then(() => (stopped = true));
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
  expect(stopped).toBe(false);
  finishRun(0);
  await stopping;
  expect(stopped).toBe(true);
  jest.advanceTimersByTime(10_000);
  expect(job).toHaveBeenCalledTimes(1);
});

it('never runs with an interval of 0, and stop() resolves at once', async () => {
  const { job } = controlledJob();
  const stop = runPeriodically(0, job);
  jest.advanceTimersByTime(100_000);
  await stop();
  expect(job).not.toHaveBeenCalled();
});
