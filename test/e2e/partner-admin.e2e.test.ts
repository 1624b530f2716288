import { exportPrivateJwk, generatePartnerKey, hashEmail, signInstruction, type PartnerKey } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { errorCodes } from './support/http';
import { expectNothingWritten, ledgerSnapshot, snapshotDelta } from './support/ledger-snapshot';
import { sendInstruction } from './support/instructions';

/**
 * Operator administration of partners: registration and its validation,
 * who may do it, suspension (a partner's signed requests stop, its members' points do not), and
 * key rotation (a new kid verifies alongside the old until the old is revoked).
 */

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let patId: string;

const PARTNER_FIELDS = `__typename
  ... on Partner { id name status contract { lotLifetimeMonths } keys { kid alg status publicJwk revokedAt } }
  ... on ErrorResult { errorCode message }`;

const REGISTER = `mutation($input: RegisterPartnerInput!) { result: registerPartner(input: $input) { ${PARTNER_FIELDS} } }`;
const SUSPEND = `mutation($id: ID!) { result: suspendPartner(partnerId: $id) { ${PARTNER_FIELDS} } }`;
const RESUME = `mutation($id: ID!) { result: resumePartner(partnerId: $id) { ${PARTNER_FIELDS} } }`;
const ADD_KEY = `mutation($id: ID!, $jwk: JSONObject!) { result: addPartnerKey(partnerId: $id, publicJwk: $jwk) { ${PARTNER_FIELDS} } }`;
const REVOKE_KEY = `mutation($id: ID!, $kid: String!) { result: revokePartnerKey(partnerId: $id, kid: $kid) { ${PARTNER_FIELDS} } }`;
const MEMBER_BY_REF = 'query($ref: String!) { memberByRef(ref: $ref) { id balance } }';

async function asOperator(query: string, variables: Record<string, unknown>) {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors !== undefined) throw new Error(JSON.stringify(response.errors));
  return response.data?.result;
}

async function partnerRow(id: string) {
  const response = await hub.graphql('query($id: ID!) { partner(id: $id) { id status } }', { id }, await hub.operatorToken());
  return response.data?.partner;
}

async function operatorBalance(memberId: string): Promise<string> {
  const response = await hub.graphql('query($id: ID!) { member(id: $id) { balance } }', { id: memberId }, await hub.operatorToken());
  return response.data?.member.balance;
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  const email = hashEmail('pat@example.com');
  const atAcme = await acme.client.enrollMember({ member: 'acme-pat', emailHash: email });
  const atBolt = await bolt.client.enrollMember({ member: 'bolt-pat', emailHash: email });
  const issued = await acme.client.issuePoints({ member: 'acme-pat', amount: '500' });
  if (!atAcme.ok || !atBolt.ok || !issued.ok) throw new Error('fixture set-up failed');
  patId = atAcme.data.memberId;
});

afterAll(() => hub.stop());

