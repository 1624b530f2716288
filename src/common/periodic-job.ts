/**
 * A job that runs every `intervalMs` in the server and never overlaps itself: the next tick is
 * scheduled only when the previous one has finished (a timer chain, not setInterval), and a
 * tick asked for while one runs is skipped. `stop()` cancels the timer and resolves once a tick
 * in progress has finished, so a shutdown can close the pool after it.
 */
export class PeriodicJob<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T | undefined> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<T>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts ticking (the first tick after one interval). A job with an interval ≤ 0 never ticks. */
  start(): this {
    if (this.intervalMs <= 0 || !this.stopped) return this;
    this.stopped = false;
    this.arm();
    return this;
  }

  /** Runs once now, unless a run is in progress: then resolves to undefined without running. Errors go to onError. */
  tick(): Promise<T | undefined> {
    if (this.running) return Promise.resolve(undefined);
    const run = this.run().then(
      (result) => result,
      (error: unknown) => {
        this.onError(error);
        return undefined;
      },
    );
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** No further tick starts; resolves when the one in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => {
        if (!this.stopped) this.arm();
      });
    }, this.intervalMs);
    this.timer.unref();
  }
}
