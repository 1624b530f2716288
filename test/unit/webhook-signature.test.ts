/**
 * Webhook signatures (Standard Webhooks): what the hub signs, the partner SDK verifies, and only
 * that; the `v1` HMAC form interoperates with the `standardwebhooks` reference library both
 * ways. No I/O: the hub key is an Ed25519 key made here, signing through the same
 * `signDetached` shape HubKeys offers (HubKeys itself is checked in test/e2e/webhook-hub-key).
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as cryptoVerify, webcrypto, type JsonWebKey } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Webhook, WebhookVerificationError as ReferenceVerificationError } from 'standardwebhooks';
import {
  EVENT_TYPES,
  HubRequestError,
  verifyWebhook,
  WebhookVerificationError,
  type EventEnvelope,
  type JwksGetter,
  type VerifyWebhookOptions,
} from '@coalition-hub/partner-sdk';
import { newWebhookSecret, signWebhook, type DetachedSigner, type WebhookSignatureHeaders } from '../../src/events/webhook-signature';

interface TestHubKey {
  kid: string;
  signer: DetachedSigner;
  publicJwk: JWK;
}

async function makeHubKey(kid: string): Promise<TestHubKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const signer: DetachedSigner = {
    signDetached: async (bytes) => ({
      kid,
      signature: new Uint8Array(await webcrypto.subtle.sign('Ed25519', privateKey as webcrypto.CryptoKey, bytes)),
    }),
  };
  return { kid, signer, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

const jwksOf = (...keys: TestHubKey[]): JwksGetter =>
  createLocalJWKSet({ keys: keys.map((key) => key.publicJwk) }) as unknown as JwksGetter;

const NOW = new Date('2026-11-26T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const EVENT_ID = 'evt_0b6f2c1e-6c1f-4c3e-9a55-5f3b3a2f9c10';

function envelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: EVENT_ID,
    type: 'points.issued',
    version: 1,
    occurredAt: '2026-11-26T11:59:58.123Z',
    partnerId: 'ACME',
    memberId: '2b1c0d6e-9f8a-4b7c-8d6e-5f4a3b2c1d0e',
    data: { entryId: 'e1', amount: '150', balance: '1150' },
    ...overrides,
  };
}

let hub: TestHubKey;
let rotated: TestHubKey;
let stranger: TestHubKey;
const secret = newWebhookSecret();

beforeAll(async () => {
  [hub, rotated, stranger] = await Promise.all([makeHubKey('hub-aaaa1111'), makeHubKey('hub-bbbb2222'), makeHubKey('hub-aaaa1111')]);
});

async function signed(body = JSON.stringify(envelope()), options: { secret?: string; signer?: DetachedSigner; at?: number } = {}) {
  const headers = await signWebhook({
    id: EVENT_ID,
    timestampSeconds: options.at ?? NOW_SECONDS,
    body,
    signer: options.signer ?? hub.signer,
    ...(options.secret === undefined ? {} : { secret: options.secret }),
  });
  return { headers, body };
}

const verify = (
  headers: Record<string, string | string[] | undefined>,
  body: string | Uint8Array,
  options: Partial<VerifyWebhookOptions> = {},
) => verifyWebhook(headers, body, { jwks: jwksOf(hub, rotated), now: NOW, ...options });

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('signWebhook', () => {
  it('sends the Standard Webhooks headers: id, timestamp, a v1a Ed25519 signature, and the kid of the key behind it', async () => {
    const { headers } = await signed();
    expect(headers['webhook-id']).toBe(EVENT_ID);
    expect(headers['webhook-timestamp']).toBe(String(NOW_SECONDS));
    expect(headers['webhook-key-id']).toBe('hub-aaaa1111');
    expect(headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
  });

  it('adds a v1 HMAC-SHA256 over id.timestamp.body when the endpoint has a whsec_ secret', async () => {
    const body = JSON.stringify(envelope());
    const { headers } = await signed(body, { secret });
    const [ed25519, hmac, ...rest] = headers['webhook-signature'].split(' ');
    expect(rest).toEqual([]);
    expect(ed25519).toMatch(/^v1a,/);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(hmac).toBe(`v1,${createHmac('sha256', key).update(`${EVENT_ID}.${NOW_SECONDS}.${body}`).digest('base64')}`);
  });

  it('signs the bytes of a Buffer body exactly as a string body with the same text', async () => {
    const body = JSON.stringify(envelope({ data: { note: 'café ✓' } }));
    const fromString = await signed(body, { secret });
    const fromBytes = await signWebhook({
      id: EVENT_ID,
      timestampSeconds: NOW_SECONDS,
      body: Buffer.from(body),
      signer: hub.signer,
      secret,
    });
    expect(fromBytes).toEqual(fromString.headers);
  });

  it('refuses an id with a full stop (it would blur id.timestamp.body), a fractional timestamp and a malformed secret', async () => {
    const base = { timestampSeconds: NOW_SECONDS, body: '{}', signer: hub.signer };
    await expect(signWebhook({ ...base, id: 'evt.1' })).rejects.toThrow(TypeError);
    await expect(signWebhook({ ...base, id: EVENT_ID, timestampSeconds: 1.5 })).rejects.toThrow(TypeError);
    await expect(signWebhook({ ...base, id: EVENT_ID, secret: 'whsec_c2hvcnQ=' })).rejects.toThrow(/24 to 64 bytes/);
    await expect(signWebhook({ ...base, id: EVENT_ID, secret: Buffer.alloc(32).toString('base64') })).rejects.toThrow(/whsec_/);
  });

  it('makes a fresh 32-byte secret each time', () => {
    const made = newWebhookSecret();
    expect(made).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(made.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(made);
  });
});

describe('verifyWebhook (partner SDK)', () => {
  it('returns the typed event of a delivery signed by the hub key (round trip, from a string or the raw bytes)', async () => {
    const { headers, body } = await signed();
    await expect(verify(headers, body)).resolves.toEqual(envelope());
    await expect(verify(headers, Buffer.from(body))).resolves.toEqual(envelope());
  });

  it('rejects a tampered body, id or timestamp', async () => {
    const { headers, body } = await signed();
    expect(await reasonOf(verify(headers, body.replace('"150"', '"151"')))).toBe('signature');
    expect(await reasonOf(verify({ ...headers, 'webhook-id': 'evt_other' }, body))).toBe('signature');
    expect(await reasonOf(verify({ ...headers, 'webhook-timestamp': String(NOW_SECONDS - 1) }, body))).toBe('signature');
  });

  it('rejects a stale or future timestamp (default tolerance 5 minutes either way), and accepts at the edge', async () => {
    const { headers, body } = await signed();
    await expect(verify(headers, body, { now: new Date(NOW.getTime() + 300_000) })).resolves.toBeDefined();
    expect(await reasonOf(verify(headers, body, { now: new Date(NOW.getTime() + 301_000) }))).toBe('stale');
    expect(await reasonOf(verify(headers, body, { now: new Date(NOW.getTime() - 301_000) }))).toBe('future');
    expect(await reasonOf(verify(headers, body, { now: new Date(NOW.getTime() + 61_000), toleranceSeconds: 60 }))).toBe('stale');
  });

  it('rejects a signature by a key the hub does not publish, even under a published kid', async () => {
    const { headers, body } = await signed(undefined, { signer: stranger.signer });
    expect(headers['webhook-key-id']).toBe(hub.kid);
    expect(await reasonOf(verify(headers, body))).toBe('signature');
    const { 'webhook-key-id': _dropped, ...withoutKid } = headers;
    expect(await reasonOf(verify(withoutKid, body))).toBe('signature');
  });

  it('rejects a kid the hub does not publish as unknown-key', async () => {
    const { headers, body } = await signed();
    expect(await reasonOf(verify(headers, body, { jwks: jwksOf(rotated) }))).toBe('unknown-key');
  });

  it('without webhook-key-id tries every published Ed25519 key (for receivers behind a proxy that drops it)', async () => {
    const { headers, body } = await signed(undefined, { signer: rotated.signer });
    const { 'webhook-key-id': _dropped, ...withoutKid } = headers;
    await expect(verify(withoutKid, body)).resolves.toEqual(envelope());
  });

  it('accepts a header with several signatures when one of them is valid, and skips unknown versions', async () => {
    const { headers, body } = await signed();
    const forged = `v1a,${Buffer.alloc(64, 7).toString('base64')}`;
    const future = `v2,${Buffer.alloc(32, 1).toString('base64')}`;
    const several = { ...headers, 'webhook-signature': `${forged} ${future} ${headers['webhook-signature']}` };
    await expect(verify(several, body)).resolves.toEqual(envelope());
    expect(await reasonOf(verify({ ...headers, 'webhook-signature': `${forged} ${future}` }, body))).toBe('signature');
  });

  it('verifies HMAC only, with the endpoint secret and no JWKS, and rejects a wrong secret', async () => {
    const { headers, body } = await signed(undefined, { secret });
    await expect(verifyWebhook(headers, body, { secret, now: NOW })).resolves.toEqual(envelope());
    expect(await reasonOf(verifyWebhook(headers, body, { secret: newWebhookSecret(), now: NOW }))).toBe('signature');
    const v1aOnly = await signed();
    expect(await reasonOf(verifyWebhook(v1aOnly.headers, v1aOnly.body, { secret, now: NOW }))).toBe('no-signature');
  });

  it('rejects missing, duplicate and malformed headers with the header named', async () => {
    const { headers, body } = await signed();
    const failure = async (sent: Record<string, string | string[] | undefined>) => {
      try {
        await verify(sent, body);
      } catch (error) {
        if (error instanceof WebhookVerificationError) return [error.reason, error.header];
        throw error;
      }
      return ['accepted'];
    };
    const { 'webhook-timestamp': _t, ...noTimestamp } = headers;
    expect(await failure(noTimestamp)).toEqual(['missing-header', 'webhook-timestamp']);
    expect(await failure({ ...headers, 'webhook-signature': '' })).toEqual(['missing-header', 'webhook-signature']);
    expect(await failure({ ...headers, 'Webhook-Id': EVENT_ID })).toEqual(['duplicate-header', 'webhook-id']);
    expect(await failure({ ...headers, 'webhook-signature': [headers['webhook-signature'], headers['webhook-signature']] })).toEqual([
      'duplicate-header',
      'webhook-signature',
    ]);
    // How Node's IncomingMessage joins a repeated header.
    expect(await failure({ ...headers, 'webhook-id': `${EVENT_ID}, ${EVENT_ID}` })).toEqual(['duplicate-header', 'webhook-id']);
    expect(await failure({ ...headers, 'webhook-timestamp': `${NOW_SECONDS}.5` })).toEqual(['malformed-header', 'webhook-timestamp']);
    expect(await failure({ ...headers, 'webhook-id': 'evt.1' })).toEqual(['malformed-header', 'webhook-id']);
    expect(await failure({ ...headers, 'webhook-signature': 'v1a:abc' })).toEqual(['malformed-header', 'webhook-signature']);
  });

  it('reads a fetch Headers object, whose names are case-insensitive', async () => {
    const { headers, body } = await signed();
    const fetchHeaders = new Headers(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    await expect(verifyWebhook(fetchHeaders, body, { jwks: jwksOf(hub), now: NOW })).resolves.toEqual(envelope());
    fetchHeaders.append('webhook-id', EVENT_ID);
    expect(await reasonOf(verifyWebhook(fetchHeaders, body, { jwks: jwksOf(hub), now: NOW }))).toBe('duplicate-header');
  });

  it('rejects a signed body that is not an event envelope, or whose id is not the webhook-id', async () => {
    for (const body of [
      'not json',
      '[]',
      JSON.stringify(envelope({ id: 'evt_other' })),
      JSON.stringify(envelope({ type: 'points.minted' as never })),
      JSON.stringify(envelope({ version: 0 })),
      JSON.stringify(envelope({ occurredAt: 'yesterday' })),
      JSON.stringify(envelope({ memberId: 7 as never })),
      JSON.stringify(envelope({ data: null as never })),
    ]) {
      const sent = await signed(body);
      expect(await reasonOf(verify(sent.headers, sent.body))).toBe('envelope');
    }
    const statement = await signed(JSON.stringify(envelope({ type: 'statement.issued', memberId: null })));
    await expect(verify(statement.headers, statement.body)).resolves.toMatchObject({ type: 'statement.issued', memberId: null });
  });

  it('reports keys it could not fetch as HubRequestError (retry later), not as a forged delivery', async () => {
    const { headers, body } = await signed();
    const down: JwksGetter = () => Promise.reject(new TypeError('fetch failed'));
    await expect(verify(headers, body, { jwks: down })).rejects.toMatchObject({ constructor: HubRequestError, code: 'JWKS_UNAVAILABLE' });
  });

  it('lists every event type of the design once, each a dot-separated lower-case name', () => {
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    expect(EVENT_TYPES).toHaveLength(23);
    for (const type of EVENT_TYPES) expect(type).toMatch(/^[a-z]+(\.[a-z_]+)+$/);
  });

  it('accepts exactly the untampered deliveries (property)', async () => {
    const mutation = fc.constantFrom('none', 'body', 'id', 'timestamp', 'signature');
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.integer({ min: -300, max: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.boolean(),
        mutation,
        async (id, offset, note, withSecret, change) => {
          const body = JSON.stringify(envelope({ id, data: { note } }));
          const headers: WebhookSignatureHeaders = await signWebhook({
            id,
            timestampSeconds: NOW_SECONDS + offset,
            body,
            signer: hub.signer,
            ...(withSecret ? { secret } : {}),
          });
          let sentBody = body;
          const sent: Record<string, string> = { ...headers };
          if (change === 'body') sentBody = JSON.stringify(envelope({ id, data: { note: note + '!' } }));
          if (change === 'id') sent['webhook-id'] = id + 'x';
          if (change === 'timestamp') sent['webhook-timestamp'] = String(NOW_SECONDS + offset + 1);
          if (change === 'signature') sent['webhook-signature'] = flipOneBit(headers['webhook-signature']);
          const options = withSecret ? { jwks: jwksOf(hub, rotated), secret, now: NOW } : { jwks: jwksOf(hub, rotated), now: NOW };
          const outcome = await reasonOf(verifyWebhook(sent, sentBody, options));
          expect(outcome === 'accepted').toBe(change === 'none');
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Flips one bit inside every signature's bytes (so that each stays well-formed base64 of the right length). */
function flipOneBit(header: string): string {
  return header
    .split(' ')
    .map((entry) => {
      const [version, encoded] = entry.split(',');
      const bytes = Buffer.from(encoded!, 'base64');
      bytes[5] = bytes[5]! ^ 0x10;
      return `${version},${bytes.toString('base64')}`;
    })
    .join(' ');
}

