/**
 * Errors the SDK throws besides the built-in TypeError/RangeError for bad arguments.
 * Two kinds, because a caller must react differently to them:
 *  - HubRequestError: the hub could not be reached or refused the request as a whole.
 *    Nothing is known about the instruction; resend it (same jti) to find out.
 *  - ReceiptVerificationError: the hub answered, but its receipt does not prove what it
 *    should. Do not trust the answer; it is an alarm, not a retryable glitch.
 * A declined operation (insufficient balance, unknown member, ...) is neither: it is an
 * ordinary `{ ok: false }` outcome.
 */

/** Base class, so that callers can catch everything the SDK raises on purpose. */
export class PartnerSdkError extends Error {
  /** The instruction's jti when the error happened while submitting or fetching one; keep it to retry. */
  jti: string | undefined;

  constructor(message: string, options?: { cause?: unknown; jti?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.jti = options?.jti;
  }
}

/** One entry of a GraphQL response's `errors`, as far as the SDK reads it. */
export interface GraphQLErrorEntry {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; [name: string]: unknown };
}

/**
 * `code` is the first GraphQL error's `extensions.code` (UNAUTHENTICATED, FORBIDDEN,
 * BAD_USER_INPUT, SERVICE_UNAVAILABLE, ...) or one of the SDK's own: NETWORK_ERROR (fetch
 * failed), TIMEOUT (no answer within the client's timeout), HTTP_ERROR (non-2xx without a
 * GraphQL body), BAD_RESPONSE (not a GraphQL response, or not the shape asked for),
 * JWKS_UNAVAILABLE (the hub's keys could not be fetched), GRAPHQL_ERROR (an error without a code).
 */
export class HubRequestError extends PartnerSdkError {
  readonly code: string;
  /** HTTP status, when a response arrived at all. */
  readonly status: number | undefined;
  readonly errors: readonly GraphQLErrorEntry[];
  /** The hub's Retry-After, in milliseconds, when it sent one (429, 503). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: string,
    message: string,
    options?: { status?: number; errors?: readonly GraphQLErrorEntry[]; cause?: unknown; jti?: string; retryAfterMs?: number },
  ) {
    super(message, options);
    this.code = code;
    this.status = options?.status;
    this.errors = options?.errors ?? [];
    this.retryAfterMs = options?.retryAfterMs;
  }

  /**
   * Whether sending the same request again may succeed: the hub could not be reached or did not
   * answer in time, was overloaded or unavailable (HTTP 429, 502, 503, 504, SERVICE_UNAVAILABLE).
   * Never for a refusal (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT...), and a typed result such
   * as INSUFFICIENT_BALANCE is an outcome, not an error.
   */
  get retryable(): boolean {
    if (this.code === 'NETWORK_ERROR' || this.code === 'TIMEOUT' || this.code === 'SERVICE_UNAVAILABLE') return true;
    return this.status !== undefined && RETRYABLE_STATUSES.has(this.status);
  }
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Why a receipt was rejected. `claim` means a claim or header did not have the pinned value
 * (see `ReceiptVerificationError.claim` for which one).
 */
export type ReceiptFailureReason = 'malformed' | 'algorithm' | 'unknown-key' | 'signature' | 'expired' | 'claim';

export class ReceiptVerificationError extends PartnerSdkError {
  readonly reason: ReceiptFailureReason;
  /** The claim or header parameter that failed, for reason 'claim' (e.g. 'aud', 'typ', 'requestHash'). */
  readonly claim: string | undefined;

  constructor(reason: ReceiptFailureReason, message: string, options?: { claim?: string; cause?: unknown; jti?: string }) {
    super(message, options);
    this.reason = reason;
    this.claim = options?.claim;
  }
}

/** Tags an error with the jti it happened to, unless it already names one, and returns it for rethrowing. */
export function withJti(error: unknown, jti: string): unknown {
  if (error instanceof PartnerSdkError && error.jti === undefined) error.jti = jti;
  return error;
}

/**
 * Why a webhook delivery was rejected: a required header is absent, sent twice or not in its
 * form; the timestamp is outside the tolerance; no signature of a kind the receiver checks;
 * the `webhook-key-id` names no Ed25519 key of the hub; no signature verifies; or the signed
 * body is not an event envelope.
 */
export type WebhookFailureReason =
  | 'missing-header'
  | 'duplicate-header'
  | 'malformed-header'
  | 'stale'
  | 'future'
  | 'no-signature'
  | 'unknown-key'
  | 'signature'
  | 'envelope';

/** A webhook delivery that does not prove it comes from the hub unchanged: answer 4xx and ignore it. */
export class WebhookVerificationError extends PartnerSdkError {
  readonly reason: WebhookFailureReason;
  /** The header at fault, for the header reasons. */
  readonly header: string | undefined;

  constructor(reason: WebhookFailureReason, message: string, options?: { header?: string; cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.header = options?.header;
  }
}
