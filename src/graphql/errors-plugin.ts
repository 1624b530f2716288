import { HeaderMap, type ApolloServerOptions, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { isDatabaseUnavailable, type DatabaseOutage } from '../db/availability';
import type { RequestContext } from './context';

/** How long a client should wait before retrying a request refused during a database outage. */
export const RETRY_AFTER_SECONDS = 5;

export const SERVICE_UNAVAILABLE_MESSAGE = `the database is unavailable; retry in ${RETRY_AFTER_SECONDS} seconds (a signed instruction: resend the same one, same jti)`;

const unavailableExtensions = { code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: RETRY_AFTER_SECONDS } as const;

/** For failures before any resolver (building the request context): HTTP 503 with Retry-After. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, {
    extensions: { ...unavailableExtensions, http: { status: 503, headers: new HeaderMap([['retry-after', String(RETRY_AFTER_SECONDS)]]) } },
  });
}

/** Runs `work` (context building reads partner keys); a database outage becomes a 503 and counts once. */
export async function orUnavailable<T>(work: () => Promise<T>, outage: DatabaseOutage): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    outage.failed(error);
    throw serviceUnavailable();
  }
}

const statusOf = (error: unknown): number | undefined => {
  const http = error instanceof GraphQLError ? (error.extensions.http as { status?: unknown } | undefined) : undefined;
  return typeof http?.status === 'number' ? http.status : undefined;
};

const TOKEN_LIMIT = /^Syntax Error: Document contains more th(?:an|at) (\d+) tokens/;

/**
 * Apollo's formatError for the hub. An error without a code is internal (logged, its message
 * hidden) unless it is one of these, which are the client's or the database's doing:
 *  - the database cannot be reached: SERVICE_UNAVAILABLE, retryable (the plugin below makes it a 503);
 *  - Apollo refused the request with a 4xx but no code (a persisted-query hash mismatch): BAD_REQUEST.
 * Limit refusals read as limits, not as syntax errors.
 */
export function formatHubError(logger: Logger): NonNullable<ApolloServerOptions<RequestContext>['formatError']> {
  return (formatted, error) => {
    const code = formatted.extensions?.code;
    if (code === 'GRAPHQL_PARSE_FAILED') {
      const tokens = TOKEN_LIMIT.exec(formatted.message);
      if (tokens)
        return {
          ...formatted,
          message: `Query size exceeds the limit of ${tokens[1]} tokens; send a smaller query`,
          extensions: { ...formatted.extensions, reason: 'QUERY_TOKENS' },
        };
      return formatted;
    }
    // Apollo's own words are a bare type name; the code stays what APQ clients look for.
    if (code === 'PERSISTED_QUERY_NOT_FOUND')
      return {
        ...formatted,
        message:
          "no persisted operation has this id (extensions.persistedQuery.sha256Hash): the hub knows the partner SDK's documents and those an operator registered",
      };
    // graphql-armor words its depth and alias limits as syntax errors; they are limits.
    if (code === 'GRAPHQL_VALIDATION_FAILED') return { ...formatted, message: formatted.message.replace(/^Syntax Error: /, '') };
    if (code !== 'INTERNAL_SERVER_ERROR') return formatted;
    if (isDatabaseUnavailable(error))
      return { ...formatted, message: SERVICE_UNAVAILABLE_MESSAGE, extensions: { ...unavailableExtensions } };
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500) return { ...formatted, extensions: { code: 'BAD_REQUEST' } };
    logger.error({ err: error }, 'internal error');
    return { message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/**
 * A request that failed because the database is unavailable answers HTTP 503 with Retry-After
 * (data, if any, is partial: retry the whole request), and counts once towards the outage.
 */
export function availabilityPlugin(outage: DatabaseOutage): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      let unavailable = false;
      return {
        async didEncounterErrors({ errors }) {
          const cause = errors.find((error) => isDatabaseUnavailable(error));
          if (!cause || unavailable) return;
          unavailable = true;
          outage.failed(cause);
        },
        async willSendResponse({ response }) {
          if (!unavailable) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
        },
      };
    },
  };
}
