/**
 * The per-operation fields of an instruction, checked and normalised before signing: a signed
 * instruction the hub is bound to reject only costs a round trip and an idempotency key.
 * Bad values throw TypeError.
 */
import {
  DISPUTE_LINES_MAX,
  DISPUTE_REASON_LENGTH_MAX,
  ENTITLEMENT_CODE_PATTERN,
  GRANT_KINDS,
  GRANT_NOTE_LENGTH_MAX,
  GRANT_REASON_CODES,
  type GrantKind,
  type GrantReasonCode,
  HOLD_SECONDS_MAX,
  HOLD_SECONDS_MIN,
  OCCURRED_AT_PATTERN,
  REFERENCE_LENGTH_MAX,
  REFERENCE_PATTERN,
  UUID_PATTERN,
  type Op,
} from './protocol';

/** Amounts are whole coalition points. Never a JS number: those silently lose precision above 2^53. */
export type Amount = bigint | string;

export interface EnrollFields {
  /** The partner's own reference for the member (customer number, account id). */
  member: string;
  /** hashEmail(...) of the member's address, to link them to the same person at other partners. */
  emailHash?: string;
  /** hashPhone(...) of the member's phone number. */
  phoneHash?: string;
  /** Another member's referral code (`me { referralCode }`): links this new member to the one who referred them. */
  referralCode?: string;
}

export interface PointsFields {
  member: string;
  /** Positive whole number of points, as a bigint or a string of decimal digits. */
  amount: Amount;
  /** The partner's order/transaction reference, for reconciliation. */
  orderRef?: string;
  /** When the purchase happened (ISO-8601 with a time zone, or a Date), if not now. */
  occurredAt?: string | Date;
  /** CP (the default), or the partner's own program unit, e.g. "ACME.STARS". */
  asset?: string;
  /** Issue only: credit amount × this partner's multiplier for the member's coalition tier. */
  applyTierMultiplier?: boolean;
}

/** Two-phase redemption, step 1: hold points (not spendable elsewhere) until captured, voided or expired. */
export interface AuthorizeFields {
  member: string;
  amount: Amount;
  orderRef?: string;
  /** How long the hold lasts; default 900 s, 60 s to 7 days. */
  holdSeconds?: number;
}

/** Step 2: redeem up to the held amount, once; the rest of the hold is released. */
export interface CaptureFields {
  /** The holdId from the authorize receipt. */
  hold: string;
  amount: Amount;
  orderRef?: string;
}

/** Or: release the whole hold. */
export interface VoidFields {
  hold: string;
}

/** A refund: reverse (part of) one of this partner's earlier issues or redemptions. */
export interface ReverseFields {
  /** The entryId of the issue or redemption receipt. */
  entry: string;
  amount: Amount;
  orderRef?: string;
}

/** A gift or family pooling: points move from one of this partner's members to another, lots and all. */
export interface TransferFields {
  /** The sender (the partner's reference). */
  member: string;
  /** The recipient (the partner's reference). */
  to: string;
  amount: Amount;
  orderRef?: string;
}

/** Acknowledge a settlement statement: you sign its digest, as the hub did (non-repudiation both ways). */
export interface AcknowledgeFields {
  statement: string;
  /** The statement's digest, as you computed it (statementDigest) from the document you checked. */
  digest: string;
}

/** Dispute lines of a settlement statement; finance resolves it with an adjustment in the next period. */
export interface DisputeFields {
  statement: string;
  digest: string;
  /** Line numbers (1-based, as in the statement). */
  lines: ReadonlyArray<string | number | bigint>;
  reason: string;
}

/** Redeem a catalogue reward on your member's behalf (docs/rewards.md). */
export interface RedeemRewardFields {
  member: string;
  /** The reward's id (from the `rewards` list). */
  reward: string;
  orderRef?: string;
}

/** Mark an entitlement of one of your rewards used, by its voucher code. */
export interface UseEntitlementFields {
  code: string;
}

/** Points granted with a reason: compensation (with a case reference) or a surprise-and-delight bonus. */
export interface GrantFields {
  member: string;
  amount: Amount;
  kind: GrantKind;
  reasonCode: GrantReasonCode;
  /** The partner's case or complaint reference; required for compensation. */
  caseReference?: string;
  /** Free text for the partner's own records (up to 500 characters). */
  note?: string;
}

