import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { processTime } from '../common/clock';

/**
 * When PostgreSQL cannot be reached, every request fails the same way for as long as it lasts:
 * that is not a bug to log with a stack trace per request, but one outage, answered to clients
 * as a retryable SERVICE_UNAVAILABLE (HTTP 503) and logged once when it starts and once when it ends.
 */

/** Node socket errors of a connection that cannot be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs of a server that is going or not there: class 08 (connection exception), 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** What pg and pg-pool say when a connection dies or none can be had in time. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|encountered a connection error and is not queryable|Client was closed and is not queryable|Connection ended unexpectedly/i;

/**
 * The error itself and what it wraps: GraphQL's originalError (and thrownValue, for a value graphql
 * did not recognise as an Error, e.g. one from another realm), TypeORM's driverError, cause, and
 * AggregateError members.
 */
function* chain(error: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (depth > 6 || error === null || typeof error !== 'object') return;
  const record = error as Record<string, unknown>;
  yield record;
  for (const inner of [record.originalError, record.thrownValue, record.driverError, record.cause]) yield* chain(inner, depth + 1);
  if (Array.isArray(record.errors)) for (const inner of record.errors) yield* chain(inner, depth + 1);
}

export function isDatabaseUnavailable(error: unknown): boolean {
  for (const link of chain(error)) {
    const code = typeof link.code === 'string' ? link.code : undefined;
    if (code && (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (typeof link.message === 'string' && UNAVAILABLE_MESSAGE.test(link.message)) return true;
  }
  return false;
}

/**
 * One outage: the first failure logs (with its error), later ones only count, and the first
 * new connection afterwards ends it with one line giving its duration and how many requests failed.
 */
export class DatabaseOutage {
  private startedAt: number | null = null;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    private readonly onFailure: () => void = () => undefined,
    private readonly now: () => number = processTime.ms,
  ) {}

  get ongoing(): boolean {
    return this.startedAt !== null;
  }

  failed(error: unknown): void {
    this.onFailure();
    this.failures += 1;
    if (this.startedAt !== null) return;
    this.startedAt = this.now();
    this.logger.error({ err: error }, 'database unavailable: requests are answered 503 SERVICE_UNAVAILABLE until it is back');
  }

  recovered(): void {
    if (this.startedAt === null) return;
    this.logger.warn({ outageMs: this.now() - this.startedAt, failedRequests: this.failures }, 'database available again');
    this.startedAt = null;
    this.failures = 0;
  }

  /** Every new pool connection proves the database is reachable: that ends an outage. */
  watch(dataSource: DataSource): void {
    const pool = (dataSource.driver as unknown as { master?: { on(event: 'connect', listener: () => void): void } }).master;
    pool?.on('connect', () => this.recovered());
  }
}
