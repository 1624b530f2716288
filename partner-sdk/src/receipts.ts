/**
 * Hub receipts: the hub's signed statement that it executed an instruction. A receipt is only
 * worth keeping if it is pinned to *this* hub, *this* partner and *this* request, so every one of
 * those is checked, not just the signature.
 */
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { HubRequestError, ReceiptVerificationError } from './errors';
import {
  CLOCK_SKEW_SECONDS_MAX,
  ENTRY_OPS,
  HOLD_OPS,
  HUB_JWKS_PATH,
  OPS,
  PARTNER_ALGORITHMS,
  RECEIPT_TYP,
  STATEMENT_OPS,
  type Op,
} from './protocol';

/** A key resolver, as returned by jose's createRemoteJWKSet or createLocalJWKSet. */
export type JwksGetter = (protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<CryptoKey>;

interface ReceiptClaimsBase {
  /** The hub id. */
  iss: string;
  /** The partner id. */
  aud: string | string[];
  iat: number;
  /** The instruction's jti. */
  jti: string;
  /** requestHash of the instruction the hub executed. */
  requestHash: string;
  /** The hub's id for the member. */
  memberId: string;
  /** The hub may add claims; they are signed too, but the SDK does not interpret them. */
  [claim: string]: unknown;
}

export interface EnrollReceiptClaims extends ReceiptClaimsBase {
  op: 'enroll';
}

export interface HoldReceiptClaims<O extends 'authorize' | 'void' = 'authorize' | 'void'> extends ReceiptClaimsBase {
  op: O;
  holdId: string;
  amount: string;
  status: string;
  expiresAt: string;
  available: string;
}

export interface PointsReceiptClaims<
  O extends 'issue' | 'redeem' | 'capture' | 'reverse' | 'transfer' | 'redeem_reward' | 'grant' =
    'issue' | 'redeem' | 'capture' | 'reverse' | 'transfer' | 'redeem_reward' | 'grant',
> extends ReceiptClaimsBase {
  op: O;
  /** The ledger entry the instruction created. */
  entryId: string;
  /** Whole points, decimal digits. */
  amount: string;
  /** The member's balance right after this entry, decimal digits. */
  balance: string;
}

export type ReceiptClaims<O extends Op = Op> = {
  enroll: EnrollReceiptClaims;
  issue: PointsReceiptClaims<'issue'>;
  redeem: PointsReceiptClaims<'redeem'>;
  authorize: HoldReceiptClaims<'authorize'>;
  capture: PointsReceiptClaims<'capture'>;
  void: HoldReceiptClaims<'void'>;
  reverse: PointsReceiptClaims<'reverse'>;
  transfer: PointsReceiptClaims<'transfer'>;
  grant: PointsReceiptClaims<'grant'>;
  acknowledge: StatementReceiptClaims<'acknowledge'>;
  dispute: StatementReceiptClaims<'dispute'>;
  redeem_reward: PointsReceiptClaims<'redeem_reward'> & { entitlement: EntitlementReceiptClaim };
  use_entitlement: ReceiptClaimsBase & { op: 'use_entitlement'; entitlement: EntitlementReceiptClaim };
  activity: ActivityReceiptClaims;
}[O];

/** The entitlement a reward redemption or use signs (docs/rewards.md). */
export interface EntitlementReceiptClaim {
  id: string;
  code: string;
  rewardId: string;
  partnerId: string;
  memberId: string;
  status: string;
  expiresAt: string;
  usedAt: string | null;
}

/** An activity's receipt (docs/loyalty-engine.md): the points earned (or given back) and every contribution. */
export interface ActivityReceiptClaims extends ReceiptClaimsBase {
  op: 'activity';
  activityId: string;
  activity: 'purchase' | 'return' | 'action';
  /** Null when the activity moved no points. */
  entryId: string | null;
  amount: string;
  balance: string;
  contributions: Array<{ source: string; sourceId: string; version: number; points: string; reason: string; fundingPartnerId: string }>;
  notes: string[];
  /** Stamp cards the activity moved (docs/stamp-cards.md); absent when none. */
  stamps?: Array<{
    cardId: string;
    name: string;
    stamps: string;
    stampsNow: string;
    stampsRequired: number;
    completed: string;
    rewardEntryId: string | null;
    rewardPoints: string | null;
    reason: string;
  }>;
}

export interface StatementReceiptClaims<O extends 'acknowledge' | 'dispute' = 'acknowledge' | 'dispute'> extends ReceiptClaimsBase {
  op: O;
  statementId: string;
  digest: string;
  status: string;
  /** Dispute only. */
  disputeId?: string;
  lines?: string[];
}

export interface VerifyReceiptOptions<O extends Op = Op> {
  hubId: string;
  partnerId: string;
  jwks: JwksGetter;
  /** The jti of the instruction this receipt should answer. */
  expectedJti?: string;
  /** The requestHash of that instruction (from signInstruction). */
  expectedRequestHash?: string;
  expectedOp?: O;
  /** Verification time, for tests; default now. */
  now?: Date;
}

const DIGITS = /^[0-9]+$/;
// A balance is not expected to go negative, but an alarm on a legitimate negative balance would be worse.
const SIGNED_DIGITS = /^-?[0-9]+$/;

/**
 * Verifies a receipt and returns its claims. Throws ReceiptVerificationError if it is not a valid
 * receipt for this hub, partner and (when given) instruction; HubRequestError if the hub's keys
 * could not be fetched (which says nothing about the receipt).
 */
export async function verifyReceipt<O extends Op = Op>(receiptJws: string, options: VerifyReceiptOptions<O>): Promise<ReceiptClaims<O>> {
  if (typeof receiptJws !== 'string') throw new ReceiptVerificationError('malformed', 'receipt must be a compact JWS string');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(receiptJws, reportUnavailableKeys(options.jwks), {
      algorithms: [...PARTNER_ALGORITHMS],
      typ: RECEIPT_TYP,
      issuer: options.hubId,
      audience: options.partnerId,
      requiredClaims: ['iss', 'aud', 'iat', 'jti'],
      clockTolerance: CLOCK_SKEW_SECONDS_MAX,
      ...(options.now ? { currentDate: options.now } : {}),
    }));
  } catch (error) {
    throw asReceiptError(error);
  }
  return checkReceiptClaims(payload, options);
}

