/**
 * Hub events and their webhook delivery, in one place so that the hub (which signs and sends
 * them) and the SDK (which verifies them) cannot disagree. See docs/webhooks.md.
 */

/**
 * Every event type the hub emits. The hub imports this list; a receiver only gets the types its
 * endpoint subscribed to. Planned later: reward.redeemed, entitlement.used, campaign.budget_exhausted.
 */
export const EVENT_TYPES = [
  'points.issued',
  'points.granted',
  'referral.bonus_paid',
  'stamps.card_completed',
  'points.redeemed',
  'points.reversed',
  'points.transferred',
  'points.expired',
  'points.vested',
  'hold.authorized',
  'hold.captured',
  'hold.voided',
  'hold.expired',
  'member.enrolled',
  'member.linked',
  'exchange.executed',
  'tier.changed',
  'statement.issued',
  'statement.acknowledged',
  'statement.disputed',
  'statement.resolved',
  'funding.recorded',
  'funding.limit_reached',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && (EVENT_TYPES as readonly string[]).includes(type);
}

/** The body of a webhook delivery (and of an event in the feed). Amounts in `data` are decimal strings. */
export interface EventEnvelope<T extends EventType = EventType> {
  /** Stable and unique; equal to the `webhook-id` header: the receiver's dedupe key. */
  id: string;
  type: T;
  /** Version of the `data` schema of this type; starts at 1. */
  version: number;
  /** ISO 8601 time of the change (not of the delivery attempt). */
  occurredAt: string;
  /** The partner whose scope the event belongs to. */
  partnerId: string;
  /** The hub's id of the member concerned; null for events about no member (statements, funding). */
  memberId: string | null;
  data: Record<string, unknown>;
}

/** Standard Webhooks headers, plus the hub's key hint (not part of the signed content). */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  /** The JWKS `kid` of the hub key behind the `v1a` signature: picks one key of the trusted JWKS. */
  keyId: 'webhook-key-id',
} as const;

/** Signature identifiers of the Standard Webhooks spec: `v1` HMAC-SHA256, `v1a` Ed25519. */
export const WEBHOOK_SIGNATURE_HMAC = 'v1';
export const WEBHOOK_SIGNATURE_ED25519 = 'v1a';

/** How a per-endpoint HMAC secret is written: `whsec_` + base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_BYTES_MIN = 24;
export const WEBHOOK_SECRET_BYTES_MAX = 64;

/** A receiver rejects a delivery whose timestamp is further than this from its clock (either way). */
export const WEBHOOK_TOLERANCE_SECONDS_DEFAULT = 300;

/**
 * What a `webhook-id` may look like: no `.`, since the signed content is `id.timestamp.body`,
 * and nothing a header cannot carry.
 */
export const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Unix seconds, digits only. */
export const WEBHOOK_TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;

/** The bytes both signatures cover: `${id}.${timestamp}.` followed by the raw body, exactly as sent. */
export function webhookSignedContent(id: string, timestamp: number | string, body: string | Uint8Array): Uint8Array {
  const prefix = Buffer.from(`${id}.${timestamp}.`, 'utf8');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([prefix, bytes]);
}

/** The raw key of a `whsec_…` secret; throws TypeError for anything else. */
export function decodeWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new TypeError(`a webhook secret starts with ${WEBHOOK_SECRET_PREFIX}`);
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new TypeError('a webhook secret is whsec_ followed by standard base64');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < WEBHOOK_SECRET_BYTES_MIN || key.length > WEBHOOK_SECRET_BYTES_MAX) {
    throw new TypeError(`a webhook secret holds ${WEBHOOK_SECRET_BYTES_MIN} to ${WEBHOOK_SECRET_BYTES_MAX} bytes`);
  }
  return key;
}
