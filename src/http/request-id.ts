import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * Request ids: each HTTP request gets one — the caller's `x-request-id` when it is a sane value,
 * else a new UUID — echoed in the `x-request-id` response header and put on every log line
 * written while the request runs (the request's async context carries it, so services and
 * resolvers need not pass it around).
 */
export const REQUEST_ID_HEADER = 'x-request-id';
export const REQUEST_ID_LENGTH_MAX = 128;

/** Visible ASCII only: nothing that could split a log line or a header. */
const ACCEPTABLE = new RegExp(`^[\\x21-\\x7e]{1,${REQUEST_ID_LENGTH_MAX}}$`);

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}

/** The request's id, also set as the response's `x-request-id` header. */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const reqId = requestIdOf(request);
  response.setHeader(REQUEST_ID_HEADER, reqId);
  return reqId;
}

const current = new AsyncLocalStorage<{ reqId: string }>();

export function withRequestId<T>(reqId: string, work: () => T): T {
  return current.run({ reqId }, work);
}

export const currentRequestId = (): string | undefined => current.getStore()?.reqId;

/**
 * A logger whose every line carries `reqId` when written inside a request. It wraps whatever
 * logger the hub was given (its own or a test's), so no log call can forget the id.
 */
export function requestAwareLogger(logger: Logger): Logger {
  return logger.child(
    {},
    {
      formatters: {
        log(object: object) {
          const reqId = currentRequestId();
          return reqId === undefined || 'reqId' in object ? object : { reqId, ...object };
        },
      },
    },
  );
}
