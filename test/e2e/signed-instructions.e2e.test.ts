import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import {
  generatePartnerKey,
  signInstruction,
  type FieldsByOp,
  type Op,
  type PartnerKey,
  type SignInstructionInput,
  type SigningKey,
  SUCCESS_TYPENAME,
} from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten, ledgerSnapshot, snapshotDelta } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw, tamperPayload, unsignedJws } from './support/instructions';

/**
 * The protocol of docs/protocol.md through HTTP with real JWS: idempotency by jti, and every way a signed
 * instruction can be refused. Every refusal is checked twice: the typed result, and a ledger
 * snapshot that proves nothing was written.
 */

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const MINUTE_MS = 60_000;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  const enrolled = await acme.client.enrollMember({ member: 'alice' });
  const boltOnly = await bolt.client.enrollMember({ member: 'bolt-bob' });
  const funded = await acme.client.issuePoints({ member: 'alice', amount: '1000' });
  if (!enrolled.ok || !boltOnly.ok || !funded.ok) throw new Error('fixture set-up failed');
});

afterAll(() => hub.stop());

/** An instruction signed by ACME's registered key through the SDK, unless told otherwise. */
function signAcme<O extends Op>(op: O, fields: FieldsByOp[O], options: Partial<SignInstructionInput<O>> = {}) {
  return signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op, fields, ...options });
}

async function balanceOf(partner: TestPartner, memberRef: string): Promise<string> {
  const result = await hub.graphql(
    'query($ref: String!) { memberByRef(ref: $ref) { balance } }',
    { ref: memberRef },
    await partner.client.accessToken(),
  );
  return result.data?.memberByRef.balance;
}

