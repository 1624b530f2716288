/**
 * Every GraphQL document the SDK sends, with the TypeScript shape of what it selects. Kept in one
 * place so that a schema change means editing one file. Each mutation aliases its field to
 * `result`, so that the client can read all three the same way.
 */
import type { Op } from './protocol';

// Every signed mutation's result may be RateLimited: the wait comes with it.
const ERROR_RESULT = '... on ErrorResult { errorCode message } ... on RateLimited { retryAfterSeconds }';
const REDEEM_RECEIPT = `... on RedeemReceipt {
      jti entryId memberId asset amount balance receipt replayed recordedAt
      consumed { issuerPartnerId amount }
    }`;
const REWARD_RECEIPT = `... on RewardRedemptionReceipt {
      jti entryId memberId amount balance receipt replayed recordedAt
      consumed { issuerPartnerId amount }
      entitlement { id code rewardId partnerId status expiresAt }
    }`;
const ENTITLEMENT_RECEIPT = `... on EntitlementUseReceipt {
      jti memberId receipt replayed
      entitlement { id code rewardId partnerId status expiresAt usedAt }
    }`;
const HOLD_RECEIPT = '... on HoldReceipt { jti holdId memberId amount status expiresAt available receipt replayed }';

const activityReceipt = (entryId: string, reversesEntryId: string) => `... on ActivityReceipt {
      jti activityId activity ${entryId} memberId amount balance receipt replayed recordedAt ${reversesEntryId} notes
      contributions { source sourceId version points reason fundingPartnerId }
      stamps { cardId name stamps stampsNow stampsRequired completed rewardEntryId rewardPoints reason }
    }`;
const ACTIVITY_RECEIPT = activityReceipt('entryId', 'reversesEntryId');
/** In a batch an activity's entryId and reversesEntryId (null when no points moved) are aliased: other receipts have them non-null. */
const BATCH_ACTIVITY_RECEIPT = activityReceipt('activityEntryId: entryId', 'activityReversesEntryId: reversesEntryId');

