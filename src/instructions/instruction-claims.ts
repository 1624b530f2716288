import { z } from 'zod';
import type { JWTPayload } from 'jose';
import {
  CLOCK_SKEW_SECONDS_MAX,
  DISPUTE_LINES_MAX,
  DISPUTE_REASON_LENGTH_MAX,
  ENTITLEMENT_CODE_PATTERN,
  GRANT_KINDS,
  GRANT_NOTE_LENGTH_MAX,
  GRANT_REASON_CODES,
  HOLD_SECONDS_DEFAULT,
  HOLD_SECONDS_MAX,
  HOLD_SECONDS_MIN,
  OCCURRED_AT_PATTERN,
  REFERENCE_PATTERN,
  UUID_PATTERN,
  type Op,
} from '@coalition-hub/partner-sdk';
import { parsePositiveAmount } from '../common/bigint';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import { limits } from '../config/limits';
import type { ActivityClaims, ClaimsOf, InstructionClaims } from '../common/claims';

/**
 * The claims each operation accepts. Unknown claims are refused so that what a partner signed
 * has exactly one meaning. Amounts are decimal-digit strings (never JSON numbers: precision).
 */
const reference = z.string().regex(REFERENCE_PATTERN, `1 to ${limits.referenceLengthMax} printable ASCII characters, no spaces`);
const ASSET_PATTERN = /^[A-Z][A-Z0-9_]{0,31}(\.[A-Z][A-Z0-9_]{0,31})?$/;
const hexHash = z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex SHA-256');

const base = {
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  jti: reference,
  iat: z.number(),
  exp: z.number(),
  nbf: z.number().optional(),
};

const enrollSchema = z.strictObject({
  ...base,
  op: z.literal('enroll'),
  member: reference,
  emailHash: hexHash.optional(),
  phoneHash: hexHash.optional(),
  referralCode: reference.optional(),
});

const movementSchema = (op: 'issue' | 'redeem') =>
  z.strictObject({
    ...base,
    op: z.literal(op),
    member: reference,
    amount: z.unknown(),
    // CP, or the signing partner's own program unit (e.g. ACME.STARS): checked by the service.
    asset: z.string().regex(ASSET_PATTERN, 'CP or a unit such as ACME.STARS').optional(),
    orderRef: reference.optional(),
    applyTierMultiplier: z.boolean().optional(),
    occurredAt: z
      .string()
      .regex(OCCURRED_AT_PATTERN, 'an RFC 3339 date-time with seconds and a zone')
      .refine((text) => !Number.isNaN(Date.parse(text)), 'not a real date')
      .optional(),
  });

const hold = z.string().regex(UUID_PATTERN, 'the holdId of an authorize receipt');

const authorizeSchema = z.strictObject({
  ...base,
  op: z.literal('authorize'),
  member: reference,
  amount: z.unknown(),
  orderRef: reference.optional(),
  holdSeconds: z.number().int().min(HOLD_SECONDS_MIN).max(HOLD_SECONDS_MAX).optional(),
});

const captureSchema = z.strictObject({ ...base, op: z.literal('capture'), hold, amount: z.unknown(), orderRef: reference.optional() });
const voidSchema = z.strictObject({ ...base, op: z.literal('void'), hold });
const transferSchema = z.strictObject({
  ...base,
  op: z.literal('transfer'),
  member: reference,
  to: reference,
  amount: z.unknown(),
  orderRef: reference.optional(),
});
const reverseSchema = z.strictObject({
  ...base,
  op: z.literal('reverse'),
  entry: z.string().regex(UUID_PATTERN, 'the entryId of an issue or redemption receipt'),
  amount: z.unknown(),
  orderRef: reference.optional(),
});
const statement = z.string().regex(UUID_PATTERN, 'the id of a settlement statement');
const acknowledgeSchema = z.strictObject({ ...base, op: z.literal('acknowledge'), statement, digest: hexHash });
const disputeSchema = z.strictObject({
  ...base,
  op: z.literal('dispute'),
  statement,
  digest: hexHash,
  lines: z
    .array(z.string().regex(/^[1-9][0-9]{0,17}$/, 'a 1-based line number as a string'))
    .min(1)
    .max(DISPUTE_LINES_MAX),
  reason: z.string().min(1).max(DISPUTE_REASON_LENGTH_MAX),
});

