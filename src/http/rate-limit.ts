import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond';
import type { Logger } from 'pino';
import type { RateLimits } from '../common/rate-limits';
import type { HubMetrics } from '../common/metrics';

/**
 * The per-address limit, applied to GraphQL requests before anything else (before the body is
 * read or any token verified): an address over its limit gets HTTP 429 with Retry-After. The
 * address is the TCP peer; behind a proxy or load balancer that is the proxy, so there the limit
 * belongs at the proxy (RATE_LIMIT_IP_PER_SECOND=0 here). Probes, metrics and the JWKS are never limited.
 * Returns true when it answered the request.
 */
export async function refuseOverAddressLimit(
  request: IncomingMessage,
  response: ServerResponse,
  limits: RateLimits | undefined,
  metrics: HubMetrics,
  logger: Logger,
): Promise<boolean> {
  if (!limits) return false;
  const address = request.socket.remoteAddress ?? 'unknown';
  const retryAfterSeconds = await limits.address(address);
  if (retryAfterSeconds === undefined) return false;
  metrics.limited('address');
  logger.warn({ scope: 'address', address, retryAfterSeconds }, 'rate limited');
  sendJson(
    response,
    429,
    {
      errors: [
        {
          message: `too many requests from this address; retry after ${retryAfterSeconds} s`,
          extensions: { code: 'RATE_LIMITED', retryAfterSeconds },
        },
      ],
    },
    { 'retry-after': String(retryAfterSeconds) },
  );
  return true;
}