export const MUTATIONS: Record<Op, string> = {
  activity: `mutation SubmitActivity($instruction: String!) {
  result: submitActivity(instruction: $instruction) {
    __typename
    ${ACTIVITY_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  enroll: `mutation EnrollMember($instruction: String!) {
  result: enrollMember(instruction: $instruction) {
    __typename
    ... on EnrollReceipt { jti memberId memberRef linkedExisting receipt replayed }
    ${ERROR_RESULT}
  }
}`,
  issue: `mutation IssuePoints($instruction: String!) {
  result: issuePoints(instruction: $instruction) {
    __typename
    ... on IssueReceipt { jti entryId memberId asset amount balance receipt replayed recordedAt }
    ${ERROR_RESULT}
  }
}`,
  redeem: `mutation RedeemPoints($instruction: String!) {
  result: redeemPoints(instruction: $instruction) {
    __typename
    ${REDEEM_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  authorize: `mutation AuthorizeRedemption($instruction: String!) {
  result: authorizeRedemption(instruction: $instruction) {
    __typename
    ${HOLD_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  capture: `mutation CaptureRedemption($instruction: String!) {
  result: captureRedemption(instruction: $instruction) {
    __typename
    ${REDEEM_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  reverse: `mutation ReversePoints($instruction: String!) {
  result: reversePoints(instruction: $instruction) {
    __typename
    ... on ReversalReceipt { jti entryId memberId amount balance receipt replayed recordedAt reversesEntryId }
    ${ERROR_RESULT}
  }
}`,
  transfer: `mutation TransferPoints($instruction: String!) {
  result: transferPoints(instruction: $instruction) {
    __typename
    ... on TransferReceipt {
      jti entryId memberId amount balance receipt replayed recordedAt toMemberId
      moved { issuerPartnerId amount }
    }
    ${ERROR_RESULT}
  }
}`,
  acknowledge: `mutation AcknowledgeStatement($instruction: String!) {
  result: acknowledgeStatement(instruction: $instruction) {
    __typename
    ... on AcknowledgementReceipt { jti statementId digest status receipt replayed }
    ${ERROR_RESULT}
  }
}`,
  dispute: `mutation DisputeStatement($instruction: String!) {
  result: disputeStatement(instruction: $instruction) {
    __typename
    ... on DisputeReceipt { jti disputeId statementId digest lines status receipt replayed }
    ${ERROR_RESULT}
  }
}`,
  void: `mutation VoidRedemption($instruction: String!) {
  result: voidRedemption(instruction: $instruction) {
    __typename
    ${HOLD_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  redeem_reward: `mutation RedeemRewardForMember($instruction: String!) {
  result: redeemRewardForMember(instruction: $instruction) {
    __typename
    ${REWARD_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  use_entitlement: `mutation UseEntitlement($instruction: String!) {
  result: useEntitlement(instruction: $instruction) {
    __typename
    ${ENTITLEMENT_RECEIPT}
    ${ERROR_RESULT}
  }
}`,
  grant: `mutation GrantPoints($instruction: String!) {
  result: grantPoints(instruction: $instruction) {
    __typename
    ... on GrantReceipt { jti entryId memberId asset amount balance receipt replayed recordedAt kind reasonCode caseReference }
    ${ERROR_RESULT}
  }
}`,
};

/**
 * A batch of signed instructions. Each item's result is its op's receipt type or one of its
 * error types, selected with the same fields as the single mutations above (a statement's
 * `status` is aliased, as a hold's has another type in the same selection, and so are an activity's
 * nullable entryId and reversesEntryId; the client renames them back).
 */
export const BATCH_MUTATION = `mutation SubmitInstructions($instructions: [String!]!) {
  result: submitInstructions(instructions: $instructions) {
    __typename
    ... on InstructionBatch {
      results {
        index jti op
        result {
          __typename
          ... on EnrollReceipt { jti memberId memberRef linkedExisting receipt replayed }
          ... on IssueReceipt { jti entryId memberId asset amount balance receipt replayed recordedAt }
          ${REDEEM_RECEIPT}
          ${HOLD_RECEIPT}
          ... on ReversalReceipt { jti entryId memberId amount balance receipt replayed recordedAt reversesEntryId }
          ... on TransferReceipt {
            jti entryId memberId amount balance receipt replayed recordedAt toMemberId
            moved { issuerPartnerId amount }
          }
          ... on AcknowledgementReceipt { jti statementId digest statementStatus: status receipt replayed }
          ... on DisputeReceipt { jti disputeId statementId digest lines statementStatus: status receipt replayed }
          ${REWARD_RECEIPT}
          ${ENTITLEMENT_RECEIPT}
          ... on GrantReceipt { jti entryId memberId asset amount balance receipt replayed recordedAt kind reasonCode caseReference }
          ${BATCH_ACTIVITY_RECEIPT}
          ${ERROR_RESULT}
        }
      }
    }
    ... on BatchTooLarge { errorCode message limit received }
  }
}`;

/** The `__typename` of the success member of each mutation's result union. */
export const SUCCESS_TYPENAME = {
  enroll: 'EnrollReceipt',
  issue: 'IssueReceipt',
  redeem: 'RedeemReceipt',
  authorize: 'HoldReceipt',
  capture: 'RedeemReceipt',
  void: 'HoldReceipt',
  reverse: 'ReversalReceipt',
  transfer: 'TransferReceipt',
  acknowledge: 'AcknowledgementReceipt',
  dispute: 'DisputeReceipt',
  redeem_reward: 'RewardRedemptionReceipt',
  use_entitlement: 'EntitlementUseReceipt',
  grant: 'GrantReceipt',
  activity: 'ActivityReceipt',
} as const satisfies Record<Op, string>;

export const INSTRUCTION_RECEIPT_QUERY = `query InstructionReceipt($jti: String!) {
  instructionReceipt(jti: $jti) { jti op entryId receipt receivedAt }
}`;

export interface EnrollReceiptData {
  __typename: 'EnrollReceipt';
  jti: string;
  memberId: string;
  memberRef: string;
  /** True when the hashes matched a member already known through another partner. */
  linkedExisting: boolean;
  /** The signed receipt (compact JWS); the SDK has verified it. */
  receipt: string;
  /** True when this jti had been accepted before and this is the original outcome again. */
  replayed: boolean;
}

export interface IssueReceiptData {
  __typename: 'IssueReceipt';
  jti: string;
  entryId: string;
  memberId: string;
  /** CP, or the partner's own unit. (Absent on reversal and transfer receipts.) */
  asset?: string;
  amount: string;
  balance: string;
  receipt: string;
  replayed: boolean;
  recordedAt: string;
}

export interface ConsumedLot {
  /** Whose points were spent: redemption draws on points issued by (possibly other) partners. */
  issuerPartnerId: string;
  amount: string;
}

export interface RedeemReceiptData extends Omit<IssueReceiptData, '__typename'> {
  __typename: 'RedeemReceipt';
  consumed: ConsumedLot[];
}

export interface HoldReceiptData {
  __typename: 'HoldReceipt';
  jti: string;
  holdId: string;
  memberId: string;
  /** The amount held. */
  amount: string;
  /** pending after authorize, voided after void. */
  status: string;
  expiresAt: string;
  /** The member's spendable balance right after (balance minus every active hold). */
  available: string;
  receipt: string;
  replayed: boolean;
}

export interface ReceiptDataByOp {
  enroll: EnrollReceiptData;
  issue: IssueReceiptData;
  redeem: RedeemReceiptData;
  authorize: HoldReceiptData;
  capture: RedeemReceiptData;
  void: HoldReceiptData;
  reverse: ReversalReceiptData;
  transfer: TransferReceiptData;
  acknowledge: AcknowledgementReceiptData;
  dispute: DisputeReceiptData;
  redeem_reward: RewardRedemptionReceiptData;
  use_entitlement: EntitlementUseReceiptData;
  grant: GrantReceiptData;
  activity: ActivityReceiptData;
}

/** An entitlement to a catalogue reward (docs/rewards.md): the voucher code the member shows the providing partner. */
export interface EntitlementData {
  id: string;
  code: string;
  rewardId: string;
  /** The providing partner. */
  partnerId: string;
  /** issued, used, expired or refunded. */
  status: string;
  expiresAt: string;
  usedAt?: string | null;
}

export interface RewardRedemptionReceiptData extends Omit<RedeemReceiptData, '__typename' | 'asset'> {
  __typename: 'RewardRedemptionReceipt';
  entitlement: EntitlementData;
}

export interface EntitlementUseReceiptData {
  __typename: 'EntitlementUseReceipt';
  jti: string;
  memberId: string;
  receipt: string;
  replayed: boolean;
  entitlement: EntitlementData;
}

/** Points granted with a reason (op "grant"). */
export interface GrantReceiptData extends Omit<IssueReceiptData, '__typename'> {
  __typename: 'GrantReceipt';
  kind: string;
  reasonCode: string;
  caseReference?: string | null;
}

/** One rule, tier or campaign that contributed to an activity's points, and why. */
export interface ActivityContributionData {
  /** rule, tier or campaign. */
  source: string;
  sourceId: string;
  version: number;
  points: string;
  reason: string;
  fundingPartnerId: string;
}

/** A stamp card an activity moved (docs/stamp-cards.md): its stamps, and the reward when it completed. */
export interface ActivityStampsData {
  cardId: string;
  name: string;
  /** Stamps added (a return: taken back, negative). */
  stamps: string;
  /** Stamps on the card now, toward the next completion. */
  stampsNow: string;
  stampsRequired: number;
  /** Cards completed by this activity. */
  completed: string;
  /** The reward's entry (bonus points from the partner), when the card completed. */
  rewardEntryId: string | null;
  rewardPoints: string | null;
  reason: string;
}

export interface ActivityReceiptData {
  __typename: 'ActivityReceipt';
  jti: string;
  activityId: string;
  activity: string;
  /** Null when the activity moved no points. */
  entryId: string | null;
  memberId: string;
  amount: string;
  balance: string;
  receipt: string;
  replayed: boolean;
  recordedAt: string;
  /** A return: the purchase's entry. */
  reversesEntryId: string | null;
  notes: string[];
  contributions: ActivityContributionData[];
  /** Stamp cards this activity moved. */
  stamps: ActivityStampsData[];
}

/** A settlement statement acknowledged: the hub keeps your signed instruction as your acknowledgement. */
export interface AcknowledgementReceiptData {
  __typename: 'AcknowledgementReceipt';
  jti: string;
  statementId: string;
  digest: string;
  status: string;
  receipt: string;
  replayed: boolean;
}

export interface DisputeReceiptData {
  __typename: 'DisputeReceipt';
  jti: string;
  disputeId: string;
  statementId: string;
  digest: string;
  lines: string[];
  status: string;
  receipt: string;
  replayed: boolean;
}

export interface TransferReceiptData extends Omit<IssueReceiptData, '__typename'> {
  __typename: 'TransferReceipt';
  /** The recipient. `memberId` and `balance` are the sender's. */
  toMemberId: string;
  /** Whose points moved (lots keep their issuer and expiry). */
  moved: ConsumedLot[];
}

export interface ReversalReceiptData extends Omit<IssueReceiptData, '__typename'> {
  __typename: 'ReversalReceipt';
  /** The issue or redemption this entry reverses. */
  reversesEntryId: string;
}

/** A failure member of a mutation's result union (implements ErrorResult). */
export interface ErrorResultData {
  __typename: string;
  errorCode: string;
  message: string;
}

export interface MutationResponse {
  result: { __typename?: unknown; [field: string]: unknown } | null;
}

export interface InstructionReceiptData {
  jti: string;
  op: string;
  /** Null for instructions that create no ledger entry (enroll). */
  entryId: string | null;
  receipt: string;
  receivedAt: string;
}

export interface InstructionReceiptResponse {
  instructionReceipt: InstructionReceiptData | null;
}

/** The event feed (docs/events.md, "The feed"): a page of the partner's events in commit order. */
export const EVENTS_QUERY = `query Events($after: String, $first: Int!, $types: [EventType!]) {
  events(after: $after, first: $first, types: $types) {
    edges { node { id type version occurredAt partnerId memberId data } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export interface EventsResponse {
  events: {
    edges: Array<{
      node: {
        id: string;
        type: string;
        version: number;
        occurredAt: string;
        partnerId: string;
        memberId: string | null;
        data: Record<string, unknown>;
      };
    }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** One item of a batch as the hub answers it (`result` null: an internal error of that item alone). */
export interface BatchItemData {
  index: number;
  jti: string | null;
  op: string | null;
  result: MutationResponse['result'] | null;
}

export interface BatchResponse {
  result:
    | { __typename: 'InstructionBatch'; results: BatchItemData[] }
    | { __typename: 'BatchTooLarge'; errorCode: string; message: string; limit: number; received: number };
}
