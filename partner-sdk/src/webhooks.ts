/**
 * Verifying a webhook delivery from the hub (Standard Webhooks): the timestamp is within the
 * tolerance, one signature over `id.timestamp.body` verifies — `v1a` (Ed25519) against the hub's
 * JWKS, or `v1` (HMAC-SHA256) with the endpoint's secret — and the body is an event envelope
 * whose id is the `webhook-id`. Anything else is a WebhookVerificationError. See docs/webhooks.md.
 */
import { createHmac, timingSafeEqual, webcrypto } from 'node:crypto';
import { errors, type CryptoKey } from 'jose';
import { HubRequestError, WebhookVerificationError } from './errors';
import {
  decodeWebhookSecret,
  isEventType,
  webhookSignedContent,
  WEBHOOK_HEADERS,
  WEBHOOK_ID_PATTERN,
  WEBHOOK_SIGNATURE_ED25519,
  WEBHOOK_SIGNATURE_HMAC,
  WEBHOOK_TIMESTAMP_PATTERN,
  WEBHOOK_TOLERANCE_SECONDS_DEFAULT,
  type EventEnvelope,
} from './events';
import { reportUnavailableKeys, type JwksGetter } from './receipts';

/** Node's `req.headers`, a plain object with any header case, or a fetch `Headers`. */
export type WebhookHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

export interface VerifyWebhookOptions {
  /** The hub's keys (`hubJwks(hubUrl)`): accepts a `v1a` signature by a published Ed25519 key. */
  jwks?: JwksGetter;
  /** The endpoint's `whsec_…` secret: accepts a `v1` HMAC signature. */
  secret?: string;
  /** Largest accepted distance between `webhook-timestamp` and now, either way; default 300. */
  toleranceSeconds?: number;
  /** Verification time, for tests; default now. */
  now?: Date;
}

/** More signatures than this in one header is not a delivery from the hub (it sends one or two). */
const SIGNATURES_MAX = 8;
const SIGNATURE_ENTRY = /^(v[0-9a-z]+),([A-Za-z0-9+/]+={0,2})$/;
const KID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const HMAC_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/**
 * Verifies a delivery and returns its event. `rawBody` must be the bytes received, before any
 * JSON parsing. Throws WebhookVerificationError when the delivery is not proven to come from the
 * hub unchanged and recently; HubRequestError (JWKS_UNAVAILABLE) when the hub's keys could not be
 * fetched, which says nothing about the delivery (answer 5xx so that the hub retries).
 */
export async function verifyWebhook(
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  options: VerifyWebhookOptions,
): Promise<EventEnvelope> {
  if (!options.jwks && options.secret === undefined) throw new TypeError('verifyWebhook needs the hub jwks, an endpoint secret, or both');
  const hmacKey = options.secret === undefined ? undefined : decodeWebhookSecret(options.secret);
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) throw new TypeError('rawBody must be a string or bytes');
  const id = readHeader(headers, WEBHOOK_HEADERS.id, WEBHOOK_ID_PATTERN);
  const timestamp = readHeader(headers, WEBHOOK_HEADERS.timestamp, WEBHOOK_TIMESTAMP_PATTERN);
  const signatures = parseSignatures(readHeader(headers, WEBHOOK_HEADERS.signature));
  const kid = readOptionalHeader(headers, WEBHOOK_HEADERS.keyId, KID_PATTERN);
  checkTimestamp(Number(timestamp), options);

  const content = webhookSignedContent(id, timestamp, rawBody);
  const hmacs = hmacKey ? signaturesOf(signatures, WEBHOOK_SIGNATURE_HMAC, HMAC_BYTES) : [];
  const ed25519s = options.jwks ? signaturesOf(signatures, WEBHOOK_SIGNATURE_ED25519, ED25519_SIGNATURE_BYTES) : [];
  if (hmacs.length === 0 && ed25519s.length === 0) {
    throw new WebhookVerificationError('no-signature', 'no signature of a kind this receiver checks', {
      header: WEBHOOK_HEADERS.signature,
    });
  }
  // HMAC first: it needs no key fetch.
  const valid = (hmacKey && verifiesHmac(hmacKey, content, hmacs)) || (await verifiesEd25519(options.jwks, kid, content, ed25519s));
  if (!valid) throw new WebhookVerificationError('signature', 'no signature verifies', { header: WEBHOOK_HEADERS.signature });
  return parseEnvelope(rawBody, id);
}

function readOptionalHeader(headers: WebhookHeaders, name: string, pattern?: RegExp): string | undefined {
  let value: string | undefined;
  if (typeof headers.get === 'function') {
    value = (headers as { get(name: string): string | null }).get(name) ?? undefined;
  } else {
    const record = headers as Record<string, string | string[] | undefined>;
    const keys = Object.keys(record).filter((key) => key.toLowerCase() === name && record[key] !== undefined);
    if (keys.length > 1) throw new WebhookVerificationError('duplicate-header', `${name} is sent twice`, { header: name });
    const raw = keys.length === 1 ? record[keys[0]!] : undefined;
    if (Array.isArray(raw) && raw.length > 1)
      throw new WebhookVerificationError('duplicate-header', `${name} is sent twice`, { header: name });
    value = Array.isArray(raw) ? raw[0] : raw;
  }
  if (value === undefined) return undefined;
  // Node and fetch join a repeated header with ", ": no value the hub sends contains that.
  if (value.includes(', ')) throw new WebhookVerificationError('duplicate-header', `${name} is sent twice`, { header: name });
  if (pattern && !pattern.test(value)) throw new WebhookVerificationError('malformed-header', `${name} is malformed`, { header: name });
  return value;
}

