/**
 * Every `errorCode` a typed result of the hub can carry (the schema's `enum ErrorCode`, which
 * every `ErrorResult` type uses). A test compares this list with the hub's schema, so a code the
 * hub adds fails the SDK's tests until it is added here.
 */
export const ERROR_CODES = [
  'MALFORMED_INSTRUCTION',
  'UNSIGNED_INSTRUCTION',
  'ALGORITHM_NOT_ALLOWED',
  'UNKNOWN_PARTNER',
  'UNKNOWN_SIGNING_KEY',
  'SIGNING_KEY_REVOKED',
  'INVALID_SIGNATURE',
  'WRONG_AUDIENCE',
  'INSTRUCTION_EXPIRED',
  'INSTRUCTION_NOT_YET_VALID',
  'PARTNER_SUSPENDED',
  'INVALID_INSTRUCTION',
  'INVALID_AMOUNT',
  'IDEMPOTENCY_CONFLICT',
  'UNKNOWN_MEMBER',
  'MEMBER_LINK_CONFLICT',
  'MEMBER_LINKING_NOT_ALLOWED',
  'INSUFFICIENT_BALANCE',
  'HOLD_NOT_FOUND',
  'HOLD_CLOSED',
  'HOLD_EXPIRED',
  'AMOUNT_EXCEEDS_HOLD',
  'ENTRY_NOT_FOUND',
  'REVERSAL_EXCEEDS_REMAINING',
  'POINTS_ALREADY_SPENT',
  'TRANSFER_NOT_ALLOWED',
  'UNKNOWN_ASSET',
  'INVALID_QUOTE',
  'QUOTE_EXPIRED',
  'EXCHANGE_NOT_ALLOWED',
  'PARTNER_ALREADY_EXISTS',
  'INVALID_PARTNER_KEY',
  'INVALID_INPUT',
  'NOT_FOUND',
  'STATEMENT_NOT_FOUND',
  'STATEMENT_DIGEST_MISMATCH',
  'STATEMENT_STATUS_CONFLICT',
  'DISPUTE_NOT_FOUND',
  'DISPUTE_ALREADY_RESOLVED',
  'FUNDING_LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'INVALID_WEBHOOK_URL',
  'UNKNOWN_EVENT_TYPE',
  'BATCH_TOO_LARGE',
  'SANDBOX_ONLY',
  'UNKNOWN_CATEGORY',
  'PURCHASE_NOT_FOUND',
  'RETURN_EXCEEDS_PURCHASE',
  'CAMPAIGN_BUDGET_EXHAUSTED',
] as const;

/** A typed refusal's code: compare `outcome.errorCode` with one of these, and a misspelt code does not compile. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
