import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { Kind, parse, type DocumentNode } from 'graphql';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { limits } from '../config/limits';
import type { RequestContext } from '../graphql/context';
import { BodyTooLarge, readBody, sendBodyTooLarge } from './body';
import { ROTATION_ACTIVATION_SECONDS_DEFAULT } from '../hub-keys/hub-keys';
import type { HubMetrics } from '../common/metrics';
import { sendJson } from './respond';
import type { RateLimits } from '../common/rate-limits';
import { refuseOverAddressLimit } from './rate-limit';
import { assignRequestId, withRequestId } from './request-id';
import { PROBE_PATHS, type Probes } from './probes';
import { EXPLORER_PATH, type Explorer } from './explorer';
import { CONSOLE_PATH, type ConsoleSite } from './console';

export interface HttpDependencies {
  apollo: ApolloServer<RequestContext>;
  createContext: (authorization: string | undefined, telemetry: RequestContext['telemetry']) => Promise<RequestContext>;
  metrics: HubMetrics;
  metricsToken: string | undefined;
  jwks: () => Promise<unknown>;
  dataSource: DataSource;
  probes: Probes;
  logger: Logger;
  rateLimits?: RateLimits;
  /** GraphiQL for browsers on GET /graphql, and its files under /explorer/ (explorer.ts); absent when EXPLORER=off. */
  explorer?: Explorer;
  /** The consoles' web app under /console (console.ts, docs/consoles.md); absent when CONSOLE=off. */
  console?: ConsoleSite;
  /** The partner SDK's document with this id (a request sent by id, docs/security.md "Persisted operations"). */
  persistedDocument?: (id: string) => string | undefined;
}

/** Compares secrets in constant time. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A request whose one operation is a mutation of submitInstructions fields only: the one kind of
 * request that may be larger than requestBodyBytesMax (up to batchBodyBytesMax, docs/batches.md).
 * Sent by id (the SDK's persisted batch mutation), its document is the SDK's.
 */
function isBatchOnly(body: unknown, persistedDocument: HttpDependencies['persistedDocument']): boolean {
  const fields = typeof body === 'object' && body !== null ? (body as { query?: unknown; extensions?: unknown }) : undefined;
  const sha256Hash = (fields?.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
  const query = fields?.query ?? (typeof sha256Hash === 'string' ? persistedDocument?.(sha256Hash) : undefined);
  if (typeof query !== 'string' || query.length > limits.requestBodyBytesMax) return false;
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: limits.queryTokensMax });
  } catch {
    return false;
  }
  const [operation, ...others] = document.definitions;
  return (
    others.length === 0 &&
    operation?.kind === Kind.OPERATION_DEFINITION &&
    operation.operation === 'mutation' &&
    operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && selection.name.value === 'submitInstructions')
  );
}

/** Runs one GraphQL request through Apollo (GraphQL-over-HTTP: POST JSON, GET for queries). */
async function handleGraphql(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  deps: HttpDependencies,
  telemetry: RequestContext['telemetry'],
): Promise<string | undefined> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown = undefined;
  if (request.method === 'POST') {
    // Read up to a full batch's size; only a batch may be larger than the general limit (below).
    const text = await readBody(request, { bytesMax: limits.batchBodyBytesMax, drainBytesMax: limits.requestBodyDrainBytesMax }).catch(
      (error: unknown) => {
        throw error instanceof BodyTooLarge ? new BodyTooLarge(limits.requestBodyBytesMax, error.drained) : error;
      },
    );
    const isJson = (headers.get('content-type') ?? '').includes('json');
    try {
      body = isJson ? JSON.parse(text) : text;
    } catch {
      sendJson(response, 400, { errors: [{ message: 'the body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
      return undefined;
    }
    if (Buffer.byteLength(text) > limits.requestBodyBytesMax && !isBatchOnly(body, deps.persistedDocument)) {
      throw new BodyTooLarge(limits.requestBodyBytesMax, true);
    }
  }
  const operationName =
    typeof body === 'object' && body !== null ? (body as { operationName?: unknown }).operationName : url.searchParams.get('operationName');
  const result = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
    context: () => deps.createContext(request.headers.authorization, telemetry),
  });
  for (const [name, value] of result.headers) response.setHeader(name, value);
  response.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    response.end(result.body.string);
  } else {
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  }
  return typeof operationName === 'string' ? operationName.slice(0, 64) : undefined;
}

export function createHttpServer(deps: HttpDependencies): Server {
  // Everything the request does, logging included, runs with its request id (request-id.ts).
  return createServer((request, response) =>
    withRequestId(assignRequestId(request, response), () => {
      const started = process.hrtime.bigint();
      const url = new URL(request.url ?? '/', 'http://hub.local');
      let operation: string | undefined;
      const telemetry: RequestContext['telemetry'] = {};
      const route = async () => {
        if (url.pathname === '/graphql') {
          if (request.method !== 'GET' && request.method !== 'POST')
            return sendJson(response, 405, { error: 'use GET or POST' }, { allow: 'GET, POST' });
          if (await refuseOverAddressLimit(request, response, deps.rateLimits, deps.metrics, deps.logger)) return;
          if (deps.explorer?.wantsPage(request)) return deps.explorer.sendPage(request, response);
          operation = await handleGraphql(request, response, url, deps, telemetry);
          return;
        }
        if (request.method !== 'GET') return sendJson(response, 405, { error: 'use GET' }, { allow: 'GET' });
        if (await deps.probes.handle(url.pathname, response)) return;
        if (deps.explorer && (await deps.explorer.sendAsset(request, url.pathname, response))) return;
        if (deps.console?.owns(url.pathname)) return deps.console.handle(request, url.pathname, response);
        if (url.pathname === '/metrics') {
          if (deps.metricsToken !== undefined && !sameSecret(request.headers.authorization ?? '', `Bearer ${deps.metricsToken}`)) {
            return sendJson(
              response,
              401,
              { error: 'metrics need Authorization: Bearer <METRICS_TOKEN>' },
              { 'www-authenticate': 'Bearer' },
            );
          }
          const { contentType, body } = await deps.metrics.render();
          response.writeHead(200, { 'content-type': contentType });
          response.end(body);
          return;
        }
        if (url.pathname === '/.well-known/jwks.json')
          // Cached no longer than a rotated key waits before it signs, so a cached key set has fetched it by then.
          return sendJson(response, 200, await deps.jwks(), { 'cache-control': `public, max-age=${ROTATION_ACTIVATION_SECONDS_DEFAULT}` });
        return sendJson(response, 404, { error: 'not found' });
      };
      route()
        .catch((error: unknown) => {
          if (error instanceof BodyTooLarge) return sendBodyTooLarge(request, response, error);
          deps.logger.error({ err: error }, 'request failed');
          if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
          else response.end();
        })
        .finally(() => {
          // One line per request: what, how it ended, how long. Never tokens or bodies.
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const route = ['/graphql', ...PROBE_PATHS, '/metrics', '/.well-known/jwks.json'].includes(url.pathname)
            ? url.pathname
            : url.pathname.startsWith(EXPLORER_PATH)
              ? EXPLORER_PATH
              : deps.console?.owns(url.pathname)
                ? CONSOLE_PATH
                : 'other';
          deps.metrics.request(route, response.statusCode, seconds);
          deps.logger.info(
            {
              method: request.method,
              path: url.pathname,
              operation,
              outcome: telemetry.outcome,
              status: response.statusCode,
              durationMs: Math.round(seconds * 1e6) / 1e3,
            },
            'request',
          );
        });
    }),
  );
}
