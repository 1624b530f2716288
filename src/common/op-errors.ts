import type { Op } from '@coalition-hub/partner-sdk';
import { type DomainError, ErrorCode } from './errors';

/**
 * Every refusal of the signed-instruction pipeline before the operation runs (verification, rate
 * limit, claims, jti replay): any instruction op can return these.
 */
export const INSTRUCTION_REJECTIONS = [
  ErrorCode.MALFORMED_INSTRUCTION,
  ErrorCode.UNSIGNED_INSTRUCTION,
  ErrorCode.ALGORITHM_NOT_ALLOWED,
  ErrorCode.UNKNOWN_PARTNER,
  ErrorCode.UNKNOWN_SIGNING_KEY,
  ErrorCode.SIGNING_KEY_REVOKED,
  ErrorCode.INVALID_SIGNATURE,
  ErrorCode.WRONG_AUDIENCE,
  ErrorCode.INSTRUCTION_EXPIRED,
  ErrorCode.INSTRUCTION_NOT_YET_VALID,
  ErrorCode.PARTNER_SUSPENDED,
  ErrorCode.INVALID_INSTRUCTION,
  ErrorCode.IDEMPOTENCY_CONFLICT,
  ErrorCode.RATE_LIMITED,
] as const;

const R = INSTRUCTION_REJECTIONS;

/** Why a reward cannot be redeemed, however it is asked for (docs/rewards.md). */
const REWARD_REFUSALS = [
  ErrorCode.UNKNOWN_MEMBER,
  ErrorCode.REWARD_NOT_FOUND,
  ErrorCode.REWARD_NOT_AVAILABLE,
  ErrorCode.REWARD_NOT_ELIGIBLE,
  ErrorCode.REWARD_OUT_OF_STOCK,
  ErrorCode.INSUFFICIENT_BALANCE,
] as const;

/**
 * The error codes each operation can return, declared once. The op's result type is
 * `Result | OpError<op>`, so the compiler refuses a code outside its list; the GraphQL result
 * union of the op is checked against the same list (src/graphql/types/failures.ts), so a code
 * the op returns always has its typed result.
 */
