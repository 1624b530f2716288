/**
 * A minimal GraphQL-over-HTTP POST. No client library: the SDK sends a handful of fixed documents
 * and a partner's bundle should not carry a GraphQL runtime for that.
 */
import { HubRequestError, type GraphQLErrorEntry } from './errors';
import { persistedQueryExtension } from './persisted';

/** The part of `fetch` the SDK uses; inject one to add proxies, timeouts or a fake in tests. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface GraphQLRequest {
  url: string;
  query: string;
  variables: Record<string, unknown>;
  /** Bearer access token, for reads. Mutations authenticate through their signed instruction. */
  token?: string;
  /** Abort the request (connection, answer and body) after this many milliseconds: HubRequestError TIMEOUT. */
  timeoutMs?: number;
  /**
   * Send the document by its id (`extensions.persistedQuery`, Apollo's APQ wire format) instead of
   * its text: the hub must know it (the SDK's own documents, or one the operator registered).
   */
  persisted?: boolean;
}

/**
 * POSTs one document and returns `data`. Throws HubRequestError when the request as a whole
 * failed: no connection, a non-2xx answer without a GraphQL body, or any entry in `errors`
 * (the hub reports refusals such as UNAUTHENTICATED there, never partial success).
 */
export async function postGraphQL<T>(fetchImpl: FetchLike, request: GraphQLRequest): Promise<T> {
  return (await postGraphQLAllowingFieldErrors<T>(fetchImpl, request, false)).data;
}

/**
 * As postGraphQL, but when `fieldErrors` is true an answer with `data` whose errors all lie below
 * the root field (e.g. one item of a batch) is returned with those errors, not thrown.
 */
export async function postGraphQLAllowingFieldErrors<T>(
  fetchImpl: FetchLike,
  request: GraphQLRequest,
  fieldErrors = true,
): Promise<{ data: T; errors: GraphQLErrorEntry[] }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  let status: number;
  let text: string;
  let retryAfterMs: number | undefined;
  const signal = request.timeoutMs === undefined ? undefined : AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetchImpl(request.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(
        request.persisted
          ? { variables: request.variables, extensions: persistedQueryExtension(request.query) }
          : { query: request.query, variables: request.variables },
      ),
      ...(signal ? { signal } : {}),
    });
    status = response.status;
    retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    text = await response.text();
  } catch (cause) {
    if (signal?.aborted) {
      throw new HubRequestError('TIMEOUT', `the hub did not answer within ${request.timeoutMs} ms`, { cause });
    }
    throw new HubRequestError('NETWORK_ERROR', `could not reach the hub: ${describe(cause)}`, { cause });
  }
  const body = parseJson(text);
  const ok = status >= 200 && status < 300;
  if (!isGraphQLBody(body)) {
    if (!ok) throw new HubRequestError('HTTP_ERROR', `hub answered HTTP ${status}`, { status, retryAfterMs });
    throw new HubRequestError('BAD_RESPONSE', 'hub answer is not a GraphQL response', { status });
  }
  const errors = Array.isArray(body.errors) ? body.errors.map(toErrorEntry) : [];
  const belowRoot =
    fieldErrors && ok && typeof body.data === 'object' && body.data !== null && errors.every((e) => (e.path?.length ?? 0) > 1);
  if (errors.length > 0 && !belowRoot) {
    const code = errors.find((e) => typeof e.extensions?.code === 'string')?.extensions?.code ?? 'GRAPHQL_ERROR';
    throw new HubRequestError(code, errors.map((e) => e.message).join('; '), { status, errors, retryAfterMs });
  }
  if (!ok) throw new HubRequestError('HTTP_ERROR', `hub answered HTTP ${status}`, { status, retryAfterMs });
  if (typeof body.data !== 'object' || body.data === null) {
    throw new HubRequestError('BAD_RESPONSE', 'GraphQL response has no data', { status });
  }
  return { data: body.data as T, errors };
}

interface GraphQLBody {
  data?: unknown;
  errors?: unknown;
}

function isGraphQLBody(body: unknown): body is GraphQLBody {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && ('data' in body || 'errors' in body);
}

/** Retry-After (RFC 9110): delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toErrorEntry(raw: unknown): GraphQLErrorEntry {
  if (typeof raw !== 'object' || raw === null) return { message: String(raw) };
  const { message, path, extensions } = raw as Record<string, unknown>;
  const entry: GraphQLErrorEntry = { message: typeof message === 'string' ? message : 'unknown GraphQL error' };
  if (Array.isArray(path)) entry.path = path as (string | number)[];
  if (typeof extensions === 'object' && extensions !== null) entry.extensions = extensions as GraphQLErrorEntry['extensions'];
  return entry;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
