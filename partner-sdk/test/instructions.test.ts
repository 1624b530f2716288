import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import {
  generatePartnerKey,
  hashEmail,
  hashPhone,
  INSTRUCTION_LIFETIME_SECONDS_MAX,
  INSTRUCTION_TYP,
  normaliseAmount,
  requestHash,
  signInstruction,
  type Amount,
  type PartnerKey,
  type PointsFields,
} from '../src';
import { HUB_ID, PARTNER_ID } from './fake-hub';

const NOW = new Date('2025-03-01T10:00:00.000Z');
const IAT = NOW.getTime() / 1000;

let key: PartnerKey;
beforeAll(async () => {
  key = await generatePartnerKey('EdDSA', 'acme-1');
});

function issue(
  fields: Partial<PointsFields> & Record<string, unknown>,
  extra: { jti?: string; now?: Date; lifetimeSeconds?: number } = {},
) {
  return signInstruction({
    partnerId: PARTNER_ID,
    hubId: HUB_ID,
    key,
    op: 'issue',
    fields: { member: 'cust-42', amount: '150', ...fields } as PointsFields,
    ...extra,
  });
}

describe('signInstruction', () => {
  it.each(['EdDSA', 'ES256'] as const)('signs a %s instruction whose header and claims follow the protocol', async (alg) => {
    const algKey = await generatePartnerKey(alg);
    const signed = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key: algKey,
      op: 'issue',
      fields: { member: 'cust-42', amount: 150n, orderRef: 'ord-9', occurredAt: '2025-03-01T09:59:00Z' },
      jti: 'order-9',
      now: NOW,
    });
    expect(decodeProtectedHeader(signed.jws)).toEqual({ alg, kid: algKey.kid, typ: INSTRUCTION_TYP });
    const expected = {
      iss: PARTNER_ID,
      aud: HUB_ID,
      jti: 'order-9',
      iat: IAT,
      exp: IAT + 120,
      op: 'issue',
      member: 'cust-42',
      amount: '150',
      orderRef: 'ord-9',
      occurredAt: '2025-03-01T09:59:00Z',
    };
    expect(signed.claims).toEqual(expected);
    expect(signed.jti).toBe('order-9');

    const { payload, protectedHeader } = await jwtVerify(signed.jws, await importJWK(algKey.publicJwk, alg), {
      typ: INSTRUCTION_TYP,
      issuer: PARTNER_ID,
      audience: HUB_ID,
      currentDate: NOW,
    });
    expect(payload).toEqual(expected);
    expect(protectedHeader.kid).toBe(algKey.kid);
  });

  it('uses a random UUID as jti and a 120 s lifetime by default', async () => {
    const a = await issue({});
    const b = await issue({});
    expect(a.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.jti).not.toBe(b.jti);
    expect(a.claims.exp - a.claims.iat).toBe(120);
  });

  it(`accepts lifetimes up to ${INSTRUCTION_LIFETIME_SECONDS_MAX} s and refuses longer, zero or fractional ones with a RangeError`, async () => {
    const max = await issue({}, { lifetimeSeconds: INSTRUCTION_LIFETIME_SECONDS_MAX });
    expect(max.claims.exp - max.claims.iat).toBe(INSTRUCTION_LIFETIME_SECONDS_MAX);
    for (const lifetimeSeconds of [INSTRUCTION_LIFETIME_SECONDS_MAX + 1, 0, -5, 1.5]) {
      await expect(issue({}, { lifetimeSeconds })).rejects.toThrow(RangeError);
    }
  });

  it('signs an enroll instruction with the member reference and optional contact hashes', async () => {
    const signed = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key,
      op: 'enroll',
      fields: { member: 'cust-42', emailHash: hashEmail(' Ada@Example.com '), phoneHash: hashPhone('+49 30 1234567') },
    });
    expect(signed.claims).toMatchObject({
      op: 'enroll',
      member: 'cust-42',
      emailHash: hashEmail('ada@example.com'),
      phoneHash: hashPhone('+49301234567'),
    });
    expect(signed.claims).not.toHaveProperty('amount');
  });

  it('signs a redeem instruction like an issue instruction', async () => {
    const signed = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key,
      op: 'redeem',
      fields: { member: 'cust-42', amount: '30' },
    });
    expect(signed.claims).toMatchObject({ op: 'redeem', member: 'cust-42', amount: '30' });
  });

  it('leaves optional fields out of the claims when they are not given', async () => {
    const { claims } = await issue({});
    expect(Object.keys(claims).sort()).toEqual(['amount', 'aud', 'exp', 'iat', 'iss', 'jti', 'member', 'op']);
  });

  it('writes a Date occurredAt as ISO-8601 UTC', async () => {
    const { claims } = await issue({ occurredAt: new Date('2025-03-01T09:00:00+01:00') });
    expect(claims).toMatchObject({ occurredAt: '2025-03-01T08:00:00.000Z' });
  });
});

describe('amounts', () => {
  it('are accepted as bigint or decimal-digit strings and written as canonical digit strings', async () => {
    expect((await issue({ amount: 150n })).claims).toMatchObject({ amount: '150' });
    expect((await issue({ amount: '0150' })).claims).toMatchObject({ amount: '150' });
    expect(normaliseAmount('123456789012345678901234567890')).toBe('123456789012345678901234567890');
  });

  it.each<[string, unknown]>([
    ['a JS number', 150],
    ['a fraction', '1.5'],
    ['negative', '-5'],
    ['a negative bigint', -5n],
    ['zero', '0'],
    ['zero as bigint', 0n],
    ['empty', ''],
    ['padded with spaces', ' 150'],
    ['in exponent notation', '1e3'],
    ['missing', undefined],
  ])('are rejected locally with a TypeError when %s', async (_what, amount) => {
    await expect(issue({ amount: amount as Amount })).rejects.toThrow(TypeError);
  });
});