function checkReceiptClaims<O extends Op>(payload: JWTPayload, options: VerifyReceiptOptions<O>): ReceiptClaims<O> {
  const fail = (claim: string, message: string) => new ReceiptVerificationError('claim', message, { claim });
  const op = payload.op;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) throw fail('op', 'receipt has no valid op');
  if (options.expectedOp !== undefined && op !== options.expectedOp) throw fail('op', `receipt is for op ${op}, not ${options.expectedOp}`);
  if (options.expectedJti !== undefined && payload.jti !== options.expectedJti) throw fail('jti', 'receipt is for another jti');
  if (typeof payload.requestHash !== 'string') throw fail('requestHash', 'receipt has no requestHash');
  if (options.expectedRequestHash !== undefined && payload.requestHash !== options.expectedRequestHash) {
    throw fail('requestHash', 'receipt is for a different request than the one signed');
  }
  if ((STATEMENT_OPS as readonly string[]).includes(op)) {
    // Statement instructions concern no member: they name the statement and the digest signed.
    if (typeof payload.statementId !== 'string' || payload.statementId.length === 0)
      throw fail('statementId', 'receipt has no statementId');
    if (typeof payload.digest !== 'string' || !/^[0-9a-f]{64}$/.test(payload.digest))
      throw fail('digest', 'receipt has no statement digest');
    return payload as ReceiptClaims<O>;
  }
  if (typeof payload.memberId !== 'string' || payload.memberId.length === 0) throw fail('memberId', 'receipt has no memberId');
  if ((HOLD_OPS as readonly string[]).includes(op)) {
    if (typeof payload.holdId !== 'string' || payload.holdId.length === 0) throw fail('holdId', 'receipt has no holdId');
    if (typeof payload.amount !== 'string' || !DIGITS.test(payload.amount)) throw fail('amount', 'receipt amount is not decimal digits');
  }
  if (op === 'activity') {
    if (typeof payload.activityId !== 'string' || payload.activityId.length === 0) throw fail('activityId', 'receipt has no activityId');
    if (typeof payload.amount !== 'string' || !DIGITS.test(payload.amount)) throw fail('amount', 'receipt amount is not decimal digits');
    if (!Array.isArray(payload.contributions)) throw fail('contributions', 'receipt has no contributions');
  }
  if ((ENTRY_OPS as readonly string[]).includes(op)) {
    if (typeof payload.entryId !== 'string' || payload.entryId.length === 0) throw fail('entryId', 'receipt has no entryId');
    if (typeof payload.amount !== 'string' || !DIGITS.test(payload.amount)) throw fail('amount', 'receipt amount is not decimal digits');
    if (typeof payload.balance !== 'string' || !SIGNED_DIGITS.test(payload.balance)) {
      throw fail('balance', 'receipt balance is not decimal digits');
    }
  }
  return payload as ReceiptClaims<O>;
}