/** One line of a purchase basket. */
export interface ActivityLine {
  category?: string;
  sku?: string;
  /** Whole units, default 1. */
  quantity?: number | bigint | string;
  /** The line's value in minor units (e.g. cents). */
  amount: Amount;
}

/** What a member did at the partner (docs/loyalty-engine.md): the hub evaluates the partner's rules and campaigns. */
export type ActivityFields =
  | {
      activity: 'purchase';
      member: string;
      /** The basket total in minor units (e.g. cents); 0 allowed. */
      total: Amount;
      /** ISO 4217, the partner's settlement currency. */
      currency: string;
      lines?: readonly ActivityLine[];
      channel?: string;
      store?: string;
      /** The partner's order reference: a return names the purchase by it. */
      orderRef?: string;
      occurredAt?: string | Date;
    }
  | {
      activity: 'return';
      member: string;
      /** The purchase returned: its orderRef, or `entry`, its entryId. */
      purchase?: string;
      entry?: string;
      /** The value returned, minor units (partial returns allowed). */
      amount: Amount;
      channel?: string;
      store?: string;
      orderRef?: string;
      occurredAt?: string | Date;
    }
  | {
      activity: 'action';
      member: string;
      action: 'signup' | 'profile_completed' | 'review' | 'referral_qualified' | 'engagement';
      channel?: string;
      store?: string;
      orderRef?: string;
      occurredAt?: string | Date;
    };

export interface FieldsByOp {
  enroll: EnrollFields;
  issue: PointsFields;
  redeem: PointsFields;
  authorize: AuthorizeFields;
  capture: CaptureFields;
  void: VoidFields;
  reverse: ReverseFields;
  transfer: TransferFields;
  acknowledge: AcknowledgeFields;
  dispute: DisputeFields;
  redeem_reward: RedeemRewardFields;
  use_entitlement: UseEntitlementFields;
  grant: GrantFields;
  activity: ActivityFields;
}

/** The op fields as they appear in the signed claims. */
export interface EnrollClaimsFields {
  member: string;
  emailHash?: string;
  phoneHash?: string;
  referralCode?: string;
}

export interface GrantClaimsFields {
  member: string;
  amount: string;
  kind: GrantKind;
  reasonCode: GrantReasonCode;
  caseReference?: string;
  note?: string;
}

export interface PointsClaimsFields {
  member: string;
  amount: string;
  orderRef?: string;
  occurredAt?: string;
  asset?: string;
  applyTierMultiplier?: boolean;
}

export interface AuthorizeClaimsFields {
  member: string;
  amount: string;
  orderRef?: string;
  holdSeconds?: number;
}

export interface CaptureClaimsFields {
  hold: string;
  amount: string;
  orderRef?: string;
}

export interface VoidClaimsFields {
  hold: string;
}

export interface ReverseClaimsFields {
  entry: string;
  amount: string;
  orderRef?: string;
}

export interface TransferClaimsFields {
  member: string;
  to: string;
  amount: string;
  orderRef?: string;
}

export interface AcknowledgeClaimsFields {
  statement: string;
  digest: string;
}

export interface DisputeClaimsFields {
  statement: string;
  digest: string;
  /** Distinct line numbers in ascending order, as decimal strings. */
  lines: string[];
  reason: string;
}

export interface ActivityClaimsFields {
  activity: 'purchase' | 'return' | 'action';
  member: string;
  total?: string;
  currency?: string;
  lines?: Array<{ category?: string; sku?: string; quantity: string; amount: string }>;
  purchase?: string;
  entry?: string;
  amount?: string;
  action?: string;
  channel?: string;
  store?: string;
  orderRef?: string;
  occurredAt?: string;
}

export interface ClaimsFieldsByOp {
  enroll: EnrollClaimsFields;
  issue: PointsClaimsFields;
  redeem: PointsClaimsFields;
  authorize: AuthorizeClaimsFields;
  capture: CaptureClaimsFields;
  void: VoidClaimsFields;
  reverse: ReverseClaimsFields;
  transfer: TransferClaimsFields;
  acknowledge: AcknowledgeClaimsFields;
  dispute: DisputeClaimsFields;
  redeem_reward: RedeemRewardFields;
  use_entitlement: UseEntitlementFields;
  grant: GrantClaimsFields;
  activity: ActivityClaimsFields;
}