describe('replays and idempotency (one jti takes effect at most once)', () => {
  it('answers the identical JWS sent again with the original receipt and writes nothing', async () => {
    const signed = await signAcme('issue', { member: 'alice', amount: '50', orderRef: 'order-replay' });
    const before = await ledgerSnapshot(hub);
    const first = await acme.client.submitSigned('issue', signed.jws);
    if (!first.ok) throw new Error(JSON.stringify(first));
    expect(first.data.replayed).toBe(false);
    expect(snapshotDelta(before, await ledgerSnapshot(hub))).toEqual({
      journalEntries: '1',
      postings: '2',
      lots: '1',
      instructions: '1',
      walletBalanceSum: '50',
      lotRemainingSum: '50',
    });

    const again = await expectNothingWritten(hub, () => acme.client.submitSigned('issue', signed.jws));
    if (!again.ok) throw new Error(JSON.stringify(again));
    expect(again.data).toEqual({ ...first.data, replayed: true });
    expect(again.data.receipt).toBe(first.data.receipt);
    expect(again.receipt.entryId).toBe(first.receipt.entryId);

    const raw = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(raw).toMatchObject({ __typename: 'IssueReceipt', entryId: first.data.entryId, receipt: first.data.receipt, replayed: true });
  });

  it('answers the same jti re-signed with a new iat and exp with the original receipt, balance as it was then', async () => {
    const jti = randomUUID();
    const fields = { member: 'alice', amount: '7' };
    const original = await signAcme('issue', fields, { jti, now: new Date(Date.now() - 30_000), lifetimeSeconds: 120 });
    const first = await acme.client.submitSigned('issue', original.jws);
    if (!first.ok) throw new Error(JSON.stringify(first));
    // Something else happens to the wallet in between: the replay must still report the original balance.
    await acme.client.issuePoints({ member: 'alice', amount: '3' });

    const resigned = await signAcme('issue', fields, { jti, lifetimeSeconds: 300 });
    expect(resigned.jws).not.toBe(original.jws);
    expect(resigned.claims.iat).not.toBe(original.claims.iat);
    expect(resigned.requestHash).toBe(original.requestHash);

    const again = await expectNothingWritten(hub, () => acme.client.submitSigned('issue', resigned.jws));
    if (!again.ok) throw new Error(JSON.stringify(again));
    expect(again.data).toMatchObject({ replayed: true, entryId: first.data.entryId, balance: first.data.balance });
    expect(again.data.receipt).toBe(first.data.receipt);
  });

  it.each([
    ['a different amount', 'issue' as const, { member: 'alice', amount: '11' }],
    ['a different order reference', 'issue' as const, { member: 'alice', amount: '10', orderRef: 'another-order' }],
    ['a different operation', 'redeem' as const, { member: 'alice', amount: '10' }],
  ])('refuses the same jti with %s as IdempotencyConflict and writes nothing', async (_case, op, fields) => {
    const jti = randomUUID();
    const accepted = await acme.client.issuePoints({ member: 'alice', amount: '10' }, { jti });
    expect(accepted.ok).toBe(true);

    const conflicting = await signAcme(op, fields, { jti });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, op, conflicting.jws));
    expect(result).toMatchObject({ __typename: 'IdempotencyConflict', errorCode: 'IDEMPOTENCY_CONFLICT', conflictingJti: jti });
  });

  it('keeps jti per partner: another partner may use a jti ACME already used', async () => {
    const jti = randomUUID();
    const atAcme = await acme.client.issuePoints({ member: 'alice', amount: '2' }, { jti });
    const atBolt = await bolt.client.issuePoints({ member: 'bolt-bob', amount: '2' }, { jti });
    if (!atAcme.ok || !atBolt.ok) throw new Error(JSON.stringify({ atAcme, atBolt }));
    expect(atBolt.data.replayed).toBe(false);
    expect(atBolt.data.entryId).not.toBe(atAcme.data.entryId);
  });

  it('applies the same JWS sent five times at once exactly once', async () => {
    const signed = await signAcme('issue', { member: 'alice', amount: '5' });
    const before = await ledgerSnapshot(hub);
    const results = await Promise.all(Array.from({ length: 5 }, () => sendInstruction(hub, 'issue', signed.jws)));
    expect(results.map((result) => result.__typename)).toEqual(Array(5).fill('IssueReceipt'));
    expect(results.filter((result) => result.replayed === false)).toHaveLength(1);
    expect(new Set(results.map((result) => result.entryId)).size).toBe(1);
    expect(new Set(results.map((result) => result.receipt)).size).toBe(1);
    expect(snapshotDelta(before, await ledgerSnapshot(hub))).toMatchObject({
      journalEntries: '1',
      instructions: '1',
      walletBalanceSum: '5',
    });
  });
});

