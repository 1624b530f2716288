/**
 * parseInstructionClaims: what a verified instruction means. Unknown claims are refused so that
 * what a partner signed has exactly one meaning; amounts are decimal-digit strings of 1..10^12 CP.
 */
import type { JWTPayload } from 'jose';
import { decodeJwt } from 'jose';
import { generatePartnerKey, hashEmail, hashPhone, signInstruction, type Op, type PartnerKey } from '@coalition-hub/partner-sdk';
import { DomainError, ErrorCode, isDomainError } from '../../src/common/errors';
import { limits } from '../../src/config/limits';
import type { MovementClaims } from '../../src/common/claims';
import { parseInstructionClaims } from '../../src/instructions/instruction-claims';
import { HUB_ID, issueClaims, NOW, NOW_SECONDS } from './helpers/signed-instructions';

const claimsFor = (op: Op, overrides: JWTPayload = {}): JWTPayload =>
  op === 'enroll'
    ? { iss: 'ACME', aud: HUB_ID, jti: 'jti-1', iat: NOW_SECONDS, exp: NOW_SECONDS + 120, op: 'enroll', member: 'alice-1', ...overrides }
    : issueClaims('ACME', { op, ...overrides });

function expectRefused(result: ReturnType<typeof parseInstructionClaims>, code: ErrorCode): DomainError {
  if (!isDomainError(result))
    throw new Error(
      `expected ${code}, but the claims parsed as ${JSON.stringify(result, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    );
  expect(result.code).toBe(code);
  return result;
}

function expectParsed<T>(result: ReturnType<typeof parseInstructionClaims>): T {
  if (isDomainError(result)) throw new Error(`expected the claims to parse, got ${result.code}: ${result.message}`);
  return result as T;
}

describe('parseInstructionClaims parses', () => {
  it('a valid issue instruction into its fields with a bigint amount, occurredAt defaulting to now', () => {
    expect(parseInstructionClaims('issue', claimsFor('issue', { orderRef: 'order-1' }), NOW)).toEqual({
      op: 'issue',
      jti: 'jti-1',
      member: 'alice-1',
      asset: 'CP',
      amount: 100n,
      applyTierMultiplier: false,
      orderRef: 'order-1',
      occurredAt: NOW,
    });
  });

  it("a well-formed partner unit as asset (whether it is the signer's own unit is the service's check)", () => {
    expect(parseInstructionClaims('issue', claimsFor('issue', { asset: 'ACME.STARS' }), NOW)).toMatchObject({ asset: 'ACME.STARS' });
  });

  it('a valid redeem instruction with occurredAt and asset CP, without an orderRef', () => {
    const parsed = expectParsed<MovementClaims>(
      parseInstructionClaims('redeem', claimsFor('redeem', { amount: '1200', asset: 'CP', occurredAt: '2025-03-01T10:59:30+01:00' }), NOW),
    );
    expect(parsed).toEqual({
      op: 'redeem',
      jti: 'jti-1',
      member: 'alice-1',
      asset: 'CP',
      amount: 1200n,
      applyTierMultiplier: false,
      orderRef: null,
      occurredAt: new Date('2025-03-01T09:59:30Z'),
    });
    expect(typeof parsed.amount).toBe('bigint');
  });

  it('a valid enroll instruction with an email hash and a phone hash', () => {
    const emailHash = hashEmail('Alice@Example.com');
    const phoneHash = hashPhone('+4930123456');
    expect(parseInstructionClaims('enroll', claimsFor('enroll', { emailHash, phoneHash }), NOW)).toEqual({
      op: 'enroll',
      jti: 'jti-1',
      member: 'alice-1',
      emailHash,
      phoneHash,
      referralCode: null,
    });
  });

  it('a valid enroll instruction without hashes, as nulls', () => {
    expect(parseInstructionClaims('enroll', claimsFor('enroll'), NOW)).toEqual({
      op: 'enroll',
      jti: 'jti-1',
      member: 'alice-1',
      emailHash: null,
      phoneHash: null,
      referralCode: null,
    });
  });

  it('the largest amount, 10^12 CP ("1000000000000")', () => {
    const parsed = expectParsed<MovementClaims>(parseInstructionClaims('issue', claimsFor('issue', { amount: '1000000000000' }), NOW));
    expect(parsed.amount).toBe(limits.amountMax);
    expect(parsed.amount).toBe(10n ** 12n);
  });

  it('the smallest amount, "1"', () => {
    expect(expectParsed<MovementClaims>(parseInstructionClaims('issue', claimsFor('issue', { amount: '1' }), NOW)).amount).toBe(1n);
  });

  it('an occurredAt within the 60 s clock skew ahead of now', () => {
    const parsed = expectParsed<MovementClaims>(
      parseInstructionClaims('issue', claimsFor('issue', { occurredAt: '2025-03-01T10:00:59Z' }), NOW),
    );
    expect(parsed.occurredAt).toEqual(new Date('2025-03-01T10:00:59Z'));
  });

  it('a member reference of exactly 128 printable characters', () => {
    const member = 'm'.repeat(128);
    expect(expectParsed<MovementClaims>(parseInstructionClaims('issue', claimsFor('issue', { member }), NOW)).member).toBe(member);
  });
});

describe('parseInstructionClaims refuses as INVALID_INSTRUCTION', () => {
  it.each([
    ['issue', 'redeem'],
    ['redeem', 'issue'],
    ['enroll', 'issue'],
    ['issue', 'enroll'],
  ] as const)('an instruction with op "%s" submitted to the %s mutation (op mismatch)', (signedOp, mutationOp) => {
    expectRefused(parseInstructionClaims(mutationOp, claimsFor(signedOp), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it('an instruction without an op claim', () => {
    const claims = claimsFor('issue');
    delete claims.op;
    expectRefused(parseInstructionClaims('issue', claims, NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it.each([
    ['issue', { note: 'hello' }],
    ['issue', { amountMicro: '1' }],
    ['redeem', { scope: 'member' }],
    ['enroll', { amount: '100' }],
    ['enroll', { orderRef: 'o-1' }],
  ] as const)('an instruction with op "%s" and an unknown extra claim %j', (op, extra) => {
    const refused = expectRefused(parseInstructionClaims(op, claimsFor(op, extra), NOW), ErrorCode.INVALID_INSTRUCTION);
    expect(refused.message).toMatch(/unrecognized|unknown|key/i);
  });

  it.each(['stars', 'A.B.C', 'ACME.', '', 'CP CP'])('an asset that is neither CP nor a unit name (%p)', (asset) => {
    expectRefused(parseInstructionClaims('issue', claimsFor('issue', { asset }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it('an occurredAt more than the clock skew in the future, naming the claim', () => {
    const refused = expectRefused(
      parseInstructionClaims('issue', claimsFor('issue', { occurredAt: '2025-03-01T10:05:00Z' }), NOW),
      ErrorCode.INVALID_INSTRUCTION,
    );
    expect(refused.details).toEqual({ claim: 'occurredAt' });
  });

  it.each([
    ['has no time zone', '2025-03-01T09:00:00'],
    ['is a date only', '2025-03-01'],
    ['is not a date', 'yesterday'],
    ['is a number', 1740819600],
  ])('an occurredAt that %s', (_, occurredAt) => {
    expectRefused(parseInstructionClaims('issue', claimsFor('issue', { occurredAt }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it.each([
    ['contains a space', 'alice smith'],
    ['is longer than 128 characters', 'm'.repeat(129)],
    ['is empty', ''],
    ['contains a non-ASCII character', 'müller'],
    ['contains a control character', 'alice\n1'],
    ['is not a string', 42],
  ])('a member reference that %s', (_, member) => {
    expectRefused(parseInstructionClaims('issue', claimsFor('issue', { member }), NOW), ErrorCode.INVALID_INSTRUCTION);
    expectRefused(parseInstructionClaims('enroll', claimsFor('enroll', { member }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it.each([
    ['containing a space', 'order 1'],
    ['longer than 128 characters', 'o'.repeat(129)],
  ])('an orderRef %s', (_, orderRef) => {
    expectRefused(parseInstructionClaims('issue', claimsFor('issue', { orderRef }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it.each([
    ['containing a space', 'jti 1'],
    ['longer than 128 characters', 'j'.repeat(129)],
  ])('a jti %s', (_, jti) => {
    expectRefused(parseInstructionClaims('issue', claimsFor('issue', { jti }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it.each([
    ['63 hex digits', 'a'.repeat(63)],
    ['65 hex digits', 'a'.repeat(65)],
    ['upper-case hex', 'A'.repeat(64)],
    ['a non-hex character', `${'a'.repeat(63)}g`],
    ['the address itself', 'alice@example.com'],
  ])('an enroll instruction whose emailHash is %s', (_, emailHash) => {
    expectRefused(parseInstructionClaims('enroll', claimsFor('enroll', { emailHash }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });

  it('an enroll instruction whose phoneHash is not 64 lower-case hex digits', () => {
    expectRefused(parseInstructionClaims('enroll', claimsFor('enroll', { phoneHash: '+4930123456' }), NOW), ErrorCode.INVALID_INSTRUCTION);
  });
});

describe('parseInstructionClaims refuses as INVALID_AMOUNT', () => {
  it.each([
    ['a JSON number 100', 100],
    ['a JSON number 1.5', 1.5],
    ['a boolean', true],
    ['null', null],
    ['an object', { value: '100' }],
    ['negative "-5"', '-5'],
    ['zero "0"', '0'],
    ['a fraction "1.5"', '1.5'],
    ['exponent notation "1e3"', '1e3'],
    ['a leading space " 10"', ' 10'],
    ['a trailing space "10 "', '10 '],
    ['a leading zero "0150"', '0150'],
    ['a plus sign "+10"', '+10'],
    ['the empty string', ''],
    ['hexadecimal "0x10"', '0x10'],
    ['digit separators "1_000"', '1_000'],
    ['non-ASCII digits "١٠"', '١٠'],
    ['one above 10^12 "1000000000001"', '1000000000001'],
    ['10^18 "1000000000000000000"', '1000000000000000000'],
    ['20 digits', '1'.repeat(20)],
  ])('an amount that is %s', (_, amount) => {
    for (const op of ['issue', 'redeem'] as const) {
      expectRefused(parseInstructionClaims(op, claimsFor(op, { amount }), NOW), ErrorCode.INVALID_AMOUNT);
    }
  });

  it('reports the offending amount, truncated, in the details', () => {
    const refused = expectRefused(
      parseInstructionClaims('issue', claimsFor('issue', { amount: '9'.repeat(100) }), NOW),
      ErrorCode.INVALID_AMOUNT,
    );
    expect(refused.details.amount).toBe('9'.repeat(40));
    const numeric = expectRefused(parseInstructionClaims('issue', claimsFor('issue', { amount: 100 }), NOW), ErrorCode.INVALID_AMOUNT);
    expect(numeric.details.amount).toBe('100');
  });
});

describe('the SDK and the hub agree on the protocol', () => {
  let key: PartnerKey;
  beforeAll(async () => {
    key = await generatePartnerKey('EdDSA', 'acme-1');
  });

  async function signedClaims(op: Op, fields: Record<string, unknown>): Promise<JWTPayload> {
    const signed = await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key, op, fields: fields as never, jti: 'jti-1', now: NOW });
    return decodeJwt(signed.jws);
  }

  it('parses what the SDK signs for each op', async () => {
    expect(
      parseInstructionClaims('issue', await signedClaims('issue', { member: 'alice-1', amount: 150n, orderRef: 'o-1' }), NOW),
    ).toMatchObject({ amount: 150n, orderRef: 'o-1' });
    expect(parseInstructionClaims('redeem', await signedClaims('redeem', { member: 'alice-1', amount: '0150' }), NOW)).toMatchObject({
      amount: 150n,
    });
    expect(
      parseInstructionClaims('enroll', await signedClaims('enroll', { member: 'alice-1', emailHash: hashEmail('a@b.c') }), NOW),
    ).toMatchObject({ op: 'enroll' });
  });

  it('parses an occurredAt the SDK signs from a Date', async () => {
    const occurredAt = new Date('2025-03-01T09:00:00.123Z');
    const parsed = expectParsed<MovementClaims>(
      parseInstructionClaims('issue', await signedClaims('issue', { member: 'alice-1', amount: '1', occurredAt }), NOW),
    );
    expect(parsed.occurredAt).toEqual(occurredAt);
  });

  // Both sides share REFERENCE_PATTERN and OCCURRED_AT_PATTERN from the protocol: the SDK refuses
  // to sign what the hub would refuse, and the hub refuses it when it is signed by other means.
  it.each([
    ['an empty orderRef', { orderRef: '' }],
    ['an orderRef with a space', { orderRef: 'order 1' }],
    ['an occurredAt without seconds', { occurredAt: '2025-03-01T09:00Z' }],
  ])('refuses %s on both sides', async (_name, extra) => {
    await expect(signedClaims('issue', { member: 'alice-1', amount: '1', ...extra })).rejects.toThrow(TypeError);
    const claims = { ...(await signedClaims('issue', { member: 'alice-1', amount: '1' })), ...extra };
    expect(parseInstructionClaims('issue', claims, NOW)).toMatchObject({ code: ErrorCode.INVALID_INSTRUCTION });
  });
});
