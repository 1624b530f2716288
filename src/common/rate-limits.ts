import { BurstyRateLimiter, RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Rate limits per partner (signed instructions, counted once the signature is verified) and per
 * client address (every GraphQL request, before authentication), on rate-limiter-flexible.
 * Counters live in the `rate_limit` table, so that every hub instance on one database counts
 * against the same budget. Each limit is a steady rate per one-second window plus, optionally, a
 * burst allowance per 10-second window that a spike may draw on once the second's budget is spent.
 * A key over its limit is then refused from memory until its window ends (no database round
 * trip per refused request), and if the database cannot be reached the counting falls back to
 * memory, per instance, rather than failing the request.
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

function counter(pool: CounterPool, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  return new RateLimiterPostgres({
    storeClient: pool,
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

function limiter(pool: CounterPool, name: string, limit: RateLimit): Limiter | undefined {
  if (limit.perSecond <= 0) return undefined;
  const steady = counter(pool, name, limit.perSecond, 1);
  return limit.burst > 0 ? new BurstyRateLimiter(steady, counter(pool, `${name}-burst`, limit.burst, BURST_WINDOW_SECONDS)) : steady;
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

  constructor(
    pool: CounterPool,
    readonly settings: RateLimitSettings,
  ) {
    this.partnerLimit = limiter(pool, 'partner', settings.partner);
    this.addressLimit = limiter(pool, 'address', settings.address);
  }

  /** Counts `count` signed instructions (one, or a batch's) of a (verified) partner. */
  partner(partnerId: string, count = 1): Promise<number | undefined> {
    return consume(this.partnerLimit, partnerId, count);
  }

  /** Counts one request from a client address. */
  address(address: string): Promise<number | undefined> {
    return consume(this.addressLimit, address);
  }
}