describe('signature, algorithm, key and time checks', () => {
  const fields = { member: 'alice', amount: '100' };

  it('refuses an instruction signed with an attacker key under the victim partner iss and kid as InvalidSignature', async () => {
    const attacker = await generatePartnerKey('EdDSA');
    const forged = await signAcme('issue', fields, { key: { kid: acme.key.kid, alg: 'EdDSA', privateKey: attacker.privateKey } });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', forged.jws));
    expect(result).toMatchObject({ __typename: 'InvalidSignature', errorCode: 'INVALID_SIGNATURE' });
  });

  it('refuses an ES256 instruction forged with another P-256 key as InvalidSignature', async () => {
    const attacker = await generatePartnerKey('ES256');
    const forged = await signInstruction({
      partnerId: 'BOLT',
      hubId: HUB_ID,
      key: { kid: bolt.key.kid, alg: 'ES256', privateKey: attacker.privateKey },
      op: 'issue',
      fields: { member: 'bolt-bob', amount: '100' },
    });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', forged.jws));
    expect(result).toMatchObject({ __typename: 'InvalidSignature', errorCode: 'INVALID_SIGNATURE' });
  });

  it('refuses a genuine instruction whose payload was changed after signing as InvalidSignature', async () => {
    const genuine = await signAcme('issue', { member: 'alice', amount: '10' });
    const tampered = tamperPayload(genuine.jws, (claims) => ({ ...claims, amount: '1000000' }));
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', tampered));
    expect(result).toMatchObject({ __typename: 'InvalidSignature', errorCode: 'INVALID_SIGNATURE' });
    // The genuine one was never consumed by the tampered attempt.
    expect(await acme.client.fetchReceipt(genuine.jti)).toBeNull();
  });

  it.each([
    ['alg none', { alg: 'none' }],
    ['alg NONE', { alg: 'NONE' }],
    ['alg EdDSA with the signature left off', { alg: 'EdDSA' }],
  ])('refuses a JWS with %s as UnsignedInstruction', async (_case, header) => {
    const claims = instructionClaims('ACME', 'issue', fields);
    const jws = unsignedJws(claims, { ...header, kid: acme.key.kid, typ: 'coalition-tx+jwt' });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'UnsignedInstruction', errorCode: 'UNSIGNED_INSTRUCTION' });
  });

  it('refuses an HS256 instruction keyed with the partner public key (algorithm confusion) as AlgorithmNotAllowed', async () => {
    const secret = Buffer.from(String(acme.key.publicJwk.x), 'base64url');
    const jws = await signRaw(instructionClaims('ACME', 'issue', fields), { alg: 'HS256', kid: acme.key.kid, privateKey: secret });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'AlgorithmNotAllowed', errorCode: 'ALGORITHM_NOT_ALLOWED' });
  });

  it('refuses an ES256 signature under a kid registered for EdDSA as AlgorithmNotAllowed', async () => {
    const other = await generatePartnerKey('ES256');
    const jws = await signRaw(instructionClaims('ACME', 'issue', fields), {
      alg: 'ES256',
      kid: acme.key.kid,
      privateKey: other.privateKey,
    });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'AlgorithmNotAllowed', errorCode: 'ALGORITHM_NOT_ALLOWED' });
  });

  it('refuses an instruction addressed to another hub as WrongAudience', async () => {
    const signed = await signInstruction({ partnerId: 'ACME', hubId: 'some-other-hub', key: acme.key, op: 'issue', fields });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'WrongAudience', errorCode: 'WRONG_AUDIENCE' });
  });

  it('refuses an instruction whose exp passed beyond the clock skew as InstructionExpired', async () => {
    const signed = await signAcme('issue', fields, { now: new Date(Date.now() - 10 * MINUTE_MS), lifetimeSeconds: 120 });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'InstructionExpired', errorCode: 'INSTRUCTION_EXPIRED' });
  });

  it('refuses an instruction issued far in the future as InstructionNotYetValid', async () => {
    const signed = await signAcme('issue', fields, { now: new Date(Date.now() + 10 * MINUTE_MS) });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'InstructionNotYetValid', errorCode: 'INSTRUCTION_NOT_YET_VALID' });
  });

  it('judges time by the hub clock: an instruction signed now is expired once the hub clock is 10 minutes ahead', async () => {
    const signed = await signAcme('issue', fields);
    hub.clock.advance(10 * MINUTE_MS);
    try {
      const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
      expect(result).toMatchObject({ __typename: 'InstructionExpired', errorCode: 'INSTRUCTION_EXPIRED' });
    } finally {
      hub.clock.advance(-10 * MINUTE_MS);
    }
  });

  it('refuses an instruction that lives longer than 5 minutes as MalformedInstruction', async () => {
    const jws = await signRaw(instructionClaims('ACME', 'issue', fields, { lifetimeSeconds: 600 }), acme.key);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'MalformedInstruction', errorCode: 'MALFORMED_INSTRUCTION' });
  });

  it('refuses an instruction signed under a kid the partner never registered as UnknownSigningKey', async () => {
    const key: SigningKey = { kid: 'never-registered', alg: 'EdDSA', privateKey: acme.key.privateKey };
    const signed = await signAcme('issue', fields, { key });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'UnknownSigningKey', errorCode: 'UNKNOWN_SIGNING_KEY' });
  });

  it('refuses an instruction from an iss that is not a registered partner as UnknownPartner', async () => {
    const stranger: PartnerKey = await generatePartnerKey('EdDSA');
    const signed = await signInstruction({ partnerId: 'NOBODY', hubId: HUB_ID, key: stranger, op: 'issue', fields });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'UnknownPartner', errorCode: 'UNKNOWN_PARTNER' });
  });

  it('refuses a partner access token sent as an instruction (wrong typ) as MalformedInstruction', async () => {
    const token = await acme.client.accessToken();
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', token));
    expect(result).toMatchObject({ __typename: 'MalformedInstruction', errorCode: 'MALFORMED_INSTRUCTION' });
  });

  it('refuses a string that is not a compact JWS as MalformedInstruction', async () => {
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', 'this is not a JWS'));
    expect(result).toMatchObject({ __typename: 'MalformedInstruction', errorCode: 'MALFORMED_INSTRUCTION' });
  });
});

