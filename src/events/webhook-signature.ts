/**
 * Signing a webhook delivery (Standard Webhooks, docs/webhooks.md): the content
 * `id.timestamp.body` is signed with the hub's Ed25519 key (`v1a`, verifiable from the JWKS, the
 * key named by `webhook-key-id`) and, when the endpoint has a `whsec_` secret, with HMAC-SHA256
 * (`v1`). No I/O: the delivery job sends the body and these headers as they are.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  decodeWebhookSecret,
  webhookSignedContent,
  WEBHOOK_HEADERS,
  WEBHOOK_ID_PATTERN,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_SIGNATURE_ED25519,
  WEBHOOK_SIGNATURE_HMAC,
} from '@coalition-hub/partner-sdk';
import type { DetachedSignature } from '../hub-keys/hub-keys';

/** What signs `v1a`: HubKeys, which keeps its private key to itself. */
export interface DetachedSigner {
  signDetached(bytes: Uint8Array): Promise<DetachedSignature>;
}

export interface WebhookToSign {
  /** The event id: the same on every attempt, the receiver's dedupe key. */
  id: string;
  /** Unix seconds of this attempt (a retry is signed again with its own time). */
  timestampSeconds: number;
  /** The exact bytes (or UTF-8 text) that will be sent as the body. */
  body: string | Uint8Array;
  signer: DetachedSigner;
  /** The endpoint's `whsec_…` secret, if it has one. */
  secret?: string;
}

/** A type alias, not an interface, so that it passes where a plain header record is expected. */
export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'webhook-key-id': string;
};

const ED25519_SIGNATURE_BYTES = 64;

export async function signWebhook(input: WebhookToSign): Promise<WebhookSignatureHeaders> {
  if (!WEBHOOK_ID_PATTERN.test(input.id)) throw new TypeError('webhook id must be 1..128 of A-Z a-z 0-9 _ -');
  if (!Number.isSafeInteger(input.timestampSeconds) || input.timestampSeconds < 0) {
    throw new TypeError('webhook timestamp must be whole seconds since the epoch');
  }
  const timestamp = String(input.timestampSeconds);
  const content = webhookSignedContent(input.id, timestamp, input.body);
  const { kid, signature } = await input.signer.signDetached(content);
  if (signature.length !== ED25519_SIGNATURE_BYTES) throw new Error('the hub key did not make an Ed25519 signature');
  const signatures = [`${WEBHOOK_SIGNATURE_ED25519},${Buffer.from(signature).toString('base64')}`];
  if (input.secret !== undefined) {
    const hmac = createHmac('sha256', decodeWebhookSecret(input.secret)).update(content).digest('base64');
    signatures.push(`${WEBHOOK_SIGNATURE_HMAC},${hmac}`);
  }
  return {
    [WEBHOOK_HEADERS.id]: input.id,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.signature]: signatures.join(' '),
    [WEBHOOK_HEADERS.keyId]: kid,
  };
}

/** A fresh per-endpoint secret: `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64). */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}