const ALLOWED: Record<Op, readonly string[]> = {
  enroll: ['member', 'emailHash', 'phoneHash', 'referralCode'],
  issue: ['member', 'amount', 'orderRef', 'occurredAt', 'asset', 'applyTierMultiplier'],
  redeem: ['member', 'amount', 'orderRef', 'occurredAt', 'asset'],
  authorize: ['member', 'amount', 'orderRef', 'holdSeconds'],
  capture: ['hold', 'amount', 'orderRef'],
  void: ['hold'],
  reverse: ['entry', 'amount', 'orderRef'],
  transfer: ['member', 'to', 'amount', 'orderRef'],
  acknowledge: ['statement', 'digest'],
  dispute: ['statement', 'digest', 'lines', 'reason'],
  redeem_reward: ['member', 'reward', 'orderRef'],
  use_entitlement: ['code'],
  grant: ['member', 'amount', 'kind', 'reasonCode', 'caseReference', 'note'],
  activity: [
    'activity',
    'member',
    'total',
    'currency',
    'lines',
    'purchase',
    'entry',
    'amount',
    'action',
    'channel',
    'store',
    'orderRef',
    'occurredAt',
  ],
};

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ISO_DATE_TIME = OCCURRED_AT_PATTERN;

/** Canonical decimal string of a positive whole amount ("0150" → "150"), so equal amounts hash equally. */
export function normaliseAmount(amount: Amount): string {
  let value: bigint;
  if (typeof amount === 'bigint') {
    value = amount;
  } else if (typeof amount === 'string' && /^[0-9]+$/.test(amount)) {
    value = BigInt(amount);
  } else {
    throw new TypeError('amount must be a bigint or a string of decimal digits (whole points, no sign, no decimals)');
  }
  if (value <= 0n) throw new TypeError('amount must be positive');
  return value.toString();
}

export function checkReference(name: string, value: unknown): string {
  if (typeof value !== 'string' || !REFERENCE_PATTERN.test(value)) {
    throw new TypeError(`${name} must be 1..${REFERENCE_LENGTH_MAX} printable ASCII characters without spaces`);
  }
  return value;
}

function checkHash(name: string, value: unknown): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    throw new TypeError(`${name} must be lowercase hex SHA-256 (use hashEmail/hashPhone)`);
  }
  return value;
}

function checkHoldId(value: unknown): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value))
    throw new TypeError('hold must be the holdId of an authorize receipt (a UUID)');
  return value;
}

function checkHoldSeconds(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < HOLD_SECONDS_MIN || value > HOLD_SECONDS_MAX) {
    throw new TypeError(`holdSeconds is a whole number from ${HOLD_SECONDS_MIN} to ${HOLD_SECONDS_MAX}`);
  }
  return value;
}

function checkOccurredAt(value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('occurredAt is an invalid Date');
    return value.toISOString();
  }
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new TypeError('occurredAt must be an ISO-8601 date-time with a zone, e.g. 2025-01-31T12:00:00Z');
  }
  return value;
}

