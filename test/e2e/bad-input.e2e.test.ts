import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYP } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, mutationFor, sendInstruction, signRaw } from './support/instructions';
import { errorCodes } from './support/http';

/**
 * Bad input is the client's fault, never the server's: no HTTP 5xx and no INTERNAL_SERVER_ERROR
 * for a syntax error, an over-long query, a subscription, a NUL byte in any argument or token,
 * an identifier that cannot name anything, or a persisted-query hash that does not match.
 */
let hub: TestHub;
let acme: TestPartner;

const NUL = 'a\u0000b';

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  const enrolled = await acme.client.enrollMember({ member: 'ann' });
  if (!enrolled.ok) throw new Error('fixture set-up failed');
});

afterAll(() => hub.stop());

async function post(body: unknown, token?: string): Promise<GraphqlResponse> {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

function expectClientError(response: GraphqlResponse, code: string, status = 400): void {
  expect({ status: response.status, codes: errorCodes(response) }).toEqual({ status, codes: [code] });
}

describe('documents the hub cannot run', () => {
  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED', async () => {
    expectClientError(await post({ query: '{ partners(' }), 'GRAPHQL_PARSE_FAILED');
  });

  it('answers a query over the token limit with 400 and a limit message, parsed once', async () => {
    const response = await post({ query: `{ ${'__typename '.repeat(2500)}}` });
    expectClientError(response, 'GRAPHQL_PARSE_FAILED');
    expect(response.errors?.[0]?.message).toBe('Query size exceeds the limit of 2000 tokens; send a smaller query');
  });

  it('refuses a subscription with 400: the hub has none', async () => {
    const response = await post({ query: 'subscription { ledgerIntegrity { ok } }' });
    expectClientError(response, 'GRAPHQL_VALIDATION_FAILED');
    expect(response.errors?.[0]?.message).toBe('this hub has no subscription operations: send a query or a mutation');
  });

  it('answers a persisted-query hash that does not match its query with 400 BAD_REQUEST', async () => {
    const query = '{ __typename }';
    const wrong = createHash('sha256').update('{ other }').digest('hex');
    const response = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: wrong } } });
    expectClientError(response, 'BAD_REQUEST');
    expect(response.errors?.[0]?.message).toBe('provided sha does not match query');
    const right = createHash('sha256').update(query).digest('hex');
    expect(await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: right } } })).toMatchObject({
      status: 200,
      data: { __typename: 'Query' },
    });
  });
});

describe('a NUL byte (PostgreSQL text cannot hold one)', () => {
  const cases: Array<[string, string, Record<string, unknown>, 'partner' | 'operator' | 'finance']> = [
    ['memberByRef', 'query($v: String!) { memberByRef(ref: $v) { id } }', { v: NUL }, 'partner'],
    ['instructionReceipt', 'query($v: String!) { instructionReceipt(jti: $v) { jti } }', { v: NUL }, 'partner'],
    ['partner', 'query($v: ID!) { partner(id: $v) { id } }', { v: NUL }, 'operator'],
    ['statements', 'query($v: ID) { statements(periodId: $v, first: 1) { edges { cursor } } }', { v: NUL }, 'finance'],
    ['statements by partner', 'query($v: ID) { statements(partnerId: $v, first: 1) { edges { cursor } } }', { v: NUL }, 'finance'],
    [
      'registerPartner',
      'mutation($v: String!) { registerPartner(input: { id: "NULCO", name: $v, publicJwks: [] }) { __typename } }',
      { v: NUL },
      'operator',
    ],
    [
      'registerPartner (JWK)',
      'mutation($v: JSONObject!) { registerPartner(input: { id: "NULCO", name: "n", publicJwks: [$v] }) { __typename } }',
      { v: { kid: NUL } },
      'operator',
    ],
    [
      'recordPartnerFunding',
      'mutation($v: String!) { recordPartnerFunding(partnerId: "ACME", amountMinor: "1", reference: $v) { __typename } }',
      { v: NUL },
      'finance',
    ],
    ['revokePartnerKey', 'mutation($v: String!) { revokePartnerKey(partnerId: "ACME", kid: $v) { __typename } }', { v: NUL }, 'operator'],
    ['a literal', '{ memberByRef(ref: "a\\u0000b") { id } }', {}, 'partner'],
  ];

  it.each(cases)('in %s is refused as BAD_USER_INPUT with 400 and writes nothing', async (_name, query, variables, role) => {
    const token = role === 'partner' ? await acme.client.accessToken() : await hub.operatorToken(role);
    const response = await expectNothingWritten(hub, () => post({ query, variables }, token));
    expectClientError(response, 'BAD_USER_INPUT');
  });

  it("in a member token's sub is refused as UNAUTHENTICATED (401)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: 'ACME', sub: NUL, aud: HUB_ID, iat: now, exp: now + 60, scope: 'member' })
      .setProtectedHeader({ alg: acme.key.alg, kid: acme.key.kid, typ: ACCESS_TOKEN_TYP })
      .sign(acme.key.privateKey);
    const response = await post({ query: '{ me { id } }' }, token);
    expectClientError(response, 'UNAUTHENTICATED', 401);
    expect(response.errors?.[0]?.extensions?.reason).toBe('MALFORMED_TOKEN');
  });

  it("in an instruction's iss is an unknown partner (a typed result), not a database error", async () => {
    const jws = await signRaw(instructionClaims('AC\u0000ME', 'issue', { member: 'ann', amount: '1' }), acme.key);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result.__typename).toBe('UnknownPartner');
  });

  it("in an access token's iss is refused as UNAUTHENTICATED", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: NUL, sub: NUL, aud: HUB_ID, iat: now, exp: now + 60, scope: 'partner' })
      .setProtectedHeader({ alg: acme.key.alg, kid: acme.key.kid, typ: ACCESS_TOKEN_TYP })
      .sign(acme.key.privateKey);
    expectClientError(await post({ query: '{ me { id } }' }, token), 'UNAUTHENTICATED', 401);
  });
});

