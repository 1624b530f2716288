import { BurstyRateLimiter, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { processTime } from './clock';

/**
 * Rate limits per partner (signed instructions, counted once the signature is verified) and per
 * client address (every GraphQL request, before authentication), on rate-limiter-flexible
 * (docs/observability.md, "Rate limits"). Each limit is a steady rate per one-second window plus,
 * optionally, a burst allowance per 10-second window that a spike may draw on once the second's
 * budget is spent.
 *
 * A partner's counters live in the `rate_limit` table, so that every hub instance on one database
 * counts against the same budget (a partner's budget is the coalition's, whichever instance its
 * instructions reach). A partner over its limit is then refused from memory until its window ends
 * (no database round trip per refused instruction), and if the database cannot be reached the
 * counting falls back to memory, per instance, rather than failing the request.
 *
 * An address's counters live in this instance's memory: the address limit guards the instance
 * against a runaway client, it is checked on every GraphQL request, and a database round trip
 * (and a row lock that every request of one address queues on) per request would cost more than
 * the reads it guards. N instances behind a load balancer that spreads an address over all of
 * them allow that address up to N times the configured rate.
 */
export interface RateLimit {
  /** Requests per second; 0 turns the limit off. */
  perSecond: number;
  /** Extra requests per 10-second window above the steady rate; 0 for none. */
  burst: number;
}

export interface RateLimitSettings {
  partner: RateLimit;
  address: RateLimit;
}

/** The pool the counters are kept through (node-postgres's Pool behind TypeORM). */
export type CounterPool = object;

export const RATE_LIMIT_TABLE = 'rate_limit';
const BURST_WINDOW_SECONDS = 10;

interface Limiter {
  consume(key: string, points?: number): Promise<unknown>;
}

/** Where a limit counts: the shared `rate_limit` table through a pool, or this instance's memory. */
type CounterStore = CounterPool | 'memory';

function counter(store: CounterStore, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  if (store === 'memory') return new RateLimiterMemory({ keyPrefix, points, duration });
  return new RateLimiterPostgres({
    storeClient: store,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    // Created by a migration: the hub's database role creates no tables.
    tableCreated: true,
    keyPrefix,
    points,
    duration,
    inMemoryBlockOnConsumed: points + 1,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
  });
}

function limiter(store: CounterStore, name: string, limit: RateLimit): Limiter | undefined {
  if (limit.perSecond <= 0) return undefined;
  const steady = counter(store, name, limit.perSecond, 1);
  const bursty =
    limit.burst > 0 ? new BurstyRateLimiter(steady, counter(store, `${name}-burst`, limit.burst, BURST_WINDOW_SECONDS)) : steady;
  const chunk = Math.floor(limit.perSecond / LEASE_DIVISOR);
  return store === 'memory' || chunk < 2 ? bursty : new LeasedLimiter(steady, bursty, chunk);
}

/** An instance leases a tenth of a partner's per-second budget at a time. */
const LEASE_DIVISOR = 10;

/**
 * A shared per-second budget spent from leases (docs/observability.md, "Rate limits"): instead of
 * one counting statement per instruction, this instance takes `chunk` points of the partner's
 * current window from the shared counter in one statement and spends them from memory until they
 * are gone (then it takes another) or the window ends. Leases come out of the shared count, so all
 * instances together never admit more than the budget; points leased and not spent by the
 * window's end are lost to that window. A chunk is taken only when it fits in what the counter
 * says is left; otherwise, and once the steady budget is spent, instructions are counted one by
 * one against the whole limit (steady, then burst), exactly as without leases. Concurrent
 * instructions of one partner wait for the same lease rather than each taking one.
 */
export class LeasedLimiter implements Limiter {
  private readonly leases = new Map<string, { left: number; until: number; last: boolean }>();
  private readonly taking = new Map<string, Promise<void>>();

  constructor(
    private readonly steady: RateLimiterAbstract,
    private readonly whole: Limiter,
    private readonly chunk: number,
  ) {}

  async consume(key: string, points = 1): Promise<unknown> {
    if (points !== 1) return this.whole.consume(key, points);
    for (;;) {
      const lease = this.leases.get(key);
      const current = lease !== undefined && lease.until > processTime.ms();
      if (current && lease.left > 0) {
        lease.left -= 1;
        return undefined;
      }
      // No chunk fits in this window any more: one by one until it ends.
      if (current && lease.last) return this.whole.consume(key, points);
      await (this.taking.get(key) ?? this.take(key));
    }
  }

  /** Takes a chunk of the key's current window if the shared counter has room for it; otherwise marks the window as counted one by one. */
  private take(key: string): Promise<void> {
    const taken = (async () => {
      try {
        const seen = await this.steady.get(key);
        const left = seen ? seen.remainingPoints : this.steady.points;
        if (left >= this.chunk) {
          const result = await this.steady.consume(key, this.chunk);
          this.leases.set(key, { left: this.chunk, until: processTime.ms() + result.msBeforeNext, last: false });
        } else {
          this.leases.set(key, { left: 0, until: processTime.ms() + (seen?.msBeforeNext ?? 1000), last: true });
        }
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        // Another instance took the room first: one by one until the window ends.
        this.leases.set(key, { left: 0, until: processTime.ms() + refusal.msBeforeNext, last: true });
      } finally {
        this.taking.delete(key);
      }
    })();
    this.taking.set(key, taken);
    return taken;
  }
}

/** Seconds until the key may try again, or undefined when this request is within its limit. */
async function consume(limit: Limiter | undefined, key: string, points = 1): Promise<number | undefined> {
  if (!limit) return undefined;
  try {
    await limit.consume(key, points);
    return undefined;
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
    throw refusal;
  }
}

export class RateLimits {
  private readonly partnerLimit: Limiter | undefined;
  private readonly addressLimit: Limiter | undefined;

  /** `pool` keeps the partners' shared counters; the addresses' are counted in this instance's memory. */
  constructor(
    pool: CounterPool,
    readonly settings: RateLimitSettings,
  ) {
    this.partnerLimit = limiter(pool, 'partner', settings.partner);
    this.addressLimit = limiter('memory', 'address', settings.address);
  }

  /** Counts `count` signed instructions (one, or a batch's) of a (verified) partner, against the budget all instances share. */
  partner(partnerId: string, count = 1): Promise<number | undefined> {
    return consume(this.partnerLimit, partnerId, count);
  }

  /** Counts one request from a client address, in this instance's memory (no database round trip). */
  address(address: string): Promise<number | undefined> {
    return consume(this.addressLimit, address);
  }
}
