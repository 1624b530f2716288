import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS_MAX,
  ACCESS_TOKEN_TYP,
  generatePartnerKey,
  signAccessToken,
  type PartnerKey,
  type Scope,
} from '../src';
import { HUB_ID, PARTNER_ID } from './fake-hub';

const NOW = new Date('2025-03-01T10:00:00Z');
const IAT = NOW.getTime() / 1000;

let partnerKey: PartnerKey;
let operatorKey: PartnerKey;
beforeAll(async () => {
  partnerKey = await generatePartnerKey('EdDSA');
  operatorKey = await generatePartnerKey('ES256', 'operator-1');
});

async function verify(token: string, key: PartnerKey) {
  return jwtVerify(token, await importJWK(key.publicJwk, key.alg), { typ: ACCESS_TOKEN_TYP, audience: HUB_ID, currentDate: NOW });
}

describe('signAccessToken', () => {
  it('signs a partner token: iss = sub = partnerId, scope partner, 300 s by default', async () => {
    const token = await signAccessToken({
      issuer: PARTNER_ID,
      subject: PARTNER_ID,
      scope: 'partner',
      audience: HUB_ID,
      key: partnerKey,
      now: NOW,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: partnerKey.kid, typ: ACCESS_TOKEN_TYP });
    const { payload } = await verify(token, partnerKey);
    expect(payload).toEqual({ iss: PARTNER_ID, sub: PARTNER_ID, aud: HUB_ID, iat: IAT, exp: IAT + 300, scope: 'partner' });
  });

  it('signs a member token with the partner key: sub is the partner’s member reference', async () => {
    const token = await signAccessToken({
      issuer: PARTNER_ID,
      subject: 'cust-42',
      scope: 'member',
      audience: HUB_ID,
      key: partnerKey,
      lifetimeSeconds: 60,
      now: NOW,
    });
    const { payload } = await verify(token, partnerKey);
    expect(payload).toMatchObject({ iss: PARTNER_ID, sub: 'cust-42', scope: 'member', exp: IAT + 60 });
  });

  it.each<Scope>(['operator', 'finance'])('signs an %s token with an operator key and issuer', async (scope) => {
    const token = await signAccessToken({
      issuer: 'coalition-operator',
      subject: 'jane@ops',
      scope,
      audience: HUB_ID,
      key: operatorKey,
      now: NOW,
    });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'operator-1' });
    const { payload } = await verify(token, operatorKey);
    expect(payload).toMatchObject({ iss: 'coalition-operator', sub: 'jane@ops', scope });
  });

  it(`refuses lifetimes over ${ACCESS_TOKEN_LIFETIME_SECONDS_MAX} s with a RangeError`, async () => {
    const input = { issuer: PARTNER_ID, subject: PARTNER_ID, scope: 'partner' as const, audience: HUB_ID, key: partnerKey };
    await expect(signAccessToken({ ...input, lifetimeSeconds: ACCESS_TOKEN_LIFETIME_SECONDS_MAX })).resolves.toEqual(expect.any(String));
    await expect(signAccessToken({ ...input, lifetimeSeconds: ACCESS_TOKEN_LIFETIME_SECONDS_MAX + 1 })).rejects.toThrow(RangeError);
  });

  it('refuses a partner token whose subject is not the partner, and unknown scopes', async () => {
    await expect(
      signAccessToken({ issuer: PARTNER_ID, subject: 'cust-42', scope: 'partner', audience: HUB_ID, key: partnerKey }),
    ).rejects.toThrow(TypeError);
    await expect(
      signAccessToken({ issuer: PARTNER_ID, subject: PARTNER_ID, scope: 'admin' as Scope, audience: HUB_ID, key: partnerKey }),
    ).rejects.toThrow(TypeError);
  });
});
