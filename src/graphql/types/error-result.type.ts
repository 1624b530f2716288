import { Field, ID, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { assert } from '../../common/assert';
import { DomainError, ErrorCode } from '../../common/errors';
import { OP_ERRORS, type OpCode, type OpName } from '../../common/op-errors';
import { AmountScalar } from '../scalars';

registerEnumType(ErrorCode, { name: 'ErrorCode', description: 'Why an operation was refused. Nothing was written.' });

@InterfaceType({ description: 'An expected failure. When a mutation returns one, nothing was written.' })
export abstract class ErrorResult {
  @Field(() => ErrorCode) errorCode!: ErrorCode;
  @Field() message!: string;
}

/** A GraphQL error result type, with the one code it stands for in its type (`static code`). */
export type ErrorClass<C extends ErrorCode = ErrorCode> = (new () => ErrorResult) & { readonly code: C };

/** The codes a list of error result types stands for. */
export type CodesOf<F extends readonly ErrorClass[]> = F[number]['code'];

function errorType<C extends ErrorCode>(code: C, name: string, description: string): ErrorClass<C> {
  @ObjectType(name, { implements: ErrorResult, description })
  class Named extends ErrorResult {
    static readonly code: C = code;
  }
  // The class answers to its GraphQL name (logs and metrics read constructor.name).
  Object.defineProperty(Named, 'name', { value: name });
  return Named;
}

export const MalformedInstruction = errorType(
  ErrorCode.MALFORMED_INSTRUCTION,
  'MalformedInstruction',
  'Not a compact JWS of the right type and shape.',
);
export const UnsignedInstruction = errorType(
  ErrorCode.UNSIGNED_INSTRUCTION,
  'UnsignedInstruction',
  'The JWS has no signature (alg "none" or an empty signature).',
);
export const AlgorithmNotAllowed = errorType(
  ErrorCode.ALGORITHM_NOT_ALLOWED,
  'AlgorithmNotAllowed',
  'The algorithm is not EdDSA or ES256, or not the one the key is registered for.',
);
export const UnknownPartner = errorType(ErrorCode.UNKNOWN_PARTNER, 'UnknownPartner', 'No partner with that iss is registered.');
export const UnknownSigningKey = errorType(ErrorCode.UNKNOWN_SIGNING_KEY, 'UnknownSigningKey', 'The partner has no key with that kid.');
export const SigningKeyRevoked = errorType(ErrorCode.SIGNING_KEY_REVOKED, 'SigningKeyRevoked', 'The key was revoked.');
export const InvalidSignature = errorType(
  ErrorCode.INVALID_SIGNATURE,
  'InvalidSignature',
  'The signature does not match: tampered, or signed with another key.',
);
export const WrongAudience = errorType(ErrorCode.WRONG_AUDIENCE, 'WrongAudience', 'aud is not this hub.');
export const InstructionExpired = errorType(
  ErrorCode.INSTRUCTION_EXPIRED,
  'InstructionExpired',
  'exp is in the past (beyond the allowed clock skew).',
);
export const InstructionNotYetValid = errorType(
  ErrorCode.INSTRUCTION_NOT_YET_VALID,
  'InstructionNotYetValid',
  'iat or nbf is in the future (beyond the allowed clock skew).',
);
export const PartnerSuspended = errorType(
  ErrorCode.PARTNER_SUSPENDED,
  'PartnerSuspended',
  'The partner is suspended; its signed requests are refused.',
);
export const UnknownMember = errorType(
  ErrorCode.UNKNOWN_MEMBER,
  'UnknownMember',
  'No member with that reference is enrolled at this partner.',
);
export const MemberLinkConflict = errorType(ErrorCode.MEMBER_LINK_CONFLICT, 'MemberLinkConflict', 'The member cannot be linked as asked.');
export const MemberLinkingNotAllowed = errorType(
  ErrorCode.MEMBER_LINKING_NOT_ALLOWED,
  'MemberLinkingNotAllowed',
  'The partner sent an e-mail or phone hash but is not trusted to link members (canLinkMembers); enroll without hashes.',
);
export const PartnerAlreadyExists = errorType(ErrorCode.PARTNER_ALREADY_EXISTS, 'PartnerAlreadyExists', 'A partner with that id exists.');
export const InvalidPartnerKey = errorType(ErrorCode.INVALID_PARTNER_KEY, 'InvalidPartnerKey', 'The JWK is not an acceptable public key.');
export const InvalidInput = errorType(ErrorCode.INVALID_INPUT, 'InvalidInput', 'An input value is out of its allowed range.');
export const SandboxOnly = errorType(
  ErrorCode.SANDBOX_ONLY,
  'SandboxOnly',
  'Test clocks exist only in a hub started in sandbox mode (SANDBOX=true, docs/sandbox.md); this hub is not one.',
);
export const NotFound = errorType(ErrorCode.NOT_FOUND, 'NotFound', 'The thing named does not exist.');
export const HoldNotFound = errorType(ErrorCode.HOLD_NOT_FOUND, 'HoldNotFound', 'The partner has no hold with that id.');
export const TransferNotAllowed = errorType(
  ErrorCode.TRANSFER_NOT_ALLOWED,
  'TransferNotAllowed',
  "The partner's contract does not allow transfers between members.",
);
export const UnknownAsset = errorType(
  ErrorCode.UNKNOWN_ASSET,
  'UnknownAsset',
  "Not CP, nor a partner unit with a rate in force (or not the partner's own unit).",
);
export const InvalidQuote = errorType(
  ErrorCode.INVALID_QUOTE,
  'InvalidQuote',
  'Not a quote this hub signed for this member (tampered, truncated or from elsewhere).',
);
export const ExchangeNotAllowed = errorType(
  ErrorCode.EXCHANGE_NOT_ALLOWED,
  'ExchangeNotAllowed',
  "A member token signed by a partner exchanges only into or out of that partner's own unit.",
);
export const QuoteExpired = errorType(ErrorCode.QUOTE_EXPIRED, 'QuoteExpired', 'The quote has expired; ask for a new one.');
export const EntryNotFound = errorType(ErrorCode.ENTRY_NOT_FOUND, 'EntryNotFound', 'The partner has no issue or redemption with that id.');
export const HoldExpired = errorType(
  ErrorCode.HOLD_EXPIRED,
  'HoldExpired',
  'The hold expired; its points are spendable again. Authorize anew.',
);

@ObjectType({ implements: ErrorResult, description: 'The hold was captured or voided already.' })
export class HoldClosed extends ErrorResult {
  static readonly code = ErrorCode.HOLD_CLOSED;
  @Field() status!: string;
}

@ObjectType({ implements: ErrorResult, description: 'A refund may reverse at most what is left of the original entry.' })
export class ReversalExceedsRemaining extends ErrorResult {
  static readonly code = ErrorCode.REVERSAL_EXCEEDS_REMAINING;
  @Field(() => AmountScalar) remaining!: string;
}

@ObjectType({ implements: ErrorResult, description: 'The points of that issue were spent (or are on hold) and cannot be taken back.' })
export class PointsAlreadySpent extends ErrorResult {
  static readonly code = ErrorCode.POINTS_ALREADY_SPENT;
  @Field(() => AmountScalar, { description: 'How many of them can still be taken back.' }) available!: string;
}

@ObjectType({ implements: ErrorResult, description: 'A capture may take at most the held amount.' })
export class AmountExceedsHold extends ErrorResult {
  static readonly code = ErrorCode.AMOUNT_EXCEEDS_HOLD;
  @Field(() => AmountScalar) held!: string;
  @Field(() => AmountScalar) requested!: string;
}

@ObjectType({
  implements: ErrorResult,
  description: 'A claim is missing, unknown or of the wrong form, or op does not match the mutation.',
})
export class InvalidInstruction extends ErrorResult {
  static readonly code = ErrorCode.INVALID_INSTRUCTION;
  @Field(() => String, { nullable: true, description: 'The offending claim, when there is one.' }) claim!: string | null;
}

@ObjectType({ implements: ErrorResult, description: 'amount is not a string of digits for a whole number in range.' })
export class InvalidAmount extends ErrorResult {
  static readonly code = ErrorCode.INVALID_AMOUNT;
  @Field(() => String, { nullable: true, description: 'What was sent (cut to 40 characters).' }) amount!: string | null;
}

@ObjectType({ implements: ErrorResult, description: 'This jti was already used for a different instruction.' })
export class IdempotencyConflict extends ErrorResult {
  static readonly code = ErrorCode.IDEMPOTENCY_CONFLICT;
  @Field() jti!: string;
}

@ObjectType({ implements: ErrorResult, description: 'The member has fewer spendable points than asked.' })
export class InsufficientBalance extends ErrorResult {
  static readonly code = ErrorCode.INSUFFICIENT_BALANCE;
  @Field(() => AmountScalar) available!: string;
  @Field(() => AmountScalar) requested!: string;
  @Field({ description: 'What available and requested count: CP, or the code of a partner unit.' }) asset!: string;
}

export const StatementNotFound = errorType(
  ErrorCode.STATEMENT_NOT_FOUND,
  'StatementNotFound',
  'The partner has no statement with that id.',
);
export const StatementDigestMismatch = errorType(
  ErrorCode.STATEMENT_DIGEST_MISMATCH,
  'StatementDigestMismatch',
  'The digest signed is not the statement’s: recompute it from the document (statementDigest) and check it (verifyStatement).',
);
export const StatementStatusConflict = errorType(
  ErrorCode.STATEMENT_STATUS_CONFLICT,
  'StatementStatusConflict',
  'The statement is no longer open to that (e.g. acknowledged already).',
);
export const DisputeNotFound = errorType(ErrorCode.DISPUTE_NOT_FOUND, 'DisputeNotFound', 'There is no dispute with that id.');
export const DisputeAlreadyResolved = errorType(
  ErrorCode.DISPUTE_ALREADY_RESOLVED,
  'DisputeAlreadyResolved',
  'The dispute was resolved already; its adjustment stands.',
);

@ObjectType({
  implements: ErrorResult,
  description:
    "The money of the issue (or of an exchange into CP out of the partner's unit) would take the partner past its funding: its prepaid balance, or its post-paid net debit cap.",
})
export class FundingLimitExceeded extends ErrorResult {
  static readonly code = ErrorCode.FUNDING_LIMIT_EXCEEDED;
  @Field(() => AmountScalar, { description: 'What the partner may still commit, in minor units.' }) headroomMinor!: string;
  @Field(() => AmountScalar, { description: 'What this issue needed, in minor units.' }) requiredMinor!: string;
}

@ObjectType({
  implements: ErrorResult,
  description:
    'The partner sent more signed instructions than its rate limit allows. Nothing was written: send the same instruction again after retryAfterSeconds.',
})
export class RateLimited extends ErrorResult {
  static readonly code = ErrorCode.RATE_LIMITED;
  @Field(() => Int, { description: 'Seconds to wait before sending again.' }) retryAfterSeconds!: number;
}

@ObjectType({
  implements: ErrorResult,
  description:
    'The webhook URL is refused: not http(s), carries a user name or password, or names a loopback, private or link-local address.',
})
export class InvalidWebhookUrl extends ErrorResult {
  static readonly code = ErrorCode.INVALID_WEBHOOK_URL;
  @Field({ description: 'Why, in a word: scheme, credentials, private-address, malformed.' }) reason!: string;
}

@ObjectType({ implements: ErrorResult, description: 'Not one of the event types the hub emits (EVENT_TYPES of the partner SDK).' })
export class UnknownEventType extends ErrorResult {
  static readonly code = ErrorCode.UNKNOWN_EVENT_TYPE;
  @Field() eventType!: string;
}

@ObjectType({
  implements: ErrorResult,
  description: 'The batch holds more instructions than one batch may; none of them was looked at. Send them in smaller batches.',
})
export class BatchTooLarge extends ErrorResult {
  static readonly code = ErrorCode.BATCH_TOO_LARGE;
  @Field(() => Int, { description: 'The most instructions one batch may hold.' }) limit!: number;
  @Field(() => Int, { description: 'How many this one held.' }) received!: number;
}

export const RewardNotFound = errorType(
  ErrorCode.REWARD_NOT_FOUND,
  'RewardNotFound',
  'There is no reward with that id (or it was withdrawn).',
);
export const RewardNotAvailable = errorType(
  ErrorCode.REWARD_NOT_AVAILABLE,
  'RewardNotAvailable',
  'The reward cannot be redeemed now: outside its validity window.',
);
export const RewardNotEligible = errorType(
  ErrorCode.REWARD_NOT_ELIGIBLE,
  'RewardNotEligible',
  'The member may not redeem this reward: below its minimum tier, not in its tiers, or not a member of the providing partner (and the reward is not coalition-wide).',
);
export const RewardOutOfStock = errorType(ErrorCode.REWARD_OUT_OF_STOCK, 'RewardOutOfStock', 'The reward has no stock left.');
export const EntitlementNotFound = errorType(
  ErrorCode.ENTITLEMENT_NOT_FOUND,
  'EntitlementNotFound',
  "No entitlement with that code among the calling partner's rewards.",
);
export const EntitlementAlreadyUsed = errorType(
  ErrorCode.ENTITLEMENT_ALREADY_USED,
  'EntitlementAlreadyUsed',
  'The entitlement was used already: a voucher is good once.',
);
export const EntitlementExpired = errorType(ErrorCode.ENTITLEMENT_EXPIRED, 'EntitlementExpired', 'The entitlement has expired.');
export const GrantsNotConfigured = errorType(
  ErrorCode.GRANTS_NOT_CONFIGURED,
  'GrantsNotConfigured',
  'The partner has no grant policy yet; the operator sets one (setGrantPolicy).',
);

@ObjectType({
  implements: ErrorResult,
  description:
    "The grant would take the member past the partner's per-member cap, or the partner past its number of grants, for the month (UTC).",
})
export class GrantCapExceeded extends ErrorResult {
  static readonly code = ErrorCode.GRANT_CAP_EXCEEDED;
  @Field({ description: 'Which cap: member (points per member per month) or period (grants per month).' }) cap!: string;
  @Field({ description: 'The month, YYYY-MM (UTC).' }) period!: string;
  @Field(() => AmountScalar) limit!: string;
  @Field(() => AmountScalar, { description: 'What the month has used of it so far.' }) used!: string;
}

@ObjectType({
  implements: ErrorResult,
  description: "The grant is more than what is left of the partner's grant budget for the month (UTC).",
})
export class GrantBudgetExhausted extends ErrorResult {
  static readonly code = ErrorCode.GRANT_BUDGET_EXHAUSTED;
  @Field({ description: 'The month, YYYY-MM (UTC).' }) period!: string;
  @Field(() => AmountScalar) budget!: string;
  @Field(() => AmountScalar) remaining!: string;
}

export const UnknownReferralCode = errorType(
  ErrorCode.UNKNOWN_REFERRAL_CODE,
  'UnknownReferralCode',
  'No member has that referral code, or the coalition runs no referral programme.',
);
export const SelfReferral = errorType(
  ErrorCode.SELF_REFERRAL,
  'SelfReferral',
  'The referral code is the member’s own (the same member, or the same e-mail or phone hash).',
);
export const CircularReferral = errorType(
  ErrorCode.CIRCULAR_REFERRAL,
  'CircularReferral',
  'The member referred the code’s owner (directly or through others): referrals cannot go round in a circle.',
);
export const ReferralCapReached = errorType(
  ErrorCode.REFERRAL_CAP_REACHED,
  'ReferralCapReached',
  'The code’s owner has referred as many members as the programme allows.',
);
export const ReferralNotEligible = errorType(
  ErrorCode.REFERRAL_NOT_ELIGIBLE,
  'ReferralNotEligible',
  'Only a new member can be referred, once: this one has ledger entries, or was referred by another member.',
);

@ObjectType({ implements: ErrorResult, description: 'A purchase line names a category the partner has not declared (setEarnCategories).' })
export class UnknownCategory extends ErrorResult {
  static readonly code = ErrorCode.UNKNOWN_CATEGORY;
  @Field() category!: string;
}

export const PurchaseNotFound = errorType(
  ErrorCode.PURCHASE_NOT_FOUND,
  'PurchaseNotFound',
  'The partner has no purchase of this member with that orderRef or entryId.',
);

@ObjectType({ implements: ErrorResult, description: 'A return may return at most what is left of the purchase (minor units).' })
export class ReturnExceedsPurchase extends ErrorResult {
  static readonly code = ErrorCode.RETURN_EXCEEDS_PURCHASE;
  @Field(() => AmountScalar) remaining!: string;
}

@ObjectType({
  implements: ErrorResult,
  description:
    'A strict campaign has not enough budget left for this activity; nothing was written. (A campaign that is not strict simply stops applying.)',
})
export class CampaignBudgetExhausted extends ErrorResult {
  static readonly code = ErrorCode.CAMPAIGN_BUDGET_EXHAUSTED;
  @Field(() => ID) campaignId!: string;
}

export const ScopeNotAllowed = errorType(
  ErrorCode.SCOPE_NOT_ALLOWED,
  'ScopeNotAllowed',
  "A partner reads its own KPI figures and the coalition's, never another partner's.",
);

/** Each code's result type; the mapped type checks that every class is filed under its own code. */
const classByCode: { [C in ErrorCode]: ErrorClass<C> } = {
  [ErrorCode.MALFORMED_INSTRUCTION]: MalformedInstruction,
  [ErrorCode.UNSIGNED_INSTRUCTION]: UnsignedInstruction,
  [ErrorCode.ALGORITHM_NOT_ALLOWED]: AlgorithmNotAllowed,
  [ErrorCode.UNKNOWN_PARTNER]: UnknownPartner,
  [ErrorCode.UNKNOWN_SIGNING_KEY]: UnknownSigningKey,
  [ErrorCode.SIGNING_KEY_REVOKED]: SigningKeyRevoked,
  [ErrorCode.INVALID_SIGNATURE]: InvalidSignature,
  [ErrorCode.WRONG_AUDIENCE]: WrongAudience,
  [ErrorCode.INSTRUCTION_EXPIRED]: InstructionExpired,
  [ErrorCode.INSTRUCTION_NOT_YET_VALID]: InstructionNotYetValid,
  [ErrorCode.PARTNER_SUSPENDED]: PartnerSuspended,
  [ErrorCode.INVALID_INSTRUCTION]: InvalidInstruction,
  [ErrorCode.INVALID_AMOUNT]: InvalidAmount,
  [ErrorCode.IDEMPOTENCY_CONFLICT]: IdempotencyConflict,
  [ErrorCode.UNKNOWN_MEMBER]: UnknownMember,
  [ErrorCode.MEMBER_LINK_CONFLICT]: MemberLinkConflict,
  [ErrorCode.MEMBER_LINKING_NOT_ALLOWED]: MemberLinkingNotAllowed,
  [ErrorCode.INSUFFICIENT_BALANCE]: InsufficientBalance,
  [ErrorCode.HOLD_NOT_FOUND]: HoldNotFound,
  [ErrorCode.HOLD_CLOSED]: HoldClosed,
  [ErrorCode.HOLD_EXPIRED]: HoldExpired,
  [ErrorCode.AMOUNT_EXCEEDS_HOLD]: AmountExceedsHold,
  [ErrorCode.ENTRY_NOT_FOUND]: EntryNotFound,
  [ErrorCode.REVERSAL_EXCEEDS_REMAINING]: ReversalExceedsRemaining,
  [ErrorCode.POINTS_ALREADY_SPENT]: PointsAlreadySpent,
  [ErrorCode.TRANSFER_NOT_ALLOWED]: TransferNotAllowed,
  [ErrorCode.UNKNOWN_ASSET]: UnknownAsset,
  [ErrorCode.INVALID_QUOTE]: InvalidQuote,
  [ErrorCode.QUOTE_EXPIRED]: QuoteExpired,
  [ErrorCode.EXCHANGE_NOT_ALLOWED]: ExchangeNotAllowed,
  [ErrorCode.PARTNER_ALREADY_EXISTS]: PartnerAlreadyExists,
  [ErrorCode.INVALID_PARTNER_KEY]: InvalidPartnerKey,
  [ErrorCode.INVALID_INPUT]: InvalidInput,
  [ErrorCode.NOT_FOUND]: NotFound,
  [ErrorCode.STATEMENT_NOT_FOUND]: StatementNotFound,
  [ErrorCode.STATEMENT_DIGEST_MISMATCH]: StatementDigestMismatch,
  [ErrorCode.STATEMENT_STATUS_CONFLICT]: StatementStatusConflict,
  [ErrorCode.DISPUTE_NOT_FOUND]: DisputeNotFound,
  [ErrorCode.DISPUTE_ALREADY_RESOLVED]: DisputeAlreadyResolved,
  [ErrorCode.FUNDING_LIMIT_EXCEEDED]: FundingLimitExceeded,
  [ErrorCode.RATE_LIMITED]: RateLimited,
  [ErrorCode.INVALID_WEBHOOK_URL]: InvalidWebhookUrl,
  [ErrorCode.UNKNOWN_EVENT_TYPE]: UnknownEventType,
  [ErrorCode.BATCH_TOO_LARGE]: BatchTooLarge,
  [ErrorCode.SANDBOX_ONLY]: SandboxOnly,
  [ErrorCode.REWARD_NOT_FOUND]: RewardNotFound,
  [ErrorCode.REWARD_NOT_AVAILABLE]: RewardNotAvailable,
  [ErrorCode.REWARD_NOT_ELIGIBLE]: RewardNotEligible,
  [ErrorCode.REWARD_OUT_OF_STOCK]: RewardOutOfStock,
  [ErrorCode.ENTITLEMENT_NOT_FOUND]: EntitlementNotFound,
  [ErrorCode.ENTITLEMENT_ALREADY_USED]: EntitlementAlreadyUsed,
  [ErrorCode.ENTITLEMENT_EXPIRED]: EntitlementExpired,
  [ErrorCode.GRANTS_NOT_CONFIGURED]: GrantsNotConfigured,
  [ErrorCode.GRANT_CAP_EXCEEDED]: GrantCapExceeded,
  [ErrorCode.GRANT_BUDGET_EXHAUSTED]: GrantBudgetExhausted,
  [ErrorCode.UNKNOWN_REFERRAL_CODE]: UnknownReferralCode,
  [ErrorCode.SELF_REFERRAL]: SelfReferral,
  [ErrorCode.CIRCULAR_REFERRAL]: CircularReferral,
  [ErrorCode.REFERRAL_CAP_REACHED]: ReferralCapReached,
  [ErrorCode.REFERRAL_NOT_ELIGIBLE]: ReferralNotEligible,
  [ErrorCode.UNKNOWN_CATEGORY]: UnknownCategory,
  [ErrorCode.PURCHASE_NOT_FOUND]: PurchaseNotFound,
  [ErrorCode.RETURN_EXCEEDS_PURCHASE]: ReturnExceedsPurchase,
  [ErrorCode.CAMPAIGN_BUDGET_EXHAUSTED]: CampaignBudgetExhausted,
  [ErrorCode.SCOPE_NOT_ALLOWED]: ScopeNotAllowed,
};

/** Every refusal that verifying a signed instruction can produce, shared by all instruction results. */
export const instructionRejections = [
  MalformedInstruction,
  UnsignedInstruction,
  AlgorithmNotAllowed,
  UnknownPartner,
  UnknownSigningKey,
  SigningKeyRevoked,
  InvalidSignature,
  WrongAudience,
  InstructionExpired,
  InstructionNotYetValid,
  PartnerSuspended,
  InvalidInstruction,
  IdempotencyConflict,
  RateLimited,
] as const;

/** Turns a DomainError into its typed result, asserting that the union it goes into can hold it. */
export function toErrorResult(error: DomainError, allowed: readonly ErrorClass[]): ErrorResult {
  const ErrorType: ErrorClass = classByCode[error.code];
  assert(allowed.includes(ErrorType), `${error.code} is not a member of this result union`);
  return Object.assign(new ErrorType(), { errorCode: error.code, message: error.message }, error.details);
}

/** True when A and B are the same type (not merely assignable one way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** What is wrong when a failure list and an op's codes differ, spelled out in the compiler's message. */
interface FailuresMismatch<Missing, NeverReturned> {
  /** Codes the op can return that the list has no result type for (each would be a 500). */
  missingFromUnion: Missing;
  /** Result types in the list for codes the op never returns. */
  notReturnedByOp: NeverReturned;
}

/**
 * The failure types of `op`'s GraphQL result union. The list must stand for exactly the codes of
 * OP_ERRORS[op] (src/common/op-errors.ts): a missing or extra type fails the type check (and,
 * should the types be bypassed, this function at start-up).
 */
export function failuresOf<O extends OpName, const F extends readonly ErrorClass[]>(
  op: O,
  failures: F &
    (Equal<CodesOf<F>, OpCode<O>> extends true
      ? unknown
      : FailuresMismatch<Exclude<OpCode<O>, CodesOf<F>>, Exclude<CodesOf<F>, OpCode<O>>>),
): F {
  const listed = new Set<ErrorCode>(failures.map((type) => type.code));
  const declared = new Set<ErrorCode>(OP_ERRORS[op]);
  assert(
    listed.size === declared.size && [...listed].every((code) => declared.has(code)),
    `the failures of ${op} are not the codes of OP_ERRORS.${op}`,
  );
  return failures;
}
