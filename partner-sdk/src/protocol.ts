/**
 * The wire protocol between a partner and the hub, in one place so that the hub and
 * the SDK cannot disagree about it. The hub imports these definitions too.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** JOSE `typ` of a partner-signed instruction (a ledger write). */
export const INSTRUCTION_TYP = 'coalition-tx+jwt';
/** JOSE `typ` of a bearer token (partner, member, operator, finance) used for reads. */
export const ACCESS_TOKEN_TYP = 'coalition-access+jwt';
/** JOSE `typ` of a hub-signed receipt. */
export const RECEIPT_TYP = 'coalition-receipt+jwt';
/** JOSE `typ` of a hub-signed exchange quote (a member executes it within its lifetime). */
export const QUOTE_TYP = 'coalition-quote+jwt';

/** Signature algorithms a partner key may use. Never `none`, never HS*. */
export const PARTNER_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type PartnerAlgorithm = (typeof PARTNER_ALGORITHMS)[number];

/** An instruction may live at most this long (`exp - iat`). */
export const INSTRUCTION_LIFETIME_SECONDS_MAX = 300;
/** An access token may live at most this long. */
export const ACCESS_TOKEN_LIFETIME_SECONDS_MAX = 3600;
/** Tolerated clock difference between a partner and the hub. */
export const CLOCK_SKEW_SECONDS_MAX = 60;

export const OPS = [
  'enroll',
  'issue',
  'redeem',
  'authorize',
  'capture',
  'void',
  'reverse',
  'transfer',
  'acknowledge',
  'dispute',
  'redeem_reward',
  'use_entitlement',
  'grant',
  'activity',
] as const;
export type Op = (typeof OPS)[number];

/** Ops whose receipt names a ledger entry (and the member's balance after it). */
export const ENTRY_OPS = ['issue', 'redeem', 'capture', 'reverse', 'transfer', 'redeem_reward', 'grant'] as const;
/** Ops about a settlement statement (no member, no entry). */
export const STATEMENT_OPS = ['acknowledge', 'dispute'] as const;
/** Ops whose receipt names a hold (two-phase redemption). */
export const HOLD_OPS = ['authorize', 'void'] as const;

/** How long a hold lasts unless the instruction says otherwise, and the bounds it may say. */
export const HOLD_SECONDS_DEFAULT = 900;
export const HOLD_SECONDS_MIN = 60;
export const HOLD_SECONDS_MAX = 7 * 24 * 3600;

/** Settlement statements: the lines one dispute may name, and the length of its reason. */
export const DISPUTE_LINES_MAX = 1000;
export const DISPUTE_REASON_LENGTH_MAX = 2000;

/** An entitlement's voucher code (docs/rewards.md): 128 random bits in base32 (RFC 4648, no padding). */
export const ENTITLEMENT_CODE_PATTERN = /^[A-Z2-7]{26}$/;

/** Hub ids for holds, entries and members are UUIDs. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Access-token scopes. Partner and member tokens are signed by a partner key. */
export type Scope = 'partner' | 'member' | 'operator' | 'finance';

/** Claims that vary between two signings of the same instruction and so are not part of its hash. */
const TIME_CLAIMS = new Set(['iat', 'exp', 'nbf']);

/**
 * The request hash identifies *what* an instruction asks for: SHA-256 (base64url) over the
 * RFC 8785 canonical JSON of its claims without the time claims. A retry re-signed with a
 * fresh `iat`/`exp` has the same hash; any change to the operation's fields does not.
 */
export function requestHash(claims: Record<string, unknown>): string {
  const hashed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (!TIME_CLAIMS.has(name)) hashed[name] = value;
  }
  const canonical = canonicalize(hashed);
  if (canonical === undefined) throw new TypeError('claims are not JSON');
  return createHash('sha256').update(canonical).digest('base64url');
}

/** How members are linked across partners without the hub seeing an address: SHA-256 hex of the normalised value. */
export function hashEmail(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

export function hashPhone(phoneE164: string): string {
  const normalised = phoneE164.replace(/[\s().-]/g, '');
  if (!/^\+[1-9][0-9]{6,14}$/.test(normalised)) throw new TypeError('phone must be in E.164 form, e.g. +4930123456');
  return createHash('sha256').update(normalised).digest('hex');
}

/** Scopes as a runtime list, so that tokens can be checked before they are signed. */
export const SCOPES = ['partner', 'member', 'operator', 'finance'] as const satisfies readonly Scope[];

/** Default instruction lifetime: long enough for one round trip and a retry, short enough to bound replays. */
export const INSTRUCTION_LIFETIME_SECONDS_DEFAULT = 120;
/** Default access-token lifetime. */
export const ACCESS_TOKEN_LIFETIME_SECONDS_DEFAULT = 300;

/** Longest `jti`, member reference and order reference, in UTF-16 code units (JS `length`). */
export const REFERENCE_LENGTH_MAX = 128;

/** Where the hub publishes the public keys that sign receipts, relative to its base URL. */
export const HUB_JWKS_PATH = '/.well-known/jwks.json';
/** Where the hub serves GraphQL, relative to its base URL. */
export const GRAPHQL_PATH = '/graphql';

/** The most instructions one submitInstructions batch may hold. */
export const BATCH_INSTRUCTIONS_MAX = 500;

/**
 * A partner's references (member, orderRef, jti): 1 to REFERENCE_LENGTH_MAX printable ASCII
 * characters, no spaces, so that what is signed reads the same everywhere.
 */
export const REFERENCE_PATTERN = /^[\x21-\x7E]{1,128}$/;

/** `occurredAt`: an RFC 3339 instant with seconds and a zone (a local time means different instants). */
export const OCCURRED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Why a partner grants points (op "grant"): compensation after a bad experience, or surprise and delight. */
export const GRANT_KINDS = ['compensation', 'surprise_and_delight'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];
/** The reason codes a grant may carry. */
export const GRANT_REASON_CODES = ['late_delivery', 'damaged_item', 'service_failure', 'goodwill', 'other'] as const;
export type GrantReasonCode = (typeof GRANT_REASON_CODES)[number];
/** The longest note a grant may carry. */
export const GRANT_NOTE_LENGTH_MAX = 500;