const redeemRewardSchema = z.strictObject({
  ...base,
  op: z.literal('redeem_reward'),
  member: reference,
  reward: z.string().regex(UUID_PATTERN, 'the id of a reward'),
  orderRef: reference.optional(),
});
const useEntitlementSchema = z.strictObject({
  ...base,
  op: z.literal('use_entitlement'),
  code: z.string().regex(ENTITLEMENT_CODE_PATTERN, 'a voucher code: 26 characters A-Z and 2-7'),
});
const grantSchema = z.strictObject({
  ...base,
  op: z.literal('grant'),
  member: reference,
  amount: z.unknown(),
  kind: z.enum(GRANT_KINDS),
  reasonCode: z.enum(GRANT_REASON_CODES),
  caseReference: reference.optional(),
  note: z.string().min(1).max(GRANT_NOTE_LENGTH_MAX).optional(),
});

const minorUnits = z.string().regex(/^(0|[1-9][0-9]{0,14})$/, 'whole minor units as a string of decimal digits');
const code = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, _ . -');
const activitySchema = z.strictObject({
  ...base,
  op: z.literal('activity'),
  member: reference,
  activity: z.enum(['purchase', 'return', 'action']),
  occurredAt: z
    .string()
    .regex(OCCURRED_AT_PATTERN, 'an RFC 3339 date-time with seconds and a zone')
    .refine((text) => !Number.isNaN(Date.parse(text)), 'not a real date')
    .optional(),
  orderRef: reference.optional(),
  channel: code.optional(),
  store: reference.optional(),
  total: z.unknown().optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
    .optional(),
  lines: z
    .array(
      z.strictObject({
        category: code.optional(),
        sku: reference.optional(),
        quantity: z.string().regex(/^[1-9][0-9]{0,8}$/, 'a positive whole quantity as a string'),
        amount: z.unknown(),
      }),
    )
    .max(500)
    .optional(),
  purchase: reference.optional(),
  entry: z.string().regex(UUID_PATTERN, 'the entryId of the purchase').optional(),
  amount: z.unknown().optional(),
  action: z.enum(['signup', 'profile_completed', 'review', 'referral_qualified', 'engagement']).optional(),
});

/** Minor units: a string of decimal digits, never negative nor a fraction (InvalidAmount otherwise). */
function minorOf(name: string, value: unknown): bigint | DomainError<ErrorCode.INVALID_AMOUNT> {
  const parsed = minorUnits.safeParse(value);
  if (parsed.success) return BigInt(parsed.data);
  return fail(ErrorCode.INVALID_AMOUNT, `${name} must be a string of decimal digits: whole minor units, not negative`, {
    amount: typeof value === 'string' ? value.slice(0, 40) : JSON.stringify(value ?? null).slice(0, 40),
  });
}

type ActivityData = z.infer<typeof activitySchema>;
const refuseClaim = (claim: string, message: string) => fail(ErrorCode.INVALID_INSTRUCTION, `claim ${claim}: ${message}`, { claim });

