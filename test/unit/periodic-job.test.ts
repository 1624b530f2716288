import { PeriodicJob } from '../../src/common/periodic-job';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PeriodicJob', () => {
  it('never runs two ticks at once, even when a run lasts longer than the interval', async () => {
    let active = 0;
    let activeMax = 0;
    let runs = 0;
    const job = new PeriodicJob(
      5,
      async () => {
        active += 1;
        activeMax = Math.max(activeMax, active);
        await sleep(40);
        active -= 1;
        runs += 1;
      },
      (error) => {
        throw error;
      },
    ).start();
    await sleep(250);
    await job.stop();
    expect(activeMax).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  it('stop() resolves only once the run in progress has finished, and no run starts after it', async () => {
    let finished = 0;
    let started = 0;
    const job = new PeriodicJob(
      5,
      async () => {
        started += 1;
        await sleep(50);
        finished += 1;
      },
      () => undefined,
    ).start();
    await sleep(20);
    expect(job.isRunning).toBe(true);
    await job.stop();
    expect(finished).toBe(started);
    await sleep(30);
    expect(started).toBe(finished);
  });

  it('reports a failed run to onError and keeps ticking', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const job = new PeriodicJob(
      5,
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return calls;
      },
      (error) => errors.push(error),
    ).start();
    await sleep(100);
    await job.stop();
    expect(errors).toHaveLength(1);
    expect(calls).toBeGreaterThan(1);
  });

  it('never ticks with an interval of 0, but tick() still runs once on demand', async () => {
    let calls = 0;
    const job = new PeriodicJob(
      0,
      async () => (calls += 1),
      () => undefined,
    ).start();
    await sleep(30);
    expect(calls).toBe(0);
    expect(await job.tick()).toBe(1);
  });
});
