/**
 * verifySigned: every way a partner-signed instruction can be refused has its own error code,
 * checked in a fixed order (shape → unsigned → algorithm → typ → signer and key → signature →
 * time and audience → signer status). No I/O: the partner table is an in-memory lookup.
 */
import { exportJWK, generateKeyPair, generateSecret } from 'jose';
import { ACCESS_TOKEN_TYP, signAccessToken } from '@coalition-hub/partner-sdk';
import { type DomainError, ErrorCode, isDomainError } from '../../src/common/errors';
import { limits } from '../../src/config/limits';
import { verifySigned, type Verified } from '../../src/instructions/verify-signed';
import {
  encodeSegment,
  HUB_ID,
  instructionOptions,
  issueClaims,
  lookupOf,
  makePartner,
  NOW_SECONDS,
  secondsFromNow,
  segmentsOf,
  signerKeyOf,
  signIssue,
  signRaw,
  tamperPayload,
  withSigner,
  type TestPartner,
} from './helpers/signed-instructions';

let acme: TestPartner; // EdDSA
let bolt: TestPartner; // ES256
let mallory: TestPartner; // EdDSA, another registered partner

beforeAll(async () => {
  acme = await makePartner('ACME', 'EdDSA');
  bolt = await makePartner('BOLT', 'ES256');
  mallory = await makePartner('MALLORY', 'EdDSA');
});

const lookup = () => lookupOf(acme.signer, bolt.signer, mallory.signer);

function verify(jws: unknown, partners = lookup(), options = instructionOptions()) {
  return verifySigned(jws, partners, options);
}

async function expectRefused(pending: Promise<Verified | DomainError>, code: ErrorCode): Promise<DomainError> {
  const result = await pending;
  if (!isDomainError(result)) throw new Error(`expected ${code}, but the instruction was accepted`);
  expect(result.code).toBe(code);
  return result;
}

async function expectVerified(pending: Promise<Verified | DomainError>): Promise<Verified> {
  const result = await pending;
  if (isDomainError(result)) throw new Error(`expected acceptance, got ${result.code}: ${result.message}`);
  return result;
}