export const OP_ERRORS = {
  // Signed instructions (the partner SDK's ops).
  enroll: [
    ...R,
    ErrorCode.MEMBER_LINK_CONFLICT,
    ErrorCode.MEMBER_LINKING_NOT_ALLOWED,
    // An enrolment with a referral code (docs/grants-and-referrals.md).
    ErrorCode.UNKNOWN_REFERRAL_CODE,
    ErrorCode.SELF_REFERRAL,
    ErrorCode.CIRCULAR_REFERRAL,
    ErrorCode.REFERRAL_CAP_REACHED,
    ErrorCode.REFERRAL_NOT_ELIGIBLE,
  ],
  issue: [...R, ErrorCode.INVALID_AMOUNT, ErrorCode.UNKNOWN_MEMBER, ErrorCode.UNKNOWN_ASSET, ErrorCode.FUNDING_LIMIT_EXCEEDED],
  redeem: [...R, ErrorCode.INVALID_AMOUNT, ErrorCode.UNKNOWN_MEMBER, ErrorCode.INSUFFICIENT_BALANCE, ErrorCode.UNKNOWN_ASSET],
  authorize: [...R, ErrorCode.INVALID_AMOUNT, ErrorCode.UNKNOWN_MEMBER, ErrorCode.INSUFFICIENT_BALANCE, ErrorCode.UNKNOWN_ASSET],
  capture: [
    ...R,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.INSUFFICIENT_BALANCE,
    ErrorCode.HOLD_NOT_FOUND,
    ErrorCode.HOLD_CLOSED,
    ErrorCode.HOLD_EXPIRED,
    ErrorCode.AMOUNT_EXCEEDS_HOLD,
  ],
  void: [...R, ErrorCode.HOLD_NOT_FOUND, ErrorCode.HOLD_CLOSED, ErrorCode.HOLD_EXPIRED],
  reverse: [
    ...R,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.ENTRY_NOT_FOUND,
    ErrorCode.REVERSAL_EXCEEDS_REMAINING,
    ErrorCode.POINTS_ALREADY_SPENT,
  ],
  transfer: [...R, ErrorCode.INVALID_AMOUNT, ErrorCode.UNKNOWN_MEMBER, ErrorCode.INSUFFICIENT_BALANCE, ErrorCode.TRANSFER_NOT_ALLOWED],
  acknowledge: [...R, ErrorCode.STATEMENT_NOT_FOUND, ErrorCode.STATEMENT_DIGEST_MISMATCH, ErrorCode.STATEMENT_STATUS_CONFLICT],
  dispute: [...R, ErrorCode.STATEMENT_NOT_FOUND, ErrorCode.STATEMENT_DIGEST_MISMATCH, ErrorCode.STATEMENT_STATUS_CONFLICT],
  // The rewards catalogue (docs/rewards.md): a partner redeems on a member's behalf, the providing partner uses an entitlement.
  redeem_reward: [...R, ...REWARD_REFUSALS],
  use_entitlement: [...R, ErrorCode.ENTITLEMENT_NOT_FOUND, ErrorCode.ENTITLEMENT_ALREADY_USED, ErrorCode.ENTITLEMENT_EXPIRED],
  // A signed activity (docs/loyalty-engine.md).
  activity: [
    ...R,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.UNKNOWN_CATEGORY,
    ErrorCode.PURCHASE_NOT_FOUND,
    ErrorCode.RETURN_EXCEEDS_PURCHASE,
    ErrorCode.CAMPAIGN_BUDGET_EXHAUSTED,
    ErrorCode.FUNDING_LIMIT_EXCEEDED,
    ErrorCode.POINTS_ALREADY_SPENT,
  ],
  // Member-token exchanges.
  quote: [
    ErrorCode.UNKNOWN_ASSET,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.EXCHANGE_NOT_ALLOWED,
    ErrorCode.PARTNER_SUSPENDED,
  ],
  exchange: [
    ErrorCode.INVALID_QUOTE,
    ErrorCode.QUOTE_EXPIRED,
    ErrorCode.INSUFFICIENT_BALANCE,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.PARTNER_SUSPENDED,
    // Points of a prepaid or capped partner's unit turned into CP draw on its funding, like an issue.
    ErrorCode.FUNDING_LIMIT_EXCEEDED,
  ],
  // Operator and finance mutations.
  resolve: [ErrorCode.DISPUTE_NOT_FOUND, ErrorCode.DISPUTE_ALREADY_RESOLVED, ErrorCode.INVALID_INPUT],
  fund: [ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT],
  closePeriod: [ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT],
  partner: [ErrorCode.PARTNER_ALREADY_EXISTS, ErrorCode.INVALID_PARTNER_KEY, ErrorCode.INVALID_INPUT, ErrorCode.NOT_FOUND],
  setting: [ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT],
  // A partner's webhook endpoints (docs/webhooks.md).
  createWebhookEndpoint: [ErrorCode.INVALID_WEBHOOK_URL, ErrorCode.UNKNOWN_EVENT_TYPE, ErrorCode.INVALID_INPUT],
  updateWebhookEndpoint: [ErrorCode.NOT_FOUND, ErrorCode.INVALID_WEBHOOK_URL, ErrorCode.UNKNOWN_EVENT_TYPE, ErrorCode.INVALID_INPUT],
  webhookById: [ErrorCode.NOT_FOUND],
  // A batch of signed instructions (docs/batches.md): refused whole only when it holds too many.
  submitInstructions: [ErrorCode.BATCH_TOO_LARGE],
  // Test clocks of a sandbox hub (docs/sandbox.md): any hub that is not a sandbox answers SandboxOnly.
  testClocks: [ErrorCode.SANDBOX_ONLY],
  createTestClock: [ErrorCode.SANDBOX_ONLY, ErrorCode.INVALID_INPUT],
  testClockChange: [ErrorCode.SANDBOX_ONLY, ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT],
  // The rewards catalogue (docs/rewards.md): a member redeems with a member token (idempotency key), a partner manages its rewards.
  redeemReward: [...REWARD_REFUSALS, ErrorCode.IDEMPOTENCY_CONFLICT, ErrorCode.INVALID_INPUT],
  createReward: [ErrorCode.INVALID_INPUT],
  updateReward: [ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT],
  // Grants with reasons (docs/grants-and-referrals.md).
  grant: [
    ...R,
    ErrorCode.INVALID_AMOUNT,
    ErrorCode.UNKNOWN_MEMBER,
    ErrorCode.FUNDING_LIMIT_EXCEEDED,
    ErrorCode.GRANTS_NOT_CONFIGURED,
    ErrorCode.GRANT_CAP_EXCEEDED,
    ErrorCode.GRANT_BUDGET_EXHAUSTED,
  ],
  // KPI figures (docs/kpis.md): a partner token may read only its own figures and the coalition's.
  kpis: [ErrorCode.INVALID_INPUT, ErrorCode.UNKNOWN_PARTNER, ErrorCode.SCOPE_NOT_ALLOWED],
  // A partner's report of its non-member customers (docs/kpis.md, "Member lift"): its own only, or any partner by an operator.
  nonMemberReport: [ErrorCode.INVALID_INPUT, ErrorCode.UNKNOWN_PARTNER, ErrorCode.SCOPE_NOT_ALLOWED],
} as const satisfies Record<Op, readonly ErrorCode[]> & Record<string, readonly ErrorCode[]>;

/** An operation that returns typed errors: an instruction op, or one of the other mutations above. */
export type OpName = keyof typeof OP_ERRORS;

/** The codes `op` may return. */
export type OpCode<O extends OpName> = (typeof OP_ERRORS)[O][number];

/** The error an operation may return: `Promise<Receipt | OpError<'issue'>>`. */
export type OpError<O extends OpName> = DomainError<OpCode<O>>;

/** A refusal of the instruction pipeline (before the op runs). */
export type InstructionRejection = (typeof INSTRUCTION_REJECTIONS)[number];

/** Whether `op` may return `error`: the checked way to pass on an error whose code depends on run-time data. */
export const opMayReturn = <O extends OpName, C extends ErrorCode>(op: O, error: DomainError<C>): error is DomainError<C & OpCode<O>> =>
  (OP_ERRORS[op] as readonly ErrorCode[]).includes(error.code);