describe('claims of a correctly signed instruction', () => {
  it.each([
    ['an issue instruction sent to redeemPoints', 'issue' as const, 'redeem' as const],
    ['a redeem instruction sent to issuePoints', 'redeem' as const, 'issue' as const],
    ['an enroll instruction sent to issuePoints', 'enroll' as const, 'issue' as const],
  ])('refuses %s as InvalidInstruction', async (_case, signedOp, mutationOp) => {
    const fields = signedOp === 'enroll' ? { member: 'alice' } : { member: 'alice', amount: '1' };
    const signed = await signAcme(signedOp, fields as FieldsByOp[typeof signedOp]);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, mutationOp, signed.jws));
    expect(result).toMatchObject({ __typename: 'InvalidInstruction', errorCode: 'INVALID_INSTRUCTION' });
    // Refused before the jti was claimed: the instruction can still be sent where it belongs.
    expect(await acme.client.fetchReceipt(signed.jti)).toBeNull();
  });

  it.each([
    ['a negative amount string', '-5', '-5'],
    ['a negative JSON number', -5, '-5'],
    ['a decimal amount string', '1.5', '1.5'],
    ['a decimal JSON number', 1.5, '1.5'],
    ['a JSON number', 100, '100'],
    ['zero', '0', '0'],
    ['an empty string', '', ''],
    ['exponent notation', '1e3', '1e3'],
    ['a plus sign', '+5', '+5'],
    ['surrounding spaces', ' 5 ', ' 5 '],
    ['more than 10^12', '1000000000001', '1000000000001'],
    ['far beyond bigint', '99999999999999999999', '99999999999999999999'],
  ])('refuses %s as InvalidAmount and writes nothing', async (_case, amount, echoed) => {
    for (const op of ['issue', 'redeem'] as const) {
      const jws = await signRaw(instructionClaims('ACME', op, { member: 'alice', amount }), acme.key);
      const result = await expectNothingWritten(hub, () => sendInstruction(hub, op, jws));
      expect(result).toMatchObject({ __typename: 'InvalidAmount', errorCode: 'INVALID_AMOUNT', sentAmount: echoed });
    }
  });

  it('refuses an instruction with a claim the protocol does not know as InvalidInstruction', async () => {
    const jws = await signRaw(instructionClaims('ACME', 'issue', { member: 'alice', amount: '5', bonus: '500' }), acme.key);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    // The typed result names the offending claim, so that a partner's code can act on it.
    expect(result).toMatchObject({ __typename: 'InvalidInstruction', errorCode: 'INVALID_INSTRUCTION', claim: 'bonus' });
    expect(result.message).toContain('bonus');
  });

  it('refuses an instruction without an amount as InvalidInstruction naming the claim', async () => {
    const jws = await signRaw(instructionClaims('ACME', 'issue', { member: 'alice' }), acme.key);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'InvalidInstruction', errorCode: 'INVALID_INSTRUCTION', claim: 'amount' });
  });

  it.each(['issue', 'redeem'] as const)('refuses to %s for a member reference nobody enrolled as UnknownMember', async (op) => {
    const signed = await signAcme(op, { member: 'nobody-here', amount: '1' });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, op, signed.jws));
    expect(result).toMatchObject({ __typename: 'UnknownMember', errorCode: 'UNKNOWN_MEMBER' });
  });

  it('refuses to issue to a reference enrolled only at another partner as UnknownMember', async () => {
    const signed = await signAcme('issue', { member: 'bolt-bob', amount: '1' });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', signed.jws));
    expect(result).toMatchObject({ __typename: 'UnknownMember', errorCode: 'UNKNOWN_MEMBER' });
  });

  it('refuses to redeem more than the balance as InsufficientBalance with available and requested, and writes nothing', async () => {
    const balance = await balanceOf(acme, 'alice');
    const requested = (BigInt(balance) + 1n).toString();
    const signed = await signAcme('redeem', { member: 'alice', amount: requested });
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'redeem', signed.jws));
    expect(result).toMatchObject({ __typename: 'InsufficientBalance', errorCode: 'INSUFFICIENT_BALANCE', available: balance, requested });
    expect(await balanceOf(acme, 'alice')).toBe(balance);
  });
});

