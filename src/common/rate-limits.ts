import { BurstyRateLimiter, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

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
  return limit.burst > 0 ? new BurstyRateLimiter(steady, counter(store, `${name}-burst`, limit.burst, BURST_WINDOW_SECONDS)) : steady;
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
