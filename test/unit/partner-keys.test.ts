/**
 * validatePublicJwk: the hub registers only Ed25519 (EdDSA) and P-256 (ES256) public keys with a
 * kid, and keeps only their public members. Private or symmetric key material never reaches it.
 */
import { base64url, exportJWK, generateKeyPair, generateSecret, type JWK } from 'jose';
import { generatePartnerKey } from '@coalition-hub/partner-sdk';
import { DomainError, ErrorCode, isDomainError } from '../../src/common/errors';
import { validatePublicJwk, type ValidPublicKey } from '../../src/partners/partner-keys';

async function publicJwk(alg: 'EdDSA' | 'ES256' | 'ES384' | 'RS256', kid = 'key-1'): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(publicKey)), kid };
}

async function privateJwk(alg: 'EdDSA' | 'ES256', kid = 'key-1'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

async function expectAccepted(input: unknown): Promise<ValidPublicKey> {
  const result = await validatePublicJwk(input);
  if (isDomainError(result)) throw new Error(`expected the key to be accepted, got ${result.code}: ${result.message}`);
  return result;
}

async function expectRefused(input: unknown): Promise<DomainError> {
  const result = await validatePublicJwk(input);
  if (!isDomainError(result)) throw new Error(`expected INVALID_PARTNER_KEY, but the key was accepted: ${JSON.stringify(result)}`);
  expect(result.code).toBe(ErrorCode.INVALID_PARTNER_KEY);
  return result;
}

describe('validatePublicJwk accepts', () => {
  it('an Ed25519 public JWK as EdDSA, keeping only kty, crv, x and adding kid, alg and use', async () => {
    const jwk = await publicJwk('EdDSA', 'acme-2025');
    expect(await expectAccepted(jwk)).toEqual({
      kid: 'acme-2025',
      alg: 'EdDSA',
      publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: 'acme-2025', alg: 'EdDSA', use: 'sig' },
    });
  });

  it('a P-256 public JWK as ES256, keeping only kty, crv, x, y and adding kid, alg and use', async () => {
    const jwk = await publicJwk('ES256', 'bolt-1');
    expect(await expectAccepted(jwk)).toEqual({
      kid: 'bolt-1',
      alg: 'ES256',
      publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: 'bolt-1', alg: 'ES256', use: 'sig' },
    });
  });

  it.each(['EdDSA', 'ES256'] as const)('the public JWK the partner SDK hands out for %s', async (alg) => {
    const key = await generatePartnerKey(alg, 'sdk-key');
    const accepted = await expectAccepted(key.publicJwk);
    expect(accepted.alg).toBe(alg);
    expect(accepted.publicJwk).toEqual(key.publicJwk);
  });

  it('a JWK with extra public members (ext, key_ops, x5c), dropping them', async () => {
    const jwk = { ...(await publicJwk('EdDSA')), ext: true, key_ops: ['verify'], x5c: ['MIIB...'], 'x-note': 'hi' };
    const accepted = await expectAccepted(jwk);
    expect(Object.keys(accepted.publicJwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  });

  it.each([
    ['a one-character kid', 'k'],
    ['a 128-character kid', 'k'.repeat(128)],
    ['a kid with punctuation', 'acme:2025-01/ed#1'],
  ])('%s', async (_, kid) => {
    expect((await expectAccepted(await publicJwk('ES256', kid))).kid).toBe(kid);
  });
});

describe('validatePublicJwk refuses as INVALID_PARTNER_KEY', () => {
  it.each(['EdDSA', 'ES256'] as const)('an %s private JWK (with "d"), without echoing it back', async (alg) => {
    const jwk = await privateJwk(alg);
    const refused = await expectRefused(jwk);
    expect(refused.message).not.toContain(String(jwk.d));
  });

  it('a public JWK that carries a "d" member, even an empty one', async () => {
    await expectRefused({ ...(await publicJwk('EdDSA')), d: '' });
  });

  it('a symmetric "oct" key', async () => {
    const secret = await exportJWK(await generateSecret('HS256', { extractable: true }));
    await expectRefused({ ...secret, kid: 'hmac-1' });
  });

  it('an "oct" key without "k"', async () => {
    await expectRefused({ kty: 'oct', kid: 'hmac-1', alg: 'HS256' });
  });

  it('an RSA public key', async () => {
    await expectRefused(await publicJwk('RS256'));
  });

  it('an RSA private key (with "p")', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    await expectRefused({ ...(await exportJWK(privateKey)), kid: 'rsa-1' });
  });

  it.each(['enc', 'other'])('a key marked for use "%s" (a signing key has use "sig")', async (use) => {
    await expectRefused({ ...(await publicJwk('EdDSA')), use });
  });

  it('a P-384 key', async () => {
    await expectRefused(await publicJwk('ES384'));
  });

  it('an X25519 (key agreement) key', async () => {
    const { publicKey } = await generateKeyPair('ECDH-ES', { crv: 'X25519', extractable: true });
    await expectRefused({ ...(await exportJWK(publicKey)), kid: 'x-1' });
  });

  it.each([
    ['is missing', undefined],
    ['is empty', ''],
    ['is longer than 128 characters', 'k'.repeat(129)],
    ['contains a space', 'key 1'],
    ['is not ASCII', 'clé'],
    ['is not a string', 7],
  ])('a JWK whose kid %s', async (_, kid) => {
    const jwk: Record<string, unknown> = { ...(await publicJwk('EdDSA')) };
    if (kid === undefined) delete jwk.kid;
    else jwk.kid = kid;
    await expectRefused(jwk);
  });

  it.each([
    ['an Ed25519 key declared ES256', 'EdDSA', 'ES256'],
    ['an Ed25519 key declared Ed25519 (the curve, not the algorithm)', 'EdDSA', 'Ed25519'],
    ['a P-256 key declared EdDSA', 'ES256', 'EdDSA'],
    ['a P-256 key declared ES384', 'ES256', 'ES384'],
    ['a P-256 key declared HS256', 'ES256', 'HS256'],
    ['a P-256 key declared none', 'ES256', 'none'],
  ] as const)('%s', async (_, keyAlg, declared) => {
    await expectRefused({ ...(await publicJwk(keyAlg)), alg: declared });
  });

  it.each([
    ['not base64url', '!!garbage!!'],
    ['too short', 'garbage'],
    ['empty', ''],
    ['missing', undefined],
    ['a number', 42],
  ])('an Ed25519 JWK whose x is %s', async (_, x) => {
    await expectRefused({ kty: 'OKP', crv: 'Ed25519', kid: 'k-1', x });
  });

  it('a P-256 JWK whose point is not on the curve (x and y from different keys)', async () => {
    const a = await publicJwk('ES256');
    const b = await publicJwk('ES256');
    await expectRefused({ ...a, y: b.y });
  });

  it('a P-256 JWK without y', async () => {
    const jwk: Record<string, unknown> = { ...(await publicJwk('ES256')) };
    delete jwk.y;
    await expectRefused(jwk);
  });

  // The all-zero encoding is a point of small order: signatures "by" it can be forged without any
  // private key, so a partner registering it could later disown every instruction signed under it.
  it('an Ed25519 JWK whose x is a small-order point (all zero bytes)', async () => {
    await expectRefused({ kty: 'OKP', crv: 'Ed25519', kid: 'weak-1', x: base64url.encode(new Uint8Array(32)) });
  });

  it.each([
    ['null', null],
    ['a JSON string', '{"kty":"OKP"}'],
    ['an array', [{ kty: 'OKP' }]],
    ['a JWKS', { keys: [] }],
  ])('input that is %s rather than one JWK object', async (_, input) => {
    await expectRefused(input);
  });
});
