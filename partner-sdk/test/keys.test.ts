import { CompactSign, compactVerify, importJWK } from 'jose';
import { exportPrivateJwk, generatePartnerKey, importPartnerKey, type PartnerAlgorithm, type PartnerKey } from '../src';

async function signsAndVerifies(signer: PartnerKey, verifier: PartnerKey): Promise<boolean> {
  const jws = await new CompactSign(new TextEncoder().encode('hello'))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .sign(signer.privateKey);
  const { payload } = await compactVerify(jws, await importJWK(verifier.publicJwk, verifier.alg));
  return new TextDecoder().decode(payload) === 'hello';
}

describe('partner keys', () => {
  it('generates an Ed25519 key by default, with kid "eddsa-<8 hex>" and a public JWK for the operator', async () => {
    const key = await generatePartnerKey();
    expect(key.alg).toBe('EdDSA');
    expect(key.kid).toMatch(/^eddsa-[0-9a-f]{8}$/);
    expect(key.privateKey.type).toBe('private');
    expect(key.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: key.kid, alg: 'EdDSA', use: 'sig' });
  });

  it('generates an ES256 (P-256) key with kid "es256-<8 hex>"', async () => {
    const key = await generatePartnerKey('ES256');
    expect(key.kid).toMatch(/^es256-[0-9a-f]{8}$/);
    expect(key.publicJwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: key.kid,
      alg: 'ES256',
      use: 'sig',
    });
  });

  it('uses the kid it is given', async () => {
    expect((await generatePartnerKey('EdDSA', 'acme-2025')).kid).toBe('acme-2025');
  });

  it('never puts the private part into the public JWK', async () => {
    for (const alg of ['EdDSA', 'ES256'] as const) {
      expect((await generatePartnerKey(alg)).publicJwk).not.toHaveProperty('d');
    }
  });

  it('refuses algorithms outside EdDSA and ES256', async () => {
    await expect(generatePartnerKey('RS256' as PartnerAlgorithm)).rejects.toThrow(TypeError);
  });

  it.each(['EdDSA', 'ES256'] as const)('round-trips a %s key through exportPrivateJwk/importPartnerKey', async (alg) => {
    const original = await generatePartnerKey(alg);
    const jwk = await exportPrivateJwk(original);
    expect(jwk).toMatchObject({ kid: original.kid, alg, use: 'sig', d: expect.any(String) });

    const imported = await importPartnerKey(JSON.parse(JSON.stringify(jwk)));
    expect(imported.kid).toBe(original.kid);
    expect(imported.alg).toBe(alg);
    expect(imported.publicJwk).toEqual(original.publicJwk);
    expect(await signsAndVerifies(imported, original)).toBe(true);
    // Imported keys stay exportable, so they can be moved again.
    expect(await exportPrivateJwk(imported)).toEqual(jwk);
  });

  it('rejects a JWK whose alg is not a partner algorithm, or that has none', async () => {
    const jwk = await exportPrivateJwk(await generatePartnerKey());
    for (const alg of ['RS256', 'HS256', 'none', 'Ed25519', undefined]) {
      await expect(importPartnerKey({ ...jwk, alg })).rejects.toThrow(TypeError);
    }
  });

  it('rejects a public-only JWK, a JWK without kid, and a key whose curve does not match its alg', async () => {
    const ed = await generatePartnerKey('EdDSA');
    const ec = await exportPrivateJwk(await generatePartnerKey('ES256'));
    await expect(importPartnerKey(ed.publicJwk)).rejects.toThrow(/not a private key/);
    await expect(importPartnerKey({ ...(await exportPrivateJwk(ed)), kid: undefined })).rejects.toThrow(/kid/);
    await expect(importPartnerKey({ ...ec, alg: 'EdDSA' })).rejects.toThrow(/kty OKP/);
  });
});