describe('a refused instruction writes nothing, not even its jti', () => {
  it('accepts the jti of an instruction refused for insufficient balance in a corrected instruction', async () => {
    const jti = randomUUID();
    const balance = BigInt(await balanceOf(acme, 'alice'));
    const tooMuch = await signAcme('redeem', { member: 'alice', amount: (balance + 500n).toString() }, { jti });
    const refused = await expectNothingWritten(hub, () => sendInstruction(hub, 'redeem', tooMuch.jws));
    expect(refused.__typename).toBe('InsufficientBalance');
    expect(await acme.client.fetchReceipt(jti)).toBeNull();

    const corrected = await acme.client.redeemPoints({ member: 'alice', amount: '20' }, { jti });
    if (!corrected.ok) throw new Error(JSON.stringify(corrected));
    expect(corrected.data).toMatchObject({ replayed: false, amount: '20', balance: (balance - 20n).toString() });
    const fetched = await acme.client.fetchReceipt(jti);
    expect(fetched?.data.receipt).toBe(corrected.data.receipt);
  });

  it('accepts the jti of an instruction refused for an unknown member once the member is enrolled', async () => {
    const jti = randomUUID();
    const early = await signAcme('issue', { member: 'carol', amount: '40' }, { jti });
    expect((await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', early.jws))).__typename).toBe('UnknownMember');

    await acme.client.enrollMember({ member: 'carol' });
    const retried = await acme.client.submitSigned('issue', early.jws);
    expect(retried).toMatchObject({ ok: true, data: { replayed: false, amount: '40', balance: '40' } });
    const decoded = decodeJwt(retried.ok ? retried.data.receipt : '');
    expect(decoded).toMatchObject({ jti, op: 'issue', amount: '40', requestHash: early.requestHash });
  });
});

describe('the SDK and the hub agree on the protocol', () => {
  // The SDK checks fields before signing so that it never signs what the hub is bound to refuse
  // (partner-sdk/src/fields.ts). Whichever side is changed, each case must end in agreement.
  const SUCCESS = SUCCESS_TYPENAME;
  const cases: Array<[string, Op, FieldsByOp[Op], Partial<SignInstructionInput<Op>>]> = [
    ['a member reference with a space', 'enroll', { member: 'alice smith' }, {}],
    ['a jti with a space', 'issue', { member: 'alice', amount: '1' }, { jti: `order ${randomUUID()}` }],
    ['an empty orderRef', 'issue', { member: 'alice', amount: '1', orderRef: '' }, {}],
    ['an orderRef with spaces', 'issue', { member: 'alice', amount: '1', orderRef: 'Bestellung Nr. 5' }, {}],
    ['an occurredAt without seconds', 'issue', { member: 'alice', amount: '1', occurredAt: '2025-01-31T12:00Z' }, {}],
  ];

  it.each(cases)('%s: the SDK refuses to sign it, or the hub accepts it', async (_case, op, fields, options) => {
    let jws: string;
    try {
      jws = (await signAcme(op, fields, options)).jws;
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return;
    }
    const result = await sendInstruction(hub, op, jws);
    expect(result).toMatchObject({ __typename: SUCCESS[op] });
  });
});