/** The claims of an activity: which fields go with which kind, the basket's amounts and lines. */
function activityClaims(
  data: ActivityData,
  now: Date,
): ActivityClaims | DomainError<ErrorCode.INVALID_INSTRUCTION | ErrorCode.INVALID_AMOUNT> {
  const only: Record<ActivityData['activity'], readonly string[]> = {
    purchase: ['total', 'currency', 'lines', 'channel', 'store'],
    return: ['purchase', 'entry', 'amount', 'channel', 'store'],
    action: ['action', 'channel', 'store'],
  };
  for (const claim of ['total', 'currency', 'lines', 'purchase', 'entry', 'amount', 'action'] as const) {
    if (data[claim] !== undefined && !only[data.activity].includes(claim)) return refuseClaim(claim, `not part of a ${data.activity}`);
  }
  const occurredAt = data.occurredAt ? new Date(data.occurredAt) : now;
  if (occurredAt.getTime() > now.getTime() + CLOCK_SKEW_SECONDS_MAX * 1000) return refuseClaim('occurredAt', 'lies in the future');
  const claims: ActivityClaims = {
    op: 'activity',
    jti: data.jti,
    member: data.member,
    activity: data.activity,
    occurredAt,
    orderRef: data.orderRef ?? null,
    channel: data.channel ?? null,
    store: data.store ?? null,
    total: null,
    currency: null,
    lines: [],
    purchase: null,
    entry: null,
    amount: null,
    action: null,
  };
  if (data.activity === 'purchase') {
    if (data.total === undefined) return refuseClaim('total', 'a purchase names its basket total');
    if (data.currency === undefined) return refuseClaim('currency', 'a purchase names its currency');
    const total = minorOf('total', data.total);
    if (isDomainError(total)) return total;
    let sum = 0n;
    for (const line of data.lines ?? []) {
      const amount = minorOf('a line amount', line.amount);
      if (isDomainError(amount)) return amount;
      sum += amount;
      claims.lines.push({ category: line.category ?? null, sku: line.sku ?? null, quantity: BigInt(line.quantity), amount });
    }
    if (sum > total) return refuseClaim('lines', 'the lines add up to more than the total');
    return { ...claims, total, currency: data.currency };
  }
  if (data.activity === 'return') {
    if ((data.purchase === undefined) === (data.entry === undefined))
      return refuseClaim('purchase', 'a return names its purchase: its orderRef (purchase) or its entryId (entry), one of them');
    if (data.amount === undefined) return refuseClaim('amount', 'a return names the value returned');
    const amount = minorOf('amount', data.amount);
    if (isDomainError(amount)) return amount;
    if (amount === 0n) return fail(ErrorCode.INVALID_AMOUNT, 'amount: a return returns a positive value', { amount: '0' });
    return { ...claims, purchase: data.purchase ?? null, entry: data.entry ?? null, amount };
  }
  if (data.action === undefined) return refuseClaim('action', 'an action names which one');
  return { ...claims, action: data.action };
}

const schemas = {
  enroll: enrollSchema,
  issue: movementSchema('issue'),
  redeem: movementSchema('redeem'),
  authorize: authorizeSchema,
  capture: captureSchema,
  void: voidSchema,
  reverse: reverseSchema,
  transfer: transferSchema,
  acknowledge: acknowledgeSchema,
  dispute: disputeSchema,
  redeem_reward: redeemRewardSchema,
  use_entitlement: useEntitlementSchema,
  grant: grantSchema,
  activity: activitySchema,
} as const;

function amountOf(value: unknown): bigint | DomainError<ErrorCode.INVALID_AMOUNT> {
  const amount = parsePositiveAmount(value, limits.amountMax);
  if (amount !== null) return amount;
  return fail(
    ErrorCode.INVALID_AMOUNT,
    `amount must be a string of decimal digits for a whole number of CP from 1 to ${limits.amountMax}`,
    {
      amount: typeof value === 'string' ? value.slice(0, 40) : JSON.stringify(value ?? null).slice(0, 40),
    },
  );
}