describe('identifiers that cannot name anything', () => {
  const NOT_PARTNER_IDS = ['two words', 'acme', 'X'.repeat(40), '', 'ÄCME'];
  const NOT_REFERENCES = ['two words', 'x'.repeat(200), '', 'änn'];
  it.each([
    ['a partner id', 'query($v: ID!) { partner(id: $v) { id } }', NOT_PARTNER_IDS, 'not a partner id'],
    [
      'a partner id in a filter',
      'query($v: ID) { statements(partnerId: $v, first: 1) { edges { cursor } } }',
      NOT_PARTNER_IDS,
      'partnerId is not a partner id',
    ],
    [
      'a partner id of a mutation',
      'mutation($v: ID!) { suspendPartner(partnerId: $v) { __typename } }',
      NOT_PARTNER_IDS,
      'not a partner id',
    ],
    ['a member reference', 'query($v: String!) { memberByRef(ref: $v) { id } }', NOT_REFERENCES, 'not a reference'],
    ['a jti', 'query($v: String!) { instructionReceipt(jti: $v) { jti } }', NOT_REFERENCES, 'not a reference'],
  ])('%s (spaces, case, length, non-ASCII) is refused as BAD_USER_INPUT', async (_name, query, values, message) => {
    const token =
      query.includes('memberByRef') || query.includes('instructionReceipt') ? await acme.client.accessToken() : await hub.operatorToken();
    for (const value of values) {
      const response = await post({ query, variables: { v: value } }, token);
      expect({ value, status: response.status, codes: errorCodes(response) }).toEqual({ value, status: 200, codes: ['BAD_USER_INPUT'] });
      expect(response.errors?.[0]?.message).toContain(message);
    }
  });

  it('are still answered when well formed', async () => {
    const token = await acme.client.accessToken();
    expect((await post({ query: '{ memberByRef(ref: "ann") { id } }' }, token)).data?.memberByRef.id).toEqual(expect.any(String));
    expect((await post({ query: '{ partner(id: "ACME") { id } }' }, token)).data).toEqual({ partner: { id: 'ACME' } });
    expect(
      await sendInstruction(hub, 'issue', await signRaw(instructionClaims('ACME', 'issue', { member: 'ann', amount: '1' }), acme.key)),
    ).toMatchObject({
      __typename: 'IssueReceipt',
    });
  });
});

it('leaves the hub answering and the mutation document usable after all of it', async () => {
  expect((await post({ query: '{ __typename }' })).data).toEqual({ __typename: 'Query' });
  expect(mutationFor('issue')).toContain('issuePoints');
});