describe('field validation', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an unknown field (a typo must not be signed)', { ammount: '5' }],
    ['an empty member reference', { member: '' }],
    ['a member reference over 128 characters', { member: 'm'.repeat(129) }],
    ['an orderRef over 128 characters', { orderRef: 'o'.repeat(129) }],
    ['an occurredAt without a time zone', { occurredAt: '2025-03-01T10:00:00' }],
    ['an occurredAt that is not a date', { occurredAt: 'yesterday' }],
    ['an invalid Date', { occurredAt: new Date('nope') }],
  ])('rejects %s with a TypeError', async (_what, fields) => {
    await expect(issue(fields)).rejects.toThrow(TypeError);
  });

  it('rejects contact hashes that are not lowercase hex SHA-256', async () => {
    const enroll = (emailHash: string) =>
      signInstruction({ partnerId: PARTNER_ID, hubId: HUB_ID, key, op: 'enroll', fields: { member: 'c', emailHash } });
    await expect(enroll('ada@example.com')).rejects.toThrow(TypeError);
    await expect(enroll(hashEmail('ada@example.com').toUpperCase())).rejects.toThrow(TypeError);
  });

  it('rejects a jti that is empty or longer than 128 characters, and an unknown op', async () => {
    await expect(issue({}, { jti: '' })).rejects.toThrow(TypeError);
    await expect(issue({}, { jti: 'j'.repeat(129) })).rejects.toThrow(TypeError);
    expect((await issue({}, { jti: 'j'.repeat(128) })).jti).toHaveLength(128);
    await expect(
      signInstruction({ partnerId: PARTNER_ID, hubId: HUB_ID, key, op: 'transfer' as 'issue', fields: { member: 'c', amount: '1' } }),
    ).rejects.toThrow(TypeError);
  });
});

describe('grants and referral codes (docs/grants-and-referrals.md)', () => {
  const grant = (fields: Record<string, unknown>) =>
    signInstruction({ partnerId: PARTNER_ID, hubId: HUB_ID, key, op: 'grant', fields: fields as never, now: NOW });

  it('signs a grant with its kind, reason code and case reference', async () => {
    const signed = await grant({ member: 'c', amount: 40n, kind: 'compensation', reasonCode: 'late_delivery', caseReference: 'CASE-1' });
    expect(signed.claims).toMatchObject({
      op: 'grant',
      member: 'c',
      amount: '40',
      kind: 'compensation',
      reasonCode: 'late_delivery',
      caseReference: 'CASE-1',
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['compensation without a case reference', { kind: 'compensation', reasonCode: 'damaged_item' }],
    ['an unknown kind', { kind: 'gift', reasonCode: 'goodwill' }],
    ['an unknown reason code', { kind: 'surprise_and_delight', reasonCode: 'because' }],
    ['an empty note', { kind: 'surprise_and_delight', reasonCode: 'goodwill', note: ' ' }],
  ])('refuses to sign a grant with %s', async (_what, fields) => {
    await expect(grant({ member: 'c', amount: '1', ...fields })).rejects.toThrow(TypeError);
  });

  it('signs an enrolment with a referral code', async () => {
    const signed = await signInstruction({
      partnerId: PARTNER_ID,
      hubId: HUB_ID,
      key,
      op: 'enroll',
      fields: { member: 'c', referralCode: 'ABCDEFGH2345' },
    });
    expect(signed.claims).toMatchObject({ op: 'enroll', member: 'c', referralCode: 'ABCDEFGH2345' });
  });
});

describe('requestHash', () => {
  it('is the protocol requestHash of the signed claims', async () => {
    const signed = await issue({ orderRef: 'ord-1' });
    expect(signed.requestHash).toBe(requestHash(signed.claims as unknown as Record<string, unknown>));
    expect(signed.requestHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('stays the same when the same instruction is re-signed later with a fresh iat/exp', async () => {
    const first = await issue({ orderRef: 'ord-1' }, { jti: 'order-1', now: NOW });
    const retry = await issue({ orderRef: 'ord-1' }, { jti: 'order-1', now: new Date(NOW.getTime() + 600_000), lifetimeSeconds: 60 });
    expect(retry.claims.iat).not.toBe(first.claims.iat);
    expect(retry.jws).not.toBe(first.jws);
    expect(retry.requestHash).toBe(first.requestHash);
  });

  it('is the same for equal amounts written differently', async () => {
    const a = await issue({ amount: 150n }, { jti: 'order-1' });
    const b = await issue({ amount: '00150' }, { jti: 'order-1' });
    expect(a.requestHash).toBe(b.requestHash);
  });

  it('changes when anything the instruction asks for changes', async () => {
    const base = await issue({}, { jti: 'order-1' });
    expect((await issue({ amount: '151' }, { jti: 'order-1' })).requestHash).not.toBe(base.requestHash);
    expect((await issue({ member: 'cust-43' }, { jti: 'order-1' })).requestHash).not.toBe(base.requestHash);
    expect((await issue({}, { jti: 'order-2' })).requestHash).not.toBe(base.requestHash);
  });
});