describe('verifying by hand, as docs/webhooks.md describes, with Node crypto only', () => {
  it('the JWKS key named by webhook-key-id verifies the v1a signature over id.timestamp.body; the secret verifies v1', async () => {
    const body = JSON.stringify(envelope());
    const headers = await signWebhook({ id: EVENT_ID, timestampSeconds: NOW_SECONDS, body, signer: hub.signer, secret });
    const content = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`);
    const jwk = [hub.publicJwk, rotated.publicJwk].find((key) => key.kid === headers['webhook-key-id']);
    const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const entries = headers['webhook-signature'].split(' ').map((entry) => entry.split(','));
    const v1a = entries.filter(([version]) => version === 'v1a').map(([, signature]) => Buffer.from(signature!, 'base64'));
    expect(v1a.some((signature) => cryptoVerify(null, content, publicKey, signature))).toBe(true);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(content)
      .digest();
    const v1 = entries.filter(([version]) => version === 'v1').map(([, signature]) => Buffer.from(signature!, 'base64'));
    expect(v1.some((signature) => signature.length === expected.length && timingSafeEqual(signature, expected))).toBe(true);
    expect(cryptoVerify(null, Buffer.concat([content, Buffer.from(' ')]), publicKey, v1a[0]!)).toBe(false);
  });
});

describe('interoperability with the standardwebhooks reference library (1.1.1, v1 HMAC only)', () => {
  it('the library verifies our v1 HMAC signature (it skips our v1a entry, which it does not implement)', async () => {
    const body = JSON.stringify(envelope());
    const now = Math.floor(Date.now() / 1000);
    const headers = await signWebhook({ id: EVENT_ID, timestampSeconds: now, body, signer: hub.signer, secret });
    expect(headers['webhook-signature'].split(' ').map((entry) => entry.split(',')[0])).toEqual(['v1a', 'v1']);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(envelope());
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow(ReferenceVerificationError);
  });

  it('the library signs with the HMAC form we compute: its v1 signature is ours byte for byte', async () => {
    const body = JSON.stringify(envelope());
    const ours = await signWebhook({ id: EVENT_ID, timestampSeconds: NOW_SECONDS, body, signer: hub.signer, secret });
    expect(ours['webhook-signature'].split(' ')[1]).toBe(new Webhook(secret).sign(EVENT_ID, NOW, body));
  });

  it('our SDK verifies a signature the library produced', async () => {
    const body = JSON.stringify(envelope());
    const headers = {
      'webhook-id': EVENT_ID,
      'webhook-timestamp': String(NOW_SECONDS),
      'webhook-signature': new Webhook(secret).sign(EVENT_ID, NOW, body),
    };
    await expect(verifyWebhook(headers, body, { secret, now: NOW })).resolves.toEqual(envelope());
    expect(await reasonOf(verifyWebhook(headers, body + ' ', { secret, now: NOW }))).toBe('signature');
  });

  it('the library refuses a delivery signed only with v1a: it has no asymmetric verification', async () => {
    const body = JSON.stringify(envelope());
    const headers = await signWebhook({ id: EVENT_ID, timestampSeconds: Math.floor(Date.now() / 1000), body, signer: hub.signer });
    expect(() => new Webhook(secret).verify(body, { ...headers })).toThrow('No matching signature found');
  });
});