describe('registerPartner', () => {
  it('registers a partner with its public key and its issuance and redemption accounts', async () => {
    const key = await generatePartnerKey('ES256', 'dune-1');
    const before = await ledgerSnapshot(hub);
    const result = await asOperator(REGISTER, {
      input: { id: 'DUNE_2', name: 'Dune Ltd', publicJwks: [key.publicJwk], contract: { lotLifetimeMonths: 12 } },
    });
    expect(result).toMatchObject({
      __typename: 'Partner',
      id: 'DUNE_2',
      name: 'Dune Ltd',
      status: 'active',
      contract: { lotLifetimeMonths: 12 },
    });
    expect(result.keys).toEqual([expect.objectContaining({ kid: 'dune-1', alg: 'ES256', status: 'active', revokedAt: null })]);
    expect(result.keys[0].publicJwk).not.toHaveProperty('d');
    expect(snapshotDelta(before, await ledgerSnapshot(hub))).toEqual({ partners: '1', partnerKeys: '1', accounts: '2' });
  });

  it('refuses an id that is already registered as PartnerAlreadyExists and keeps the original', async () => {
    const key = await generatePartnerKey('EdDSA');
    const result = await expectNothingWritten(hub, () =>
      asOperator(REGISTER, { input: { id: 'ACME', name: 'Impostor', publicJwks: [key.publicJwk] } }),
    );
    expect(result).toMatchObject({ __typename: 'PartnerAlreadyExists', errorCode: 'PARTNER_ALREADY_EXISTS' });
    const keys = await hub.graphql('{ partner(id: "ACME") { name keys { kid } } }', {}, await hub.operatorToken());
    expect(keys.data?.partner).toEqual({ name: 'ACME Ltd', keys: [{ kid: acme.key.kid }] });
  });

  it.each([
    ['lower case', 'acme2'],
    ['one character', 'A'],
    ['a leading digit', '1ACME'],
    ['a hyphen', 'AC-ME'],
    ['33 characters', `A${'B'.repeat(32)}`],
    ['an empty id', ''],
    ['a non-ASCII letter', 'ÄCME'],
  ])('refuses an id with %s as InvalidInput', async (_case, id) => {
    const key = await generatePartnerKey('EdDSA');
    const result = await expectNothingWritten(hub, () =>
      asOperator(REGISTER, { input: { id, name: 'Bad Id', publicJwks: [key.publicJwk] } }),
    );
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it.each([
    ['a blank name', { name: '   ' }],
    ['a lot lifetime of 0 months', { contract: { lotLifetimeMonths: 0 } }],
    ['a lot lifetime of 121 months', { contract: { lotLifetimeMonths: 121 } }],
    ['a return window as long as the lot lifetime', { contract: { lotLifetimeMonths: 1, pendingDays: 60 } }],
    ['a breakage share above 1', { contract: { breakageShare: '1.5' } }],
    ['a currency that is not ISO 4217', { contract: { currency: 'EURO' } }],
  ])('refuses %s as InvalidInput', async (_case, change) => {
    const key = await generatePartnerKey('EdDSA');
    const input = { id: 'EDGE', name: 'Edge', publicJwks: [key.publicJwk], ...change };
    const result = await expectNothingWritten(hub, () => asOperator(REGISTER, { input }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it.each(['EdDSA', 'ES256'] as const)('refuses a private %s JWK as InvalidPartnerKey: private keys never reach the hub', async (alg) => {
    const key = await generatePartnerKey(alg);
    const privateJwk = await exportPrivateJwk(key);
    const result = await expectNothingWritten(hub, () =>
      asOperator(REGISTER, { input: { id: 'LEAKY', name: 'Leaky', publicJwks: [privateJwk] } }),
    );
    expect(result).toMatchObject({ __typename: 'InvalidPartnerKey', errorCode: 'INVALID_PARTNER_KEY' });
    expect(await partnerRow('LEAKY')).toBeNull();
  });

  it.each([
    ['no key at all', async () => []],
    ['a symmetric key', async () => [{ kty: 'oct', kid: 'shared', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' }]],
    ['an RSA key', async () => [{ kty: 'RSA', kid: 'rsa-1', n: 'AQAB', e: 'AQAB' }]],
    // A small-order point "verifies" signatures nobody made: the partner could later deny what it signed.
    [
      'an Ed25519 key of small order (all zero)',
      async () => [{ kty: 'OKP', crv: 'Ed25519', kid: 'zero', x: Buffer.alloc(32).toString('base64url') }],
    ],
    ['a key without kid', async () => [{ ...(await generatePartnerKey('EdDSA')).publicJwk, kid: undefined }]],
    ['an Ed25519 key labelled ES256', async () => [{ ...(await generatePartnerKey('EdDSA')).publicJwk, alg: 'ES256' }]],
    [
      'two keys sharing a kid',
      async () => [(await generatePartnerKey('EdDSA', 'same')).publicJwk, (await generatePartnerKey('ES256', 'same')).publicJwk],
    ],
  ])('refuses %s as InvalidPartnerKey', async (_case, jwks) => {
    const publicJwks = JSON.parse(JSON.stringify(await jwks()));
    const result = await expectNothingWritten(hub, () => asOperator(REGISTER, { input: { id: 'ODDKEY', name: 'Odd', publicJwks } }));
    expect(result).toMatchObject({ __typename: 'InvalidPartnerKey', errorCode: 'INVALID_PARTNER_KEY' });
  });

  it('is refused to a partner token, a member token and a finance token as FORBIDDEN, and to no token as UNAUTHENTICATED', async () => {
    const key = await generatePartnerKey('EdDSA');
    const variables = { input: { id: 'ROGUE', name: 'Rogue', publicJwks: [key.publicJwk] } };
    const tokens = {
      partner: await acme.client.accessToken(),
      member: await acme.client.memberToken('acme-pat'),
      finance: await hub.operatorToken('finance'),
    };
    for (const token of Object.values(tokens)) {
      const response = await expectNothingWritten(hub, () => hub.graphql(REGISTER, variables, token));
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.data?.result ?? null).toBeNull();
    }
    const anonymous = await expectNothingWritten(hub, () => hub.graphql(REGISTER, variables));
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    expect(await partnerRow('ROGUE')).toBeNull();
  });

  it('does not let a partner suspend another partner or add a key to it', async () => {
    const key = await generatePartnerKey('EdDSA');
    const token = await acme.client.accessToken();
    expect(errorCodes(await hub.graphql(SUSPEND, { id: 'BOLT' }, token))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await hub.graphql(ADD_KEY, { id: 'BOLT', jwk: key.publicJwk }, token))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await hub.graphql(REVOKE_KEY, { id: 'BOLT', kid: bolt.key.kid }, token))).toEqual(['FORBIDDEN']);
    expect(await partnerRow('BOLT')).toEqual({ id: 'BOLT', status: 'active' });
  });
});

describe('suspendPartner and resumePartner', () => {
  afterAll(async () => {
    // Leave ACME active for the key-rotation tests even if a test here failed midway.
    await asOperator(RESUME, { id: 'ACME' });
  });

  it('refuses every new instruction of a suspended partner, keeps its member balance readable, and leaves other partners working', async () => {
    const suspended = await asOperator(SUSPEND, { id: 'ACME' });
    expect(suspended).toMatchObject({ __typename: 'Partner', id: 'ACME', status: 'suspended' });

    for (const [op, outcome] of [
      ['issue', () => acme.client.issuePoints({ member: 'acme-pat', amount: '10' })],
      ['redeem', () => acme.client.redeemPoints({ member: 'acme-pat', amount: '10' })],
      ['enroll', () => acme.client.enrollMember({ member: 'acme-newcomer' })],
    ] as const) {
      const result = await expectNothingWritten(hub, outcome as () => Promise<{ ok: boolean }>);
      expect({ op, result }).toMatchObject({ op, result: { ok: false, typename: 'PartnerSuspended', errorCode: 'PARTNER_SUSPENDED' } });
    }

    // The member's points are untouched and readable by staff, by the other partner and by the member there.
    expect(await operatorBalance(patId)).toBe('500');
    const viaBolt = await hub.graphql(MEMBER_BY_REF, { ref: 'bolt-pat' }, await bolt.client.accessToken());
    expect(viaBolt.data?.memberByRef).toEqual({ id: patId, balance: '500' });
    const me = await hub.graphql('{ me { id balance } }', {}, await bolt.client.memberToken('bolt-pat'));
    expect(me.data?.me).toEqual({ id: patId, balance: '500' });

    // The suspended partner's own bearer tokens are signed requests too.
    const acmeRead = await hub.graphql(MEMBER_BY_REF, { ref: 'acme-pat' }, await acme.client.accessToken());
    expect(acmeRead.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'PARTNER_SUSPENDED' });

    // Another partner keeps working, and the member can spend the suspended partner's points there.
    const boltIssue = await bolt.client.issuePoints({ member: 'bolt-pat', amount: '100' });
    expect(boltIssue).toMatchObject({ ok: true, data: { balance: '600' } });
    const redeemed = await bolt.client.redeemPoints({ member: 'bolt-pat', amount: '300' });
    if (!redeemed.ok) throw new Error(JSON.stringify(redeemed));
    expect(redeemed.data.balance).toBe('300');
    expect(redeemed.data.consumed).toEqual([{ issuerPartnerId: 'ACME', amount: '300' }]);
  });

  it('restores service on resume: instructions and reads of the partner work again', async () => {
    const resumed = await asOperator(RESUME, { id: 'ACME' });
    expect(resumed).toMatchObject({ __typename: 'Partner', status: 'active' });
    const issued = await acme.client.issuePoints({ member: 'acme-pat', amount: '50' });
    expect(issued).toMatchObject({ ok: true, data: { amount: '50', balance: '350', replayed: false } });
    const read = await hub.graphql(MEMBER_BY_REF, { ref: 'acme-pat' }, await acme.client.accessToken());
    expect(read.data?.memberByRef).toEqual({ id: patId, balance: '350' });
  });

  it.each([
    ['suspend', SUSPEND],
    ['resume', RESUME],
  ])('answers %s of an unknown partner with NotFound', async (_case, mutation) => {
    const result = await expectNothingWritten(hub, () => asOperator(mutation, { id: 'GHOST' }));
    expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
  });
});

describe('key rotation', () => {
  let newKey: PartnerKey;
  let oldKid: string;

  beforeAll(async () => {
    newKey = await generatePartnerKey('ES256', 'acme-rotated');
    oldKid = acme.key.kid;
  });

  it('adds a second kid; instructions signed with either key are accepted', async () => {
    const added = await asOperator(ADD_KEY, { id: 'ACME', jwk: newKey.publicJwk });
    expect(added.__typename).toBe('Partner');
    const keys = await hub.graphql('{ partner(id: "ACME") { keys { kid alg status } } }', {}, await hub.operatorToken());
    expect(keys.data?.partner.keys).toEqual([
      { kid: oldKid, alg: 'EdDSA', status: 'active' },
      { kid: 'acme-rotated', alg: 'ES256', status: 'active' },
    ]);

    const withOld = await acme.client.issuePoints({ member: 'acme-pat', amount: '1' });
    const withNew = await hub.clientFor('ACME', newKey).issuePoints({ member: 'acme-pat', amount: '1' });
    expect(withOld).toMatchObject({ ok: true });
    expect(withNew).toMatchObject({ ok: true });
  });

  it.each([
    ['a kid that is already registered', async () => (await generatePartnerKey('EdDSA', 'acme-rotated')).publicJwk],
    ['a private JWK', async () => exportPrivateJwk(await generatePartnerKey('EdDSA', 'acme-private'))],
  ])('refuses to add %s as InvalidPartnerKey', async (_case, jwk) => {
    const publicJwk = await jwk();
    const result = await expectNothingWritten(hub, () => asOperator(ADD_KEY, { id: 'ACME', jwk: publicJwk }));
    expect(result).toMatchObject({ __typename: 'InvalidPartnerKey', errorCode: 'INVALID_PARTNER_KEY' });
  });

  it('answers a key added to an unknown partner with NotFound', async () => {
    const key = await generatePartnerKey('EdDSA');
    const result = await expectNothingWritten(hub, () => asOperator(ADD_KEY, { id: 'GHOST', jwk: key.publicJwk }));
    expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
  });

  it('refuses the revoked kid from the very next request while the new kid keeps working', async () => {
    const jwsBefore = (
      await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'issue', fields: { member: 'acme-pat', amount: '2' } })
    ).jws;
    const signedBefore = await acme.client.submitSigned('issue', jwsBefore);
    if (!signedBefore.ok) throw new Error(JSON.stringify(signedBefore));

    const revoked = await asOperator(REVOKE_KEY, { id: 'ACME', kid: oldKid });
    expect(revoked.__typename).toBe('Partner');
    const keys = await hub.graphql('{ partner(id: "ACME") { keys { kid status revokedAt } } }', {}, await hub.operatorToken());
    expect(keys.data?.partner.keys).toEqual([
      { kid: oldKid, status: 'revoked', revokedAt: expect.any(String) },
      { kid: 'acme-rotated', status: 'active', revokedAt: null },
    ]);

    const withOld = await expectNothingWritten(hub, () => acme.client.issuePoints({ member: 'acme-pat', amount: '1' }));
    expect(withOld).toMatchObject({ ok: false, typename: 'SigningKeyRevoked', errorCode: 'SIGNING_KEY_REVOKED' });
    // Even a replay of what the old key signed before: the receipt is fetched, not re-submitted.
    const replay = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jwsBefore));
    expect(replay).toMatchObject({ __typename: 'SigningKeyRevoked', errorCode: 'SIGNING_KEY_REVOKED' });
    const oldToken = await hub.graphql(MEMBER_BY_REF, { ref: 'acme-pat' }, await acme.client.accessToken());
    expect(oldToken.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SIGNING_KEY_REVOKED' });

    const rotated = hub.clientFor('ACME', newKey);
    expect(await rotated.issuePoints({ member: 'acme-pat', amount: '1' })).toMatchObject({ ok: true });
    // What the old key signed stays provable: its receipt is still served, to the new key's token.
    const fetched = await rotated.fetchReceipt(signedBefore.jti);
    expect(fetched?.data.receipt).toBe(signedBefore.data.receipt);
  });

  it('answers revoking a kid that is unknown or already revoked with NotFound', async () => {
    for (const kid of ['no-such-kid', oldKid]) {
      const result = await expectNothingWritten(hub, () => asOperator(REVOKE_KEY, { id: 'ACME', kid }));
      expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
    }
  });
});