function readHeader(headers: WebhookHeaders, name: string, pattern?: RegExp): string {
  const value = readOptionalHeader(headers, name, pattern);
  if (value === undefined || value === '') throw new WebhookVerificationError('missing-header', `${name} is missing`, { header: name });
  return value;
}

interface VersionedSignature {
  version: string;
  signature: Buffer;
}

function parseSignatures(header: string): VersionedSignature[] {
  const fail = () =>
    new WebhookVerificationError('malformed-header', 'webhook-signature is malformed', { header: WEBHOOK_HEADERS.signature });
  const entries = header.trim().split(' ');
  if (entries.length > SIGNATURES_MAX) throw fail();
  return entries.map((entry) => {
    const match = SIGNATURE_ENTRY.exec(entry);
    if (!match || match[2]!.length % 4 !== 0) throw fail();
    return { version: match[1]!, signature: Buffer.from(match[2]!, 'base64') };
  });
}

/** Signatures of one version; unknown versions are skipped (the spec lets a sender add new ones). */
function signaturesOf(signatures: VersionedSignature[], version: string, bytes: number): Buffer[] {
  return signatures.filter((entry) => entry.version === version && entry.signature.length === bytes).map((entry) => entry.signature);
}

function checkTimestamp(timestampSeconds: number, options: VerifyWebhookOptions): void {
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS_DEFAULT;
  if (!Number.isInteger(tolerance) || tolerance < 0) throw new RangeError('toleranceSeconds must be a whole number of seconds');
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (nowSeconds - timestampSeconds > tolerance) {
    throw new WebhookVerificationError('stale', 'webhook-timestamp is too old', { header: WEBHOOK_HEADERS.timestamp });
  }
  if (timestampSeconds - nowSeconds > tolerance) {
    throw new WebhookVerificationError('future', 'webhook-timestamp is in the future', { header: WEBHOOK_HEADERS.timestamp });
  }
}

function verifiesHmac(key: Buffer, content: Uint8Array, candidates: Buffer[]): boolean {
  const expected = createHmac('sha256', key).update(content).digest();
  // Every candidate is compared, in constant time each, so that timing says nothing about which one failed.
  let valid = false;
  for (const candidate of candidates) valid = timingSafeEqual(candidate, expected) || valid;
  return valid;
}

/**
 * With `webhook-key-id`, the one Ed25519 key of that kid in the hub's JWKS (an unknown kid makes
 * the SDK's key set fetch the JWKS again, as after a rotation); without it, every published
 * Ed25519 key. The key comes from the trusted JWKS either way: the header only picks one.
 */
async function verifiesEd25519(jwks: JwksGetter | undefined, kid: string | undefined, content: Uint8Array, candidates: Buffer[]) {
  if (!jwks || candidates.length === 0) return false;
  for (const key of await ed25519Keys(jwks, kid)) {
    for (const candidate of candidates) {
      if (await webcrypto.subtle.verify('Ed25519', key as webcrypto.CryptoKey, candidate, content)) return true;
    }
  }
  return false;
}

async function ed25519Keys(jwks: JwksGetter, kid: string | undefined): Promise<CryptoKey[]> {
  const found: CryptoKey[] = [];
  try {
    found.push(await reportUnavailableKeys(jwks)({ alg: 'EdDSA', ...(kid === undefined ? {} : { kid }) }));
  } catch (error) {
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      for await (const key of error) found.push(key);
    } else if (error instanceof errors.JWKSNoMatchingKey) {
      throw new WebhookVerificationError(
        'unknown-key',
        kid ? `the hub publishes no Ed25519 key ${kid}` : 'the hub publishes no Ed25519 key',
        {
          header: kid ? WEBHOOK_HEADERS.keyId : undefined,
          cause: error,
        },
      );
    } else {
      throw error instanceof HubRequestError
        ? error
        : new HubRequestError('JWKS_UNAVAILABLE', 'could not use the hub signing keys', { cause: error });
    }
  }
  return found.filter((key) => key.algorithm.name === 'Ed25519');
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The signed body as an event envelope; its id must be the `webhook-id` that was signed with it. */
function parseEnvelope(rawBody: string | Uint8Array, id: string): EventEnvelope {
  const fail = (message: string, cause?: unknown) => new WebhookVerificationError('envelope', message, { cause });
  let body: unknown;
  try {
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
    body = JSON.parse(text);
  } catch (error) {
    throw fail('the body is not JSON', error);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('the body is not an event');
  const event = body as Record<string, unknown>;
  if (event.id !== id) throw fail('the event id is not the webhook-id');
  if (!isEventType(event.type)) throw fail(`unknown event type ${String(event.type)}`);
  if (typeof event.version !== 'number' || !Number.isSafeInteger(event.version) || event.version < 1) throw fail('bad event version');
  if (typeof event.occurredAt !== 'string' || !ISO_TIME.test(event.occurredAt) || Number.isNaN(Date.parse(event.occurredAt))) {
    throw fail('bad occurredAt');
  }
  if (typeof event.partnerId !== 'string' || event.partnerId.length === 0) throw fail('bad partnerId');
  if (event.memberId !== null && (typeof event.memberId !== 'string' || event.memberId.length === 0)) throw fail('bad memberId');
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) throw fail('bad data');
  return event as unknown as EventEnvelope;
}