/** Checks `fields` for `op` and returns them as claims. Unknown fields are rejected: a typo must not be signed silently. */
export function claimsFields<O extends Op>(op: O, fields: FieldsByOp[O]): ClaimsFieldsByOp[O];
export function claimsFields(op: Op, fields: FieldsByOp[Op]): ClaimsFieldsByOp[Op] {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('fields must be an object');
  const raw = fields as unknown as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!ALLOWED[op].includes(name)) throw new TypeError(`unknown field "${name}" for op ${op}`);
  }
  if (op === 'acknowledge' || op === 'dispute') return statementFields(op, raw);
  if (op === 'use_entitlement') {
    if (typeof raw.code !== 'string' || !ENTITLEMENT_CODE_PATTERN.test(raw.code))
      throw new TypeError('code must be a voucher code: 26 characters A-Z and 2-7');
    return { code: raw.code } satisfies UseEntitlementFields;
  }
  if (op === 'redeem_reward') {
    if (typeof raw.reward !== 'string' || !UUID_PATTERN.test(raw.reward)) throw new TypeError('reward must be the id of a reward (a UUID)');
    const out: RedeemRewardFields = { member: checkReference('member', raw.member), reward: raw.reward };
    if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
    return out;
  }
  if (op === 'activity') return activityFields(raw);
  if (op === 'reverse') {
    if (typeof raw.entry !== 'string' || !UUID_PATTERN.test(raw.entry))
      throw new TypeError('entry must be the entryId of an issue or redemption receipt');
    const out: ReverseClaimsFields = { entry: raw.entry, amount: normaliseAmount(raw.amount as Amount) };
    if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
    return out;
  }
  if (op === 'capture' || op === 'void') {
    const hold = checkHoldId(raw.hold);
    if (op === 'void') return { hold } satisfies VoidClaimsFields;
    const out: CaptureClaimsFields = { hold, amount: normaliseAmount(raw.amount as Amount) };
    if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
    return out;
  }
  const member = checkReference('member', raw.member);
  if (op === 'transfer') {
    const to = checkReference('to', raw.to);
    if (to === member) throw new TypeError('a transfer goes to another member');
    const out: TransferClaimsFields = { member, to, amount: normaliseAmount(raw.amount as Amount) };
    if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
    return out;
  }
  if (op === 'authorize') {
    const out: AuthorizeClaimsFields = { member, amount: normaliseAmount(raw.amount as Amount) };
    if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
    if (raw.holdSeconds !== undefined) out.holdSeconds = checkHoldSeconds(raw.holdSeconds);
    return out;
  }
  if (op === 'enroll') {
    const out: EnrollClaimsFields = { member };
    if (raw.emailHash !== undefined) out.emailHash = checkHash('emailHash', raw.emailHash);
    if (raw.phoneHash !== undefined) out.phoneHash = checkHash('phoneHash', raw.phoneHash);
    if (raw.referralCode !== undefined) out.referralCode = checkReference('referralCode', raw.referralCode);
    return out;
  }
  if (op === 'grant') return grantFields(member, raw);
  const out: PointsClaimsFields = { member, amount: normaliseAmount(raw.amount as Amount) };
  if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
  if (raw.occurredAt !== undefined) out.occurredAt = checkOccurredAt(raw.occurredAt);
  if (raw.asset !== undefined) {
    if (typeof raw.asset !== 'string' || !/^[A-Z][A-Z0-9_]{0,31}(\.[A-Z][A-Z0-9_]{0,31})?$/.test(raw.asset))
      throw new TypeError('asset is CP or a unit such as ACME.STARS');
    if (raw.asset !== 'CP') out.asset = raw.asset;
  }
  if (raw.applyTierMultiplier !== undefined) {
    if (typeof raw.applyTierMultiplier !== 'boolean') throw new TypeError('applyTierMultiplier is true or false');
    if (raw.applyTierMultiplier) out.applyTierMultiplier = true;
  }
  return out;
}

function statementFields(op: 'acknowledge' | 'dispute', raw: Record<string, unknown>): AcknowledgeClaimsFields | DisputeClaimsFields {
  if (typeof raw.statement !== 'string' || !UUID_PATTERN.test(raw.statement))
    throw new TypeError('statement must be a statement id (a UUID)');
  if (typeof raw.digest !== 'string' || !SHA256_HEX.test(raw.digest))
    throw new TypeError('digest must be the statement digest (lowercase hex SHA-256)');
  if (op === 'acknowledge') return { statement: raw.statement, digest: raw.digest };
  if (!Array.isArray(raw.lines) || raw.lines.length === 0 || raw.lines.length > DISPUTE_LINES_MAX) {
    throw new TypeError(`lines must name 1 to ${DISPUTE_LINES_MAX} statement lines`);
  }
  const numbers = new Set<bigint>();
  for (const line of raw.lines) {
    const text = typeof line === 'number' && Number.isSafeInteger(line) ? String(line) : typeof line === 'bigint' ? line.toString() : line;
    if (typeof text !== 'string' || !/^[1-9][0-9]{0,17}$/.test(text)) throw new TypeError('each line is a 1-based line number');
    numbers.add(BigInt(text));
  }
  if (typeof raw.reason !== 'string' || raw.reason.trim().length === 0 || raw.reason.length > DISPUTE_REASON_LENGTH_MAX) {
    throw new TypeError(`reason must be 1 to ${DISPUTE_REASON_LENGTH_MAX} characters`);
  }
  const lines = [...numbers].sort((a, b) => (a < b ? -1 : 1)).map(String);
  return { statement: raw.statement, digest: raw.digest, lines, reason: raw.reason };
}