/**
 * Lets a failure to *fetch* keys surface as HubRequestError, so that a hub outage is not
 * reported as a forged receipt. A key that is simply absent stays a verification failure.
 */
export function reportUnavailableKeys(jwks: JwksGetter): JwksGetter {
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      const unavailable =
        error instanceof errors.JWKSTimeout ||
        error instanceof errors.JWKSInvalid ||
        !(error instanceof errors.JOSEError) ||
        error.code === 'ERR_JOSE_GENERIC';
      if (!unavailable) throw error;
      throw new HubRequestError('JWKS_UNAVAILABLE', 'could not fetch the hub signing keys', { cause: error });
    }
  };
}

function asReceiptError(error: unknown): Error {
  if (error instanceof HubRequestError || error instanceof ReceiptVerificationError) return error;
  const cause = { cause: error };
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new ReceiptVerificationError('unknown-key', 'receipt is not signed by a key of this hub', cause);
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new ReceiptVerificationError('algorithm', 'receipt uses an algorithm that is not allowed', cause);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new ReceiptVerificationError('signature', 'receipt signature is invalid', cause);
  }
  if (error instanceof errors.JWTExpired) return new ReceiptVerificationError('expired', 'receipt has expired', cause);
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new ReceiptVerificationError('claim', `receipt ${error.claim}: ${error.message}`, { ...cause, claim: error.claim });
  }
  return new ReceiptVerificationError('malformed', 'receipt is not a well-formed JWT', cause);
}

const jwksByUrl = new Map<string, JwksGetter>();
const JWKS_REFETCH_COOLDOWN_MS = 1000;

/**
 * The hub's public keys, fetched from `${baseUrl}/.well-known/jwks.json` and cached by jose
 * (refetched when a receipt names an unknown kid, e.g. after key rotation). One resolver per
 * URL per process, so that every client shares the cache.
 */
export function hubJwks(baseUrl: string): JwksGetter {
  const url = new URL(trimSlash(baseUrl) + HUB_JWKS_PATH).href;
  let jwks = jwksByUrl.get(url);
  if (!jwks) {
    // A receipt naming a kid not in the cached set is fetched again after at most a second (jose
    // waits 30 s by default): right after the hub rotates its key, new receipts must verify.
    jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: JWKS_REFETCH_COOLDOWN_MS });
    jwksByUrl.set(url, jwks);
  }
  return jwks;
}

export function trimSlash(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}
