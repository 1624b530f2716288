/**
 * Every failure a caller can act on, in one list. Services *return* a DomainError (the
 * transaction is then rolled back: an error result means nothing was written); the GraphQL
 * layer maps each code to its typed result in one exhaustively checked place.
 */
export enum ErrorCode {
  MALFORMED_INSTRUCTION = 'MALFORMED_INSTRUCTION',
  UNSIGNED_INSTRUCTION = 'UNSIGNED_INSTRUCTION',
  ALGORITHM_NOT_ALLOWED = 'ALGORITHM_NOT_ALLOWED',
  UNKNOWN_PARTNER = 'UNKNOWN_PARTNER',
  UNKNOWN_SIGNING_KEY = 'UNKNOWN_SIGNING_KEY',
  SIGNING_KEY_REVOKED = 'SIGNING_KEY_REVOKED',
  INVALID_SIGNATURE = 'INVALID_SIGNATURE',
  WRONG_AUDIENCE = 'WRONG_AUDIENCE',
  INSTRUCTION_EXPIRED = 'INSTRUCTION_EXPIRED',
  INSTRUCTION_NOT_YET_VALID = 'INSTRUCTION_NOT_YET_VALID',
  PARTNER_SUSPENDED = 'PARTNER_SUSPENDED',
  INVALID_INSTRUCTION = 'INVALID_INSTRUCTION',
  INVALID_AMOUNT = 'INVALID_AMOUNT',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  UNKNOWN_MEMBER = 'UNKNOWN_MEMBER',
  MEMBER_LINK_CONFLICT = 'MEMBER_LINK_CONFLICT',
  MEMBER_LINKING_NOT_ALLOWED = 'MEMBER_LINKING_NOT_ALLOWED',
  INSUFFICIENT_BALANCE = 'INSUFFICIENT_BALANCE',
  HOLD_NOT_FOUND = 'HOLD_NOT_FOUND',
  HOLD_CLOSED = 'HOLD_CLOSED',
  HOLD_EXPIRED = 'HOLD_EXPIRED',
  AMOUNT_EXCEEDS_HOLD = 'AMOUNT_EXCEEDS_HOLD',
  ENTRY_NOT_FOUND = 'ENTRY_NOT_FOUND',
  REVERSAL_EXCEEDS_REMAINING = 'REVERSAL_EXCEEDS_REMAINING',
  POINTS_ALREADY_SPENT = 'POINTS_ALREADY_SPENT',
  TRANSFER_NOT_ALLOWED = 'TRANSFER_NOT_ALLOWED',
  UNKNOWN_ASSET = 'UNKNOWN_ASSET',
  INVALID_QUOTE = 'INVALID_QUOTE',
  QUOTE_EXPIRED = 'QUOTE_EXPIRED',
  EXCHANGE_NOT_ALLOWED = 'EXCHANGE_NOT_ALLOWED',
  PARTNER_ALREADY_EXISTS = 'PARTNER_ALREADY_EXISTS',
  INVALID_PARTNER_KEY = 'INVALID_PARTNER_KEY',
  INVALID_INPUT = 'INVALID_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  STATEMENT_NOT_FOUND = 'STATEMENT_NOT_FOUND',
  STATEMENT_DIGEST_MISMATCH = 'STATEMENT_DIGEST_MISMATCH',
  STATEMENT_STATUS_CONFLICT = 'STATEMENT_STATUS_CONFLICT',
  DISPUTE_NOT_FOUND = 'DISPUTE_NOT_FOUND',
  DISPUTE_ALREADY_RESOLVED = 'DISPUTE_ALREADY_RESOLVED',
  FUNDING_LIMIT_EXCEEDED = 'FUNDING_LIMIT_EXCEEDED',
  RATE_LIMITED = 'RATE_LIMITED',
  INVALID_WEBHOOK_URL = 'INVALID_WEBHOOK_URL',
  UNKNOWN_EVENT_TYPE = 'UNKNOWN_EVENT_TYPE',
  BATCH_TOO_LARGE = 'BATCH_TOO_LARGE',
  SANDBOX_ONLY = 'SANDBOX_ONLY',
  REWARD_NOT_FOUND = 'REWARD_NOT_FOUND',
  REWARD_NOT_AVAILABLE = 'REWARD_NOT_AVAILABLE',
  REWARD_NOT_ELIGIBLE = 'REWARD_NOT_ELIGIBLE',
  REWARD_OUT_OF_STOCK = 'REWARD_OUT_OF_STOCK',
  ENTITLEMENT_NOT_FOUND = 'ENTITLEMENT_NOT_FOUND',
  ENTITLEMENT_ALREADY_USED = 'ENTITLEMENT_ALREADY_USED',
  ENTITLEMENT_EXPIRED = 'ENTITLEMENT_EXPIRED',
  GRANTS_NOT_CONFIGURED = 'GRANTS_NOT_CONFIGURED',
  GRANT_CAP_EXCEEDED = 'GRANT_CAP_EXCEEDED',
  GRANT_BUDGET_EXHAUSTED = 'GRANT_BUDGET_EXHAUSTED',
  UNKNOWN_REFERRAL_CODE = 'UNKNOWN_REFERRAL_CODE',
  SELF_REFERRAL = 'SELF_REFERRAL',
  CIRCULAR_REFERRAL = 'CIRCULAR_REFERRAL',
  REFERRAL_CAP_REACHED = 'REFERRAL_CAP_REACHED',
  REFERRAL_NOT_ELIGIBLE = 'REFERRAL_NOT_ELIGIBLE',
  UNKNOWN_CATEGORY = 'UNKNOWN_CATEGORY',
  PURCHASE_NOT_FOUND = 'PURCHASE_NOT_FOUND',
  RETURN_EXCEEDS_PURCHASE = 'RETURN_EXCEEDS_PURCHASE',
  CAMPAIGN_BUDGET_EXHAUSTED = 'CAMPAIGN_BUDGET_EXHAUSTED',
  SCOPE_NOT_ALLOWED = 'SCOPE_NOT_ALLOWED',
}

/**
 * A refusal with its code in the type: `DomainError<ErrorCode.HOLD_CLOSED>` can only carry that
 * code, so an operation whose result type names its codes (src/common/op-errors.ts) cannot
 * return one outside them without the compiler noticing.
 */
export class DomainError<C extends ErrorCode = ErrorCode> {
  constructor(
    readonly code: C,
    readonly message: string,
    /** Machine-readable details for the typed result (e.g. available and requested amounts). */
    readonly details: Record<string, string | number | null> = {},
  ) {}
}

export const isDomainError = (value: unknown): value is DomainError => value instanceof DomainError;

export const fail = <C extends ErrorCode>(code: C, message: string, details?: Record<string, string | number | null>): DomainError<C> =>
  new DomainError(code, message, details);

/**
 * A list's `after` that is not a cursor from that list: the request's fault, not a failure of an
 * operation. Query services throw it without any GraphQL library (below the GraphQL layer the only
 * GraphQL errors are the auth and role refusals); graphql-js takes an error's own `extensions`
 * when it wraps it, so the client (and the request's log line) sees BAD_USER_INPUT.
 */
export class InvalidCursor extends Error {
  readonly extensions = { code: 'BAD_USER_INPUT' } as const;

  constructor(message = 'after is not a cursor from this list') {
    super(message);
    this.name = 'InvalidCursor';
  }
}
