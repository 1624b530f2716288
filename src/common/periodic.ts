/**
 * Runs `job` every `intervalSeconds` (0 = never), one run at a time: a tick that finds the last
 * run still going is skipped. The returned `stop()` clears the timer and resolves when the run
 * in progress, if any, has finished, so shutdown leaves every job at a point where it is done.
 * `job` reports its own failures; it must not reject.
 */
export function runPeriodically(intervalSeconds: number, job: () => Promise<void>): () => Promise<void> {
  if (intervalSeconds <= 0) return async () => undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running !== undefined || stopped) return;
    running = job().finally(() => {
      running = undefined;
    });
  }, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