function grantFields(member: string, raw: Record<string, unknown>): GrantClaimsFields {
  if (!(GRANT_KINDS as readonly unknown[]).includes(raw.kind)) throw new TypeError(`kind is one of ${GRANT_KINDS.join(', ')}`);
  if (!(GRANT_REASON_CODES as readonly unknown[]).includes(raw.reasonCode))
    throw new TypeError(`reasonCode is one of ${GRANT_REASON_CODES.join(', ')}`);
  const out: GrantClaimsFields = {
    member,
    amount: normaliseAmount(raw.amount as Amount),
    kind: raw.kind as GrantKind,
    reasonCode: raw.reasonCode as GrantReasonCode,
  };
  if (raw.caseReference !== undefined) out.caseReference = checkReference('caseReference', raw.caseReference);
  if (out.kind === 'compensation' && out.caseReference === undefined) throw new TypeError('a compensation names its caseReference');
  if (raw.note !== undefined) {
    if (typeof raw.note !== 'string' || raw.note.trim().length === 0 || raw.note.length > GRANT_NOTE_LENGTH_MAX)
      throw new TypeError(`note must be 1 to ${GRANT_NOTE_LENGTH_MAX} characters`);
    out.note = raw.note;
  }
  return out;
}

/** Minor units: a bigint or a string of decimal digits, 0 allowed. */
function normaliseMinor(name: string, value: unknown): string {
  if (typeof value === 'bigint' && value >= 0n) return value.toString();
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return BigInt(value).toString();
  throw new TypeError(`${name} must be whole minor units: a bigint or a string of decimal digits, not negative`);
}

const ACTIVITY_KINDS: Record<string, readonly string[]> = {
  purchase: ['total', 'currency', 'lines'],
  return: ['purchase', 'entry', 'amount'],
  action: ['action'],
};

function activityFields(raw: Record<string, unknown>): ActivityClaimsFields {
  const activity = raw.activity;
  if (activity !== 'purchase' && activity !== 'return' && activity !== 'action')
    throw new TypeError('activity is purchase, return or action');
  for (const name of ['total', 'currency', 'lines', 'purchase', 'entry', 'amount', 'action']) {
    if (raw[name] !== undefined && !ACTIVITY_KINDS[activity]!.includes(name)) throw new TypeError(`${name} is not part of a ${activity}`);
  }
  const out: ActivityClaimsFields = { activity, member: checkReference('member', raw.member) };
  if (activity === 'purchase') {
    out.total = normaliseMinor('total', raw.total);
    if (typeof raw.currency !== 'string' || !/^[A-Z]{3}$/.test(raw.currency)) throw new TypeError('currency is an ISO 4217 code');
    out.currency = raw.currency;
    if (raw.lines !== undefined) {
      if (!Array.isArray(raw.lines)) throw new TypeError('lines is an array');
      out.lines = (raw.lines as ActivityLine[]).map((line) => {
        const quantity = String(line.quantity ?? 1);
        if (!/^[1-9][0-9]{0,8}$/.test(quantity)) throw new TypeError('a line quantity is a positive whole number');
        const shaped: { category?: string; sku?: string; quantity: string; amount: string } = {
          quantity,
          amount: normaliseMinor('a line amount', line.amount),
        };
        if (line.category !== undefined) shaped.category = line.category;
        if (line.sku !== undefined) shaped.sku = checkReference('sku', line.sku);
        return shaped;
      });
    }
  } else if (activity === 'return') {
    if ((raw.purchase === undefined) === (raw.entry === undefined))
      throw new TypeError('a return names its purchase (orderRef) or entry (entryId), one of them');
    if (raw.purchase !== undefined) out.purchase = checkReference('purchase', raw.purchase);
    if (raw.entry !== undefined) {
      if (typeof raw.entry !== 'string' || !UUID_PATTERN.test(raw.entry)) throw new TypeError('entry must be the entryId of the purchase');
      out.entry = raw.entry;
    }
    out.amount = normaliseAmount(raw.amount as Amount);
  } else {
    if (typeof raw.action !== 'string') throw new TypeError('action names the action');
    out.action = raw.action;
  }
  if (raw.channel !== undefined) out.channel = checkReference('channel', raw.channel);
  if (raw.store !== undefined) out.store = checkReference('store', raw.store);
  if (raw.orderRef !== undefined) out.orderRef = checkReference('orderRef', raw.orderRef);
  if (raw.occurredAt !== undefined) out.occurredAt = checkOccurredAt(raw.occurredAt);
  return out;
}
