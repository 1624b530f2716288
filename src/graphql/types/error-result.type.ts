import { Field, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { assert } from '../../common/assert';
import { DomainError, ErrorCode } from '../../common/errors';
import { AmountScalar } from '../scalars';

registerEnumType(ErrorCode, { name: 'ErrorCode', description: 'Why an operation was refused. Nothing was written.' });

@InterfaceType({ description: 'An expected failure. When a mutation returns one, nothing was written.' })
export abstract class ErrorResult {
  @Field(() => ErrorCode) errorCode!: ErrorCode;
  @Field() message!: string;
}

type ErrorClass = new () => ErrorResult;

function errorType(name: string, description: string): ErrorClass {
  @ObjectType(name, { implements: ErrorResult, description })
  class Named extends ErrorResult {}
  // The class answers to its GraphQL name (logs and metrics read constructor.name).
  Object.defineProperty(Named, 'name', { value: name });
  return Named;
}

export const MalformedInstruction = errorType('MalformedInstruction', 'Not a compact JWS of the right type and shape.');
export const UnsignedInstruction = errorType('UnsignedInstruction', 'The JWS has no signature (alg "none" or an empty signature).');
export const AlgorithmNotAllowed = errorType(
  'AlgorithmNotAllowed',
  'The algorithm is not EdDSA or ES256, or not the one the key is registered for.',
);
export const UnknownPartner = errorType('UnknownPartner', 'No partner with that iss is registered.');
export const UnknownSigningKey = errorType('UnknownSigningKey', 'The partner has no key with that kid.');
export const SigningKeyRevoked = errorType('SigningKeyRevoked', 'The key was revoked.');
export const InvalidSignature = errorType('InvalidSignature', 'The signature does not match: tampered, or signed with another key.');
export const WrongAudience = errorType('WrongAudience', 'aud is not this hub.');
export const InstructionExpired = errorType('InstructionExpired', 'exp is in the past (beyond the allowed clock skew).');
export const InstructionNotYetValid = errorType('InstructionNotYetValid', 'iat or nbf is in the future (beyond the allowed clock skew).');
export const PartnerSuspended = errorType('PartnerSuspended', 'The partner is suspended; its signed requests are refused.');
export const UnknownMember = errorType('UnknownMember', 'No member with that reference is enrolled at this partner.');
export const MemberLinkConflict = errorType('MemberLinkConflict', 'The member cannot be linked as asked.');
export const MemberLinkingNotAllowed = errorType(
  'MemberLinkingNotAllowed',
  'The partner sent an e-mail or phone hash but is not trusted to link members (canLinkMembers); enroll without hashes.',
);
export const PartnerAlreadyExists = errorType('PartnerAlreadyExists', 'A partner with that id exists.');
export const InvalidPartnerKey = errorType('InvalidPartnerKey', 'The JWK is not an acceptable public key.');
export const InvalidInput = errorType('InvalidInput', 'An input value is out of its allowed range.');
export const NotFound = errorType('NotFound', 'The thing named does not exist.');
export const HoldNotFound = errorType('HoldNotFound', 'The partner has no hold with that id.');
export const TransferNotAllowed = errorType('TransferNotAllowed', "The partner's contract does not allow transfers between members.");
export const UnknownAsset = errorType('UnknownAsset', "Not CP, nor a partner unit with a rate in force (or not the partner's own unit).");
export const InvalidQuote = errorType(
  'InvalidQuote',
  'Not a quote this hub signed for this member (tampered, truncated or from elsewhere).',
);
export const ExchangeNotAllowed = errorType(
  'ExchangeNotAllowed',
  "A member token signed by a partner exchanges only into or out of that partner's own unit.",
);
export const QuoteExpired = errorType('QuoteExpired', 'The quote has expired; ask for a new one.');
export const EntryNotFound = errorType('EntryNotFound', 'The partner has no issue or redemption with that id.');
export const HoldExpired = errorType('HoldExpired', 'The hold expired; its points are spendable again. Authorize anew.');

@ObjectType({ implements: ErrorResult, description: 'The hold was captured or voided already.' })
export class HoldClosed extends ErrorResult {
  @Field() status!: string;
}

@ObjectType({ implements: ErrorResult, description: 'A refund may reverse at most what is left of the original entry.' })
export class ReversalExceedsRemaining extends ErrorResult {
  @Field(() => AmountScalar) remaining!: string;
}

@ObjectType({ implements: ErrorResult, description: 'The points of that issue were spent (or are on hold) and cannot be taken back.' })
export class PointsAlreadySpent extends ErrorResult {
  @Field(() => AmountScalar, { description: 'How many of them can still be taken back.' }) available!: string;
}

@ObjectType({ implements: ErrorResult, description: 'A capture may take at most the held amount.' })
export class AmountExceedsHold extends ErrorResult {
  @Field(() => AmountScalar) held!: string;
  @Field(() => AmountScalar) requested!: string;
}

@ObjectType({
  implements: ErrorResult,
  description: 'A claim is missing, unknown or of the wrong form, or op does not match the mutation.',
})
export class InvalidInstruction extends ErrorResult {
  @Field(() => String, { nullable: true, description: 'The offending claim, when there is one.' }) claim!: string | null;
}

@ObjectType({ implements: ErrorResult, description: 'amount is not a string of digits for a whole number in range.' })
export class InvalidAmount extends ErrorResult {
  @Field(() => String, { nullable: true, description: 'What was sent (cut to 40 characters).' }) amount!: string | null;
}

@ObjectType({ implements: ErrorResult, description: 'This jti was already used for a different instruction.' })
export class IdempotencyConflict extends ErrorResult {
  @Field() jti!: string;
}

@ObjectType({ implements: ErrorResult, description: 'The member has fewer spendable points than asked.' })
export class InsufficientBalance extends ErrorResult {
  @Field(() => AmountScalar) available!: string;
  @Field(() => AmountScalar) requested!: string;
  @Field({ description: 'What available and requested count: CP, or the code of a partner unit.' }) asset!: string;
}

/** The one place where domain error codes become GraphQL types; `Record` makes it exhaustive. */
export const StatementNotFound = errorType('StatementNotFound', 'The partner has no statement with that id.');
export const StatementDigestMismatch = errorType(
  'StatementDigestMismatch',
  'The digest signed is not the statement’s: recompute it from the document (statementDigest) and check it (verifyStatement).',
);
export const StatementStatusConflict = errorType(
  'StatementStatusConflict',
  'The statement is no longer open to that (e.g. acknowledged already).',
);
export const DisputeNotFound = errorType('DisputeNotFound', 'There is no dispute with that id.');
export const DisputeAlreadyResolved = errorType('DisputeAlreadyResolved', 'The dispute was resolved already; its adjustment stands.');

@ObjectType({
  implements: ErrorResult,
  description: "The issue's money would take the partner past its funding: its prepaid balance, or its post-paid net debit cap.",
})
export class FundingLimitExceeded extends ErrorResult {
  @Field(() => AmountScalar, { description: 'What the partner may still commit, in minor units.' }) headroomMinor!: string;
  @Field(() => AmountScalar, { description: 'What this issue needed, in minor units.' }) requiredMinor!: string;
}

@ObjectType({
  implements: ErrorResult,
  description:
    'The partner sent more signed instructions than its rate limit allows. Nothing was written: send the same instruction again after retryAfterSeconds.',
})
export class RateLimited extends ErrorResult {
  @Field(() => Int, { description: 'Seconds to wait before sending again.' }) retryAfterSeconds!: number;
}

@ObjectType({
  implements: ErrorResult,
  description:
    'The webhook URL is refused: not http(s), carries a user name or password, or names a loopback, private or link-local address.',
})
export class InvalidWebhookUrl extends ErrorResult {
  @Field({ description: 'Why, in a word: scheme, credentials, private-address, malformed.' }) reason!: string;
}

@ObjectType({ implements: ErrorResult, description: 'Not one of the event types the hub emits (EVENT_TYPES of the partner SDK).' })
export class UnknownEventType extends ErrorResult {
  @Field() eventType!: string;
}

const classByCode: Record<ErrorCode, ErrorClass> = {
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
  const ErrorType = classByCode[error.code];
  assert(allowed.includes(ErrorType), `${error.code} is not a member of this result union`);
  return Object.assign(new ErrorType(), { errorCode: error.code, message: error.message }, error.details);
}
