import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { LeasedLimiter } from '../../src/common/rate-limits';

/**
 * Leases of a partner's shared per-second budget (docs/observability.md, "Rate limits"): two
 * instances spending from one counter (here in memory, as the shared table would be) never admit
 * more than the budget together, go to the counter once per chunk rather than once per
 * instruction, and count one by one once a chunk no longer fits.
 */
const admitted = async (limiter: LeasedLimiter, key: string): Promise<boolean> => {
  try {
    await limiter.consume(key);
    return true;
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return false;
    throw refusal;
  }
};

function shared(points: number) {
  // A long window, so that a slow test machine does not cross into the next one.
  const counter = new RateLimiterMemory({ keyPrefix: 'partner', points, duration: 60 });
  const calls = { consume: 0, get: 0 };
  const consume = counter.consume.bind(counter);
  const get = counter.get.bind(counter);
  counter.consume = (key, n) => ((calls.consume += 1), consume(key, n));
  counter.get = (key) => ((calls.get += 1), get(key));
  return { counter, calls };
}

test('two instances sharing one budget admit exactly the budget, taking it a chunk at a time', async () => {
  const { counter, calls } = shared(100);
  const first = new LeasedLimiter(counter, counter, 10);
  const second = new LeasedLimiter(counter, counter, 10);
  const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => admitted(i % 2 === 0 ? first : second, 'ACME')));
  expect(outcomes.filter(Boolean)).toHaveLength(100);
  // Ten chunks of ten, then each refusal counted on its own (the counter is what refuses them).
  expect(calls.consume).toBeLessThanOrEqual(10 + 200 + 2);
  const fresh = shared(1000);
  const one = new LeasedLimiter(fresh.counter, fresh.counter, 100);
  for (let i = 0; i < 250; i += 1) expect(await admitted(one, 'ACME')).toBe(true);
  expect(fresh.calls.consume).toBe(3);
  expect((await fresh.counter.get('ACME'))?.consumedPoints).toBe(300);
});

test('counts one by one what is left once a chunk no longer fits, and keeps partners apart', async () => {
  const { counter } = shared(25);
  const limiter = new LeasedLimiter(counter, counter, 10);
  const acme = [];
  for (let i = 0; i < 30; i += 1) acme.push(await admitted(limiter, 'ACME'));
  // Two chunks (20), then 5 one by one, then refusals: the whole budget and no more.
  expect(acme.filter(Boolean)).toHaveLength(25);
  expect(acme.slice(25).every((outcome) => !outcome)).toBe(true);
  expect((await counter.get('ACME'))?.consumedPoints).toBe(30);
  expect(await admitted(limiter, 'CAFE')).toBe(true);
  expect((await counter.get('CAFE'))?.consumedPoints).toBe(10);
});

test('a batch counts its instructions against the whole limit, not from the lease', async () => {
  const { counter } = shared(100);
  const limiter = new LeasedLimiter(counter, counter, 10);
  await limiter.consume('ACME', 40);
  expect((await counter.get('ACME'))?.consumedPoints).toBe(40);
  await expect(limiter.consume('ACME', 61)).rejects.toBeInstanceOf(RateLimiterRes);
});