describe('verifySigned accepts', () => {
  it('a valid EdDSA instruction, returning the signer, the kid and the claims', async () => {
    const verified = await expectVerified(verify(await signIssue(acme)));
    expect(verified.signer.id).toBe('ACME');
    expect(verified.kid).toBe(acme.key.kid);
    expect(verified.claims).toMatchObject({
      iss: 'ACME',
      aud: HUB_ID,
      jti: 'jti-1',
      op: 'issue',
      member: 'alice-1',
      amount: '100',
      iat: NOW_SECONDS,
    });
  });

  it('a valid ES256 instruction, returning the signer, the kid and the claims', async () => {
    const verified = await expectVerified(verify(await signIssue(bolt, { jti: 'bolt-7', fields: { amount: '2500' } })));
    expect(verified.signer.id).toBe('BOLT');
    expect(verified.kid).toBe(bolt.key.kid);
    expect(verified.claims).toMatchObject({ iss: 'BOLT', jti: 'bolt-7', amount: '2500' });
  });

  it('an instruction signed with a rotated-in second key, by that key', async () => {
    const next = await makePartner('ACME', 'ES256');
    const rotated = withSigner(next, { keys: new Map([...acme.signer.keys, ...next.signer.keys]) });
    const verified = await expectVerified(verify(await signIssue(next), lookupOf(rotated.signer)));
    expect(verified.kid).toBe(next.key.kid);
    // The old key keeps verifying until it is revoked.
    await expectVerified(verify(await signIssue(acme), lookupOf(rotated.signer)));
  });

  it('an instruction that expired only 30 s ago (within the 60 s clock skew)', async () => {
    // iat = now − 150 s, exp = iat + 120 s = now − 30 s
    await expectVerified(verify(await signIssue(acme, { now: secondsFromNow(-150), lifetimeSeconds: 120 })));
  });

  it('an instruction issued 30 s in the future (a partner clock slightly ahead)', async () => {
    await expectVerified(verify(await signIssue(acme, { now: secondsFromNow(30) })));
  });

  it('an instruction that lives exactly the maximum lifetime (exp − iat = 300 s)', async () => {
    await expectVerified(verify(await signIssue(acme, { lifetimeSeconds: 300 })));
  });

  it('an instruction of just under 16 KiB', async () => {
    const claims = issueClaims('ACME', { pad: '' });
    const unpadded = await signRaw(claims, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    // Every 3 bytes of padding add 4 characters; the signature length is fixed.
    const pad = 'x'.repeat(Math.floor((limits.instructionBytesMax - unpadded.length) / 4) * 3);
    const jws = await signRaw({ ...claims, pad }, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    expect(jws.length).toBeLessThanOrEqual(limits.instructionBytesMax);
    expect(jws.length).toBeGreaterThan(limits.instructionBytesMax - 8);
    await expectVerified(verify(jws));
  });
});

describe('verifySigned refuses as MALFORMED_INSTRUCTION', () => {
  it.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an object', { jws: 'a.b.c' }],
  ])('an instruction that is not a string (%s)', async (_, value) => {
    await expectRefused(verify(value), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('a validly signed instruction longer than 16 KiB, before parsing it', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { pad: 'x'.repeat(limits.instructionBytesMax) }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    expect(jws.length).toBeGreaterThan(limits.instructionBytesMax);
    let looked = false;
    const watchingLookup = lookupOf(acme.signer);
    await expectRefused(
      verify(jws, (issuer) => {
        looked = true;
        return watchingLookup(issuer);
      }),
      ErrorCode.MALFORMED_INSTRUCTION,
    );
    expect(looked).toBe(false);
  });

  it.each([
    ['two segments', (jws: string) => segmentsOf(jws).slice(0, 2).join('.')],
    ['four segments', (jws: string) => `${jws}.${segmentsOf(jws)[2]}`],
    ['five segments (a JWE shape)', (jws: string) => `${jws}.abc.def`],
    ['an empty string', () => ''],
    ['a JSON serialization', (jws: string) => JSON.stringify({ payload: segmentsOf(jws)[1] })],
    ['padding characters', (jws: string) => jws.replace('.', '=.')],
    ['whitespace around it', (jws: string) => ` ${jws}\n`],
  ])('an instruction that is not a compact JWS (%s)', async (_, mangle) => {
    await expectRefused(verify(mangle(await signIssue(acme))), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction whose header is not base64url JSON', async () => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    await expectRefused(verify(`bm90IGpzb24.${payload}.${signature}`), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction whose payload is not base64url JSON', async () => {
    const [header, , signature] = segmentsOf(await signIssue(acme));
    await expectRefused(verify(`${header}.bm90IGpzb24.${signature}`), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction whose header is a JSON array rather than an object', async () => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    await expectRefused(verify(`${encodeSegment(['EdDSA'])}.${payload}.${signature}`), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction with the wrong typ header, signed with a valid key', async () => {
    const jws = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: acme.key.kid, typ: 'JWT' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction with no typ header', async () => {
    const jws = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: acme.key.kid }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it("a partner's access token presented as an instruction (typ confusion)", async () => {
    const token = await signAccessToken({
      issuer: 'ACME',
      subject: 'ACME',
      scope: 'partner',
      audience: HUB_ID,
      key: acme.key,
      now: secondsFromNow(0),
    });
    await expectRefused(verify(token), ErrorCode.MALFORMED_INSTRUCTION);
    // The same token verifies where access tokens are expected.
    await expectVerified(
      verify(
        token,
        lookup(),
        instructionOptions({ typ: ACCESS_TOKEN_TYP, requiredClaims: ['iss', 'aud', 'iat', 'exp', 'sub'], lifetimeSecondsMax: 3600 }),
      ),
    );
  });

  it('an instruction without an iss claim', async () => {
    const claims = issueClaims('ACME');
    delete claims.iss;
    const jws = await signRaw(claims, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction without a jti when jti is required', async () => {
    const claims = issueClaims('ACME');
    delete claims.jti;
    const jws = await signRaw(claims, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it.each(['iat', 'exp'] as const)('an instruction without an %s claim', async (claim) => {
    const claims = issueClaims('ACME');
    delete claims[claim];
    const jws = await signRaw(claims, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction whose exp lies more than the maximum lifetime after its iat', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { iat: NOW_SECONDS - 10, exp: NOW_SECONDS + 300 }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('an instruction whose exp is a string rather than a NumericDate', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { exp: String(NOW_SECONDS + 60) as unknown as number }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });
});

describe('verifySigned refuses as UNSIGNED_INSTRUCTION', () => {
  it('an instruction with alg "none" and an empty signature segment', async () => {
    const jws = `${encodeSegment({ alg: 'none', typ: 'coalition-tx+jwt' })}.${encodeSegment(issueClaims('ACME'))}.`;
    await expectRefused(verify(jws), ErrorCode.UNSIGNED_INSTRUCTION);
  });

  it.each(['none', 'None', 'NONE'])('an instruction with alg "%s" even when a signature segment is attached', async (alg) => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    const jws = `${encodeSegment({ alg, kid: acme.key.kid, typ: 'coalition-tx+jwt' })}.${payload}.${signature}`;
    await expectRefused(verify(jws), ErrorCode.UNSIGNED_INSTRUCTION);
  });

  it('an instruction with no alg header', async () => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    const jws = `${encodeSegment({ kid: acme.key.kid, typ: 'coalition-tx+jwt' })}.${payload}.${signature}`;
    await expectRefused(verify(jws), ErrorCode.UNSIGNED_INSTRUCTION);
  });

  it('a properly signed instruction whose signature segment was stripped', async () => {
    const [header, payload] = segmentsOf(await signIssue(acme));
    await expectRefused(verify(`${header}.${payload}.`), ErrorCode.UNSIGNED_INSTRUCTION);
  });
});

describe('verifySigned refuses as ALGORITHM_NOT_ALLOWED', () => {
  it('an instruction signed HS256 with a shared secret (e.g. the public key used as an HMAC secret)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(acme.key.publicJwk));
    const jws = await signRaw(issueClaims('ACME'), { alg: 'HS256', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, secret);
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('an instruction signed HS512 with a random secret', async () => {
    const secret = await generateSecret('HS512');
    const jws = await signRaw(issueClaims('ACME'), { alg: 'HS512', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, secret);
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('an instruction signed RS256, even if the lookup knows an RSA key under that kid', async () => {
    const rsa = await generateKeyPair('RS256');
    const rsaKey = { kid: 'acme-rsa', alg: 'RS256', status: 'active' as const, publicJwk: await exportJWK(rsa.publicKey) };
    const signer = { ...acme.signer, keys: new Map([...acme.signer.keys, [rsaKey.kid, rsaKey]]) };
    const jws = await signRaw(issueClaims('ACME'), { alg: 'RS256', kid: 'acme-rsa', typ: 'coalition-tx+jwt' }, rsa.privateKey);
    await expectRefused(verify(jws, lookupOf(signer)), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('an instruction signed ES384 (a curve outside the allow-list)', async () => {
    const p384 = await generateKeyPair('ES384');
    const jws = await signRaw(issueClaims('ACME'), { alg: 'ES384', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, p384.privateKey);
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('an instruction whose header says EdDSA for a key registered as ES256', async () => {
    const eddsa = await makePartner('BOLT', 'EdDSA');
    const jws = await signRaw(issueClaims('BOLT'), { alg: 'EdDSA', kid: bolt.key.kid, typ: 'coalition-tx+jwt' }, eddsa.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('an instruction whose header says ES256 for a key registered as EdDSA', async () => {
    const es256 = await makePartner('ACME', 'ES256');
    const jws = await signRaw(issueClaims('ACME'), { alg: 'ES256', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, es256.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });
});

describe('verifySigned refuses a header whose alg is not a string', () => {
  it.each([
    ['a number', 1],
    ['an array', ['EdDSA']],
    ['an object', { name: 'EdDSA' }],
    ['null', null],
  ])('(%s) as MALFORMED_INSTRUCTION, without throwing', async (_, alg) => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    const jws = `${encodeSegment({ alg, kid: acme.key.kid, typ: 'coalition-tx+jwt' })}.${payload}.${signature}`;
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });
});

describe('verifySigned refuses unknown signers and keys', () => {
  it('refuses an instruction from an unregistered partner as UNKNOWN_PARTNER', async () => {
    const stranger = await makePartner('STRANGER');
    await expectRefused(verify(await signIssue(stranger)), ErrorCode.UNKNOWN_PARTNER);
  });

  it('refuses an instruction signed under an unknown kid as UNKNOWN_SIGNING_KEY', async () => {
    const jws = await signRaw(
      issueClaims('ACME'),
      { alg: 'EdDSA', kid: 'acme-never-registered', typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectRefused(verify(jws), ErrorCode.UNKNOWN_SIGNING_KEY);
  });

  it('refuses an instruction without a kid header as UNKNOWN_SIGNING_KEY', async () => {
    const jws = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.UNKNOWN_SIGNING_KEY);
  });

  it("refuses an instruction naming another partner's kid as UNKNOWN_SIGNING_KEY (keys are per partner)", async () => {
    const jws = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: mallory.key.kid, typ: 'coalition-tx+jwt' }, mallory.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.UNKNOWN_SIGNING_KEY);
  });

  it.each([
    ['a number', 1],
    ['the name of an object property', '__proto__'],
    ['an empty string', ''],
  ])('refuses an instruction whose kid is %s as UNKNOWN_SIGNING_KEY', async (_, kid) => {
    const [, payload, signature] = segmentsOf(await signIssue(acme));
    const jws = `${encodeSegment({ alg: 'EdDSA', kid, typ: 'coalition-tx+jwt' })}.${payload}.${signature}`;
    await expectRefused(verify(jws), ErrorCode.UNKNOWN_SIGNING_KEY);
  });

  it('refuses an instruction signed with a revoked key as SIGNING_KEY_REVOKED', async () => {
    const revoked = withSigner(acme, { keys: new Map([[acme.key.kid, signerKeyOf(acme.key, 'revoked')]]) });
    await expectRefused(verify(await signIssue(acme), lookupOf(revoked.signer)), ErrorCode.SIGNING_KEY_REVOKED);
  });

  it('refuses a revoked key while still accepting the key that replaced it', async () => {
    const next = await makePartner('ACME', 'ES256');
    const rotated = withSigner(acme, {
      keys: new Map([
        [acme.key.kid, signerKeyOf(acme.key, 'revoked')],
        [next.key.kid, signerKeyOf(next.key)],
      ]),
    });
    await expectRefused(verify(await signIssue(acme), lookupOf(rotated.signer)), ErrorCode.SIGNING_KEY_REVOKED);
    await expectVerified(verify(await signIssue(next), lookupOf(rotated.signer)));
  });
});

describe('verifySigned refuses as INVALID_SIGNATURE', () => {
  it('an instruction whose amount was changed after signing', async () => {
    const jws = tamperPayload(await signIssue(acme), (claims) => ({ ...claims, amount: '1000000' }));
    await expectRefused(verify(jws), ErrorCode.INVALID_SIGNATURE);
  });

  it('an instruction whose member was changed after signing', async () => {
    const jws = tamperPayload(await signIssue(acme), (claims) => ({ ...claims, member: 'mallory-1' }));
    await expectRefused(verify(jws), ErrorCode.INVALID_SIGNATURE);
  });

  it('an ES256 instruction with one signature byte flipped', async () => {
    const [header, payload, signature] = segmentsOf(await signIssue(bolt));
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    await expectRefused(verify(`${header}.${payload}.${flipped}`), ErrorCode.INVALID_SIGNATURE);
  });

  it("an instruction that embeds the forger's own public key in its header (jwk), with the victim's kid", async () => {
    const forged = await signRaw(
      issueClaims('ACME'),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt', jwk: { kty: 'OKP', crv: 'Ed25519', x: String(mallory.key.publicJwk.x) } },
      mallory.key.privateKey,
    );
    await expectRefused(verify(forged), ErrorCode.INVALID_SIGNATURE);
  });

  it("an instruction signed with another partner's key but claiming the victim's iss and the victim's kid", async () => {
    const forged = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, mallory.key.privateKey);
    await expectRefused(verify(forged), ErrorCode.INVALID_SIGNATURE);
  });
});

describe('verifySigned refuses on audience and time', () => {
  it('accepts an aud list that includes this hub', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { aud: ['partner-ledger', HUB_ID] }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectVerified(verify(jws));
  });

  it('refuses an aud list without this hub as WRONG_AUDIENCE', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { aud: ['hub-a', 'hub-b'] }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectRefused(verify(jws), ErrorCode.WRONG_AUDIENCE);
  });

  it('refuses an instruction addressed to another hub as WRONG_AUDIENCE', async () => {
    await expectRefused(verify(await signIssue(acme, { hubId: 'some-other-hub' })), ErrorCode.WRONG_AUDIENCE);
  });

  it('refuses an instruction without an aud claim as WRONG_AUDIENCE (it is addressed to no hub)', async () => {
    const claims = issueClaims('ACME');
    delete claims.aud;
    const jws = await signRaw(claims, { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.WRONG_AUDIENCE);
  });

  it('refuses an instruction that expired 90 s ago (beyond the 60 s skew) as INSTRUCTION_EXPIRED', async () => {
    // iat = now − 210 s, exp = iat + 120 s = now − 90 s
    await expectRefused(verify(await signIssue(acme, { now: secondsFromNow(-210), lifetimeSeconds: 120 })), ErrorCode.INSTRUCTION_EXPIRED);
  });

  it('refuses an instruction whose exp is exactly the skew (60 s) in the past as INSTRUCTION_EXPIRED', async () => {
    await expectRefused(verify(await signIssue(acme, { now: secondsFromNow(-180), lifetimeSeconds: 120 })), ErrorCode.INSTRUCTION_EXPIRED);
  });

  it('refuses an instruction issued 120 s in the future as INSTRUCTION_NOT_YET_VALID', async () => {
    await expectRefused(verify(await signIssue(acme, { now: secondsFromNow(120) })), ErrorCode.INSTRUCTION_NOT_YET_VALID);
  });

  it('refuses an instruction whose nbf lies 120 s in the future as INSTRUCTION_NOT_YET_VALID', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { nbf: NOW_SECONDS + 120, exp: NOW_SECONDS + 240 }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectRefused(verify(jws), ErrorCode.INSTRUCTION_NOT_YET_VALID);
  });

  it('accepts an instruction whose nbf lies within the skew (30 s ahead)', async () => {
    const jws = await signRaw(
      issueClaims('ACME', { nbf: NOW_SECONDS + 30 }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      acme.key.privateKey,
    );
    await expectVerified(verify(jws));
  });
});

describe('verifySigned and suspended partners', () => {
  let suspended: TestPartner;
  beforeAll(() => {
    suspended = withSigner(acme, { suspended: true });
  });

  it('refuses an otherwise valid instruction from a suspended partner as PARTNER_SUSPENDED', async () => {
    await expectRefused(verify(await signIssue(acme), lookupOf(suspended.signer)), ErrorCode.PARTNER_SUSPENDED);
  });

  it('refuses a tampered instruction from a suspended partner as INVALID_SIGNATURE (signature before status)', async () => {
    const jws = tamperPayload(await signIssue(acme), (claims) => ({ ...claims, amount: '999' }));
    await expectRefused(verify(jws, lookupOf(suspended.signer)), ErrorCode.INVALID_SIGNATURE);
  });

  it('refuses an expired instruction from a suspended partner as INSTRUCTION_EXPIRED (time before status)', async () => {
    const jws = await signIssue(acme, { now: secondsFromNow(-600) });
    await expectRefused(verify(jws, lookupOf(suspended.signer)), ErrorCode.INSTRUCTION_EXPIRED);
  });

  it('refuses an unknown kid from a suspended partner as UNKNOWN_SIGNING_KEY (key before status)', async () => {
    const jws = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: 'nope', typ: 'coalition-tx+jwt' }, acme.key.privateKey);
    await expectRefused(verify(jws, lookupOf(suspended.signer)), ErrorCode.UNKNOWN_SIGNING_KEY);
  });
});

describe('verifySigned check order', () => {
  it('reports an unsigned instruction with a disallowed typ as UNSIGNED_INSTRUCTION (unsigned before typ)', async () => {
    const jws = `${encodeSegment({ alg: 'none', typ: 'JWT' })}.${encodeSegment(issueClaims('ACME'))}.`;
    await expectRefused(verify(jws), ErrorCode.UNSIGNED_INSTRUCTION);
  });

  it('reports HS256 from an unknown partner as ALGORITHM_NOT_ALLOWED (algorithm before signer)', async () => {
    const jws = await signRaw(issueClaims('NOBODY'), { alg: 'HS256', kid: 'k', typ: 'coalition-tx+jwt' }, await generateSecret('HS256'));
    await expectRefused(verify(jws), ErrorCode.ALGORITHM_NOT_ALLOWED);
  });

  it('reports a wrong typ from an unknown partner as MALFORMED_INSTRUCTION (typ before signer)', async () => {
    const stranger = await makePartner('STRANGER');
    const jws = await signRaw(issueClaims('STRANGER'), { alg: 'EdDSA', kid: stranger.key.kid, typ: 'JWT' }, stranger.key.privateKey);
    await expectRefused(verify(jws), ErrorCode.MALFORMED_INSTRUCTION);
  });

  it('reports a forged, expired instruction as INVALID_SIGNATURE (signature before time)', async () => {
    const forged = await signRaw(
      issueClaims('ACME', { iat: NOW_SECONDS - 600, exp: NOW_SECONDS - 480 }),
      { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' },
      mallory.key.privateKey,
    );
    await expectRefused(verify(forged), ErrorCode.INVALID_SIGNATURE);
  });

  it('reports a revoked key before checking the signature (SIGNING_KEY_REVOKED for a forged instruction)', async () => {
    const revoked = withSigner(acme, { keys: new Map([[acme.key.kid, signerKeyOf(acme.key, 'revoked')]]) });
    const forged = await signRaw(issueClaims('ACME'), { alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-tx+jwt' }, mallory.key.privateKey);
    await expectRefused(verify(forged, lookupOf(revoked.signer)), ErrorCode.SIGNING_KEY_REVOKED);
  });
});
