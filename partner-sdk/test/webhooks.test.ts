/**
 * verifyWebhook from the receiver's side, against signatures made by hand with node:crypto as
 * docs/webhooks.md describes them (the hub's own signer is tested with the hub), and against a
 * JWKS fetched over "HTTP" that changes when the hub rotates its key.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, customFetch, type JWK } from 'jose';
import { EVENT_TYPES, verifyWebhook, WebhookVerificationError, type EventEnvelope, type JwksGetter } from '../src';
import { BASE_URL, jsonResponse } from './fake-hub';

interface ByHandKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

function byHandKey(kid: string): ByHandKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, publicJwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA', use: 'sig' } };
}

const event: EventEnvelope<'hold.expired'> = {
  id: 'evt_4f1c',
  type: 'hold.expired',
  version: 1,
  occurredAt: '2026-11-26T10:00:00Z',
  partnerId: 'ACME_COFFEE',
  memberId: 'mbr_01',
  data: { holdId: 'hold_1', amount: '40' },
};
const body = JSON.stringify(event);

/** The hub's headers, computed the way docs/webhooks.md says, with Node's crypto only. */
function deliveryHeaders(key: ByHandKey, options: { secret?: string; withKid?: boolean } = {}): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const content = Buffer.from(`${event.id}.${timestamp}.${body}`);
  const signatures = [`v1a,${sign(null, content, key.privateKey).toString('base64')}`];
  if (options.secret) {
    const raw = Buffer.from(options.secret.slice('whsec_'.length), 'base64');
    signatures.push(`v1,${createHmac('sha256', raw).update(content).digest('base64')}`);
  }
  return {
    'webhook-id': event.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
    ...(options.withKid === false ? {} : { 'webhook-key-id': key.kid }),
  };
}

/** A remote key set as hubJwks makes it, fetching whatever `served` holds at the time. */
function servedJwks(served: { keys: JWK[] }): { jwks: JwksGetter; fetches: () => number } {
  let fetches = 0;
  const jwks = createRemoteJWKSet(new URL(`${BASE_URL}/.well-known/jwks.json`), {
    cooldownDuration: 0,
    [customFetch]: async () => {
      fetches += 1;
      return jsonResponse({ keys: [...served.keys] });
    },
  }) as unknown as JwksGetter;
  return { jwks, fetches: () => fetches };
}

it('verifies a delivery signed by hand as the docs describe, and returns its typed event', async () => {
  const key = byHandKey('hub-1');
  const { jwks } = servedJwks({ keys: [key.publicJwk] });
  const verified = await verifyWebhook(deliveryHeaders(key), body, { jwks });
  expect(verified).toEqual(event);
  expect(EVENT_TYPES).toContain(verified.type);
});

it('verifies the v1 HMAC signature with the endpoint secret alone', async () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  await expect(verifyWebhook(deliveryHeaders(byHandKey('hub-1'), { secret }), body, { secret })).resolves.toEqual(event);
});

it('after a key rotation fetches the JWKS again for the new kid named by webhook-key-id', async () => {
  const old = byHandKey('hub-old');
  const next = byHandKey('hub-new');
  const served = { keys: [old.publicJwk] };
  const { jwks, fetches } = servedJwks(served);
  await expect(verifyWebhook(deliveryHeaders(old), body, { jwks })).resolves.toEqual(event);
  expect(fetches()).toBe(1);

  served.keys = [next.publicJwk, old.publicJwk];
  await expect(verifyWebhook(deliveryHeaders(next), body, { jwks })).resolves.toEqual(event);
  expect(fetches()).toBe(2);
});

it('without webhook-key-id a receiver with a cached key set misses a rotation: why the hub sends the kid', async () => {
  const old = byHandKey('hub-old');
  const next = byHandKey('hub-new');
  const served = { keys: [old.publicJwk] };
  const { jwks, fetches } = servedJwks(served);
  await verifyWebhook(deliveryHeaders(old, { withKid: false }), body, { jwks });
  served.keys = [next.publicJwk, old.publicJwk];
  // The cached old key matches "any Ed25519 key", so nothing is fetched and the signature fails.
  await expect(verifyWebhook(deliveryHeaders(next, { withKid: false }), body, { jwks })).rejects.toMatchObject({
    constructor: WebhookVerificationError,
    reason: 'signature',
  });
  expect(fetches()).toBe(1);
});

it('needs a JWKS or a secret to check anything', async () => {
  await expect(verifyWebhook(deliveryHeaders(byHandKey('hub-1')), body, {})).rejects.toThrow(TypeError);
});
