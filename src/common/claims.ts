/**
 * What a partner's signed instruction says, once parsed and checked (src/instructions/instruction-claims.ts
 * parses them): the input of every operation. Plain types at the bottom layer so that the services that
 * carry out an operation need not import the instruction pipeline above them (docs/architecture.md, "Layers").
 */
export interface EnrollClaims {
  op: 'enroll';
  jti: string;
  member: string;
  emailHash: string | null;
  phoneHash: string | null;
  /** Another member's referral code (docs/grants-and-referrals.md). */
  referralCode: string | null;
}

export interface MovementClaims {
  op: 'issue' | 'redeem';
  jti: string;
  member: string;
  /** CP, or the signing partner's own unit. */
  asset: string;
  amount: bigint;
  /** Issue: credit amount × the partner's multiplier for the member's tier. */
  applyTierMultiplier: boolean;
  orderRef: string | null;
  occurredAt: Date;
}

export interface AuthorizeClaims {
  op: 'authorize';
  jti: string;
  member: string;
  amount: bigint;
  orderRef: string | null;
  holdSeconds: number;
}

export interface CaptureClaims {
  op: 'capture';
  jti: string;
  hold: string;
  amount: bigint;
  orderRef: string | null;
}

export interface VoidClaims {
  op: 'void';
  jti: string;
  hold: string;
}

export interface ReverseClaims {
  op: 'reverse';
  jti: string;
  entry: string;
  amount: bigint;
  orderRef: string | null;
}

export interface TransferClaims {
  op: 'transfer';
  jti: string;
  member: string;
  to: string;
  amount: bigint;
  orderRef: string | null;
}

export interface AcknowledgeClaims {
  op: 'acknowledge';
  jti: string;
  statement: string;
  digest: string;
}

export interface DisputeClaims {
  op: 'dispute';
  jti: string;
  statement: string;
  digest: string;
  /** Distinct, ascending. */
  lines: bigint[];
  reason: string;
}

/** A partner redeems a catalogue reward on its member's behalf (docs/rewards.md). */
export interface RedeemRewardClaims {
  op: 'redeem_reward';
  jti: string;
  /** The signing partner's reference for the member. */
  member: string;
  /** The reward's id. */
  reward: string;
  orderRef: string | null;
}

/** The providing partner marks an entitlement used, by its voucher code. */
export interface UseEntitlementClaims {
  op: 'use_entitlement';
  jti: string;
  code: string;
}

/** Points granted with a reason (docs/grants-and-referrals.md). */
export interface GrantClaims {
  op: 'grant';
  jti: string;
  member: string;
  amount: bigint;
  kind: 'compensation' | 'surprise_and_delight';
  reasonCode: 'late_delivery' | 'damaged_item' | 'service_failure' | 'goodwill' | 'other';
  /** Required for compensation. */
  caseReference: string | null;
  note: string | null;
}

/** One line of a purchase basket (docs/loyalty-engine.md). */
export interface ActivityLineClaims {
  category: string | null;
  sku: string | null;
  quantity: bigint;
  /** The line's value in minor units. */
  amount: bigint;
}

/** A signed activity: a purchase, a return of an earlier purchase, or a non-purchase action (docs/loyalty-engine.md). */
export interface ActivityClaims {
  op: 'activity';
  jti: string;
  member: string;
  activity: 'purchase' | 'return' | 'action';
  occurredAt: Date;
  orderRef: string | null;
  channel: string | null;
  store: string | null;
  /** Purchase: the basket total in minor units, its currency and its lines. */
  total: bigint | null;
  currency: string | null;
  lines: ActivityLineClaims[];
  /** Return: the purchase returned (its orderRef, or its entryId), and the value returned in minor units. */
  purchase: string | null;
  entry: string | null;
  amount: bigint | null;
  /** Action: which one. */
  action: 'signup' | 'profile_completed' | 'review' | 'referral_qualified' | 'engagement' | null;
}

export type InstructionClaims =
  | EnrollClaims
  | MovementClaims
  | AuthorizeClaims
  | CaptureClaims
  | VoidClaims
  | ReverseClaims
  | TransferClaims
  | AcknowledgeClaims
  | DisputeClaims
  | RedeemRewardClaims
  | UseEntitlementClaims
  | GrantClaims
  | ActivityClaims;

/** The claims of one op: `ClaimsOf<'issue'>` is MovementClaims with op 'issue'. */
export type ClaimsOf<O extends InstructionClaims['op']> = InstructionClaims extends infer C
  ? C extends { op: infer P }
    ? O extends P
      ? C & { op: O }
      : never
    : never
  : never;