/** The claims of `op`, or why they are refused (an amount out of range, or any other claim). */
export function parseInstructionClaims<O extends Op>(
  op: O,
  claims: JWTPayload,
  now: Date,
): ClaimsOf<O> | DomainError<ErrorCode.INVALID_INSTRUCTION | ErrorCode.INVALID_AMOUNT>;
export function parseInstructionClaims(
  op: Op,
  claims: JWTPayload,
  now: Date,
): InstructionClaims | DomainError<ErrorCode.INVALID_INSTRUCTION | ErrorCode.INVALID_AMOUNT> {
  if (claims.op !== op)
    return fail(ErrorCode.INVALID_INSTRUCTION, `this mutation takes op "${op}", the instruction says ${JSON.stringify(claims.op)}`);
  const parsed = schemas[op].safeParse(claims);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // An unknown claim is reported on the object (empty path) with the names in `keys`.
    const claim = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : (issue?.path.join('.') ?? '');
    return fail(ErrorCode.INVALID_INSTRUCTION, `claim ${claim || '?'}: ${issue?.message ?? 'invalid'}`, { claim: claim || null });
  }
  const data = parsed.data;
  if (data.op === 'activity') return activityClaims(data, now);
  if (data.op === 'enroll') {
    return {
      op: 'enroll',
      jti: data.jti,
      member: data.member,
      emailHash: data.emailHash ?? null,
      phoneHash: data.phoneHash ?? null,
      referralCode: data.referralCode ?? null,
    };
  }
  if (data.op === 'redeem_reward')
    return { op: 'redeem_reward', jti: data.jti, member: data.member, reward: data.reward, orderRef: data.orderRef ?? null };
  if (data.op === 'use_entitlement') return { op: 'use_entitlement', jti: data.jti, code: data.code };
  if (data.op === 'void') return { op: 'void', jti: data.jti, hold: data.hold };
  if (data.op === 'acknowledge') return { op: 'acknowledge', jti: data.jti, statement: data.statement, digest: data.digest };
  if (data.op === 'dispute') {
    const lines = [...new Set(data.lines.map((line) => BigInt(line)))].sort((a, b) => (a < b ? -1 : 1));
    if (lines.length !== data.lines.length)
      return fail(ErrorCode.INVALID_INSTRUCTION, 'claim lines: a line is named twice', { claim: 'lines' });
    if (data.reason.trim() === '') return fail(ErrorCode.INVALID_INSTRUCTION, 'claim reason: say why', { claim: 'reason' });
    return { op: 'dispute', jti: data.jti, statement: data.statement, digest: data.digest, lines, reason: data.reason };
  }
  const amount = amountOf(data.amount);
  if (isDomainError(amount)) return amount;
  if (data.op === 'capture') return { op: 'capture', jti: data.jti, hold: data.hold, amount, orderRef: data.orderRef ?? null };
  if (data.op === 'transfer') {
    if (data.to === data.member) return fail(ErrorCode.INVALID_INSTRUCTION, 'claim to: a transfer goes to another member', { claim: 'to' });
    return { op: 'transfer', jti: data.jti, member: data.member, to: data.to, amount, orderRef: data.orderRef ?? null };
  }
  if (data.op === 'grant') {
    if (data.kind === 'compensation' && data.caseReference === undefined)
      return fail(ErrorCode.INVALID_INSTRUCTION, 'claim caseReference: a compensation names its case', { claim: 'caseReference' });
    return {
      op: 'grant',
      jti: data.jti,
      member: data.member,
      amount,
      kind: data.kind,
      reasonCode: data.reasonCode,
      caseReference: data.caseReference ?? null,
      note: data.note ?? null,
    };
  }
  if (data.op === 'reverse') return { op: 'reverse', jti: data.jti, entry: data.entry, amount, orderRef: data.orderRef ?? null };
  if (data.op === 'authorize') {
    return {
      op: 'authorize',
      jti: data.jti,
      member: data.member,
      amount,
      orderRef: data.orderRef ?? null,
      holdSeconds: data.holdSeconds ?? HOLD_SECONDS_DEFAULT,
    };
  }
  const occurredAt = data.occurredAt ? new Date(data.occurredAt) : now;
  if (occurredAt.getTime() > now.getTime() + CLOCK_SKEW_SECONDS_MAX * 1000) {
    return fail(ErrorCode.INVALID_INSTRUCTION, 'claim occurredAt: lies in the future', { claim: 'occurredAt' });
  }
  if (data.applyTierMultiplier && (data.op !== 'issue' || (data.asset ?? 'CP') !== 'CP')) {
    return fail(ErrorCode.INVALID_INSTRUCTION, 'claim applyTierMultiplier: only for issues of CP', { claim: 'applyTierMultiplier' });
  }
  return {
    op: data.op,
    jti: data.jti,
    member: data.member,
    asset: data.asset ?? 'CP',
    amount,
    applyTierMultiplier: data.applyTierMultiplier ?? false,
    orderRef: data.orderRef ?? null,
    occurredAt,
  };
}
