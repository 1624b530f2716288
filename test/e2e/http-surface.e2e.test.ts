import { signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { mutationFor, sendInstruction } from './support/instructions';

/**
 * The HTTP surface: /healthz, the JWKS, GraphQL over GET and POST, and the
 * request protections (body size, depth, aliases, batching). Refused writes are proven to have
 * written nothing, and the instruction they carried is then accepted as new over POST.
 */

let hub: TestHub;
let acme: TestPartner;

const JSON_HEADERS = { 'content-type': 'application/json' };
const PREFLIGHT = { 'apollo-require-preflight': 'true' };

interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
}

async function request(path: string, init: RequestInit = {}): Promise<RawResponse> {
  const response = await fetch(`${hub.url}${path}`, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, headers: response.headers, body };
}

const postJson = (body: unknown, headers: Record<string, string> = {}) =>
  request('/graphql', { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) });

const getGraphql = (params: Record<string, string>, headers: Record<string, string> = {}) =>
  request(`/graphql?${new URLSearchParams(params).toString()}`, { headers });

/** A fresh, valid issue instruction: accepted if it ever reaches issuePoints over POST. */
async function freshIssue() {
  return signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'issue', fields: { member: 'alice', amount: '10' } });
}

/** The instruction was not consumed by the refused request: over POST it is accepted as new. */
async function expectAcceptedAsNew(jws: string): Promise<void> {
  expect(await sendInstruction(hub, 'issue', jws)).toMatchObject({ __typename: 'IssueReceipt', replayed: false });
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  const enrolled = await acme.client.enrollMember({ member: 'alice' });
  if (!enrolled.ok) throw new Error('fixture set-up failed');
});

afterAll(() => hub.stop());

describe('health and keys', () => {
  it('answers GET /healthz with 200 and status ok', async () => {
    const response = await request('/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok' });
  });

  it('publishes the hub public signing keys at /.well-known/jwks.json, with no private member', async () => {
    const response = await request('/.well-known/jwks.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const keys: Array<Record<string, unknown>> = response.body.keys;
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(keys).toEqual((await hub.hub.hubKeys.jwks()).keys);
    for (const key of keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', use: 'sig' });
      for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(privateMember);
    }
  });

  it('answers an unknown path with 404 and a non-GET to /healthz with 405', async () => {
    expect((await request('/no-such-path')).status).toBe(404);
    expect((await request('/graphql/extra')).status).toBe(404);
    const post = await request('/healthz', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});

describe('GraphQL over GET', () => {
  it('runs a query from GET /graphql?query= when the request carries a non-simple header', async () => {
    for (const headers of [PREFLIGHT, JSON_HEADERS]) {
      const response = await getGraphql({ query: '{ __typename }' }, headers);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ data: { __typename: 'Query' } });
    }
  });

  it('answers a plain GET query (GraphQL-over-HTTP; no cookies, so no CSRF preflight is needed)', async () => {
    const response = await getGraphql({ query: '{ __typename }' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a mutation over GET with 405 and writes nothing', async () => {
    const signed = await freshIssue();
    const params = { query: mutationFor('issue'), variables: JSON.stringify({ i: signed.jws }) };
    const response = await expectNothingWritten(hub, () => getGraphql(params, PREFLIGHT));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.body.data).toBeUndefined();
    const simple = await expectNothingWritten(hub, () => getGraphql(params));
    expect(simple.status).toBe(405);
    await expectAcceptedAsNew(signed.jws);
  });

  it('refuses other methods on /graphql with 405', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const response = await request('/graphql', { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, POST');
    }
  });
});

describe('GraphQL over POST', () => {
  it('refuses a body that is not declared as JSON with 400, and writes nothing', async () => {
    const signed = await freshIssue();
    const body = JSON.stringify({ query: mutationFor('issue'), variables: { i: signed.jws } });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/graphql', undefined]) {
      const init: RequestInit = { method: 'POST', body: new Blob([body], contentType ? { type: contentType } : {}) };
      const response = await expectNothingWritten(hub, () => request('/graphql', init));
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 400 });
      expect(response.body.data).toBeUndefined();
    }
    await expectAcceptedAsNew(signed.jws);
  });

  it('refuses a body that is not valid JSON with 400', async () => {
    const response = await request('/graphql', { method: 'POST', headers: JSON_HEADERS, body: '{"query": ' });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses a body over 64 KiB with 413 before running it, and writes nothing', async () => {
    const signed = await freshIssue();
    const body = { query: mutationFor('issue'), variables: { i: signed.jws, padding: 'x'.repeat(64 * 1024) } };
    const response = await expectNothingWritten(hub, () => postJson(body));
    expect(response.status).toBe(413);
    expect(response.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(response.body.data).toBeUndefined();
    await expectAcceptedAsNew(signed.jws);
  });

  it('accepts a body just under 64 KiB', async () => {
    const response = await postJson({ query: '{ __typename }', variables: { padding: 'x'.repeat(60 * 1024) } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses batched (array) requests with 400 and writes nothing', async () => {
    const first = await freshIssue();
    const second = await freshIssue();
    const batch = [first, second].map((signed) => ({ query: mutationFor('issue'), variables: { i: signed.jws } }));
    const response = await expectNothingWritten(hub, () => postJson(batch));
    expect(response.status).toBe(400);
    expect(Array.isArray(response.body)).toBe(false);
    expect(response.body.errors[0].extensions.code).toBe('BAD_REQUEST');
    await expectAcceptedAsNew(first.jws);
    await expectAcceptedAsNew(second.jws);
  });
});

describe('query limits', () => {
  it('refuses a query deeper than 8 with a validation error and no data', async () => {
    const deepIntrospection =
      '{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }';
    const deepFragments =
      '{ partnerTransactions { edges { node { postings { account { ... on Account { ... on Account { ... on Account { id } } } } } } } } }';
    for (const query of [deepIntrospection, deepFragments]) {
      const response = await postJson({ query });
      expect(response.status).toBe(400);
      expect(response.body).not.toHaveProperty('data');
      expect(response.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(response.body.errors[0].message).toMatch(/depth limit of 8/);
    }
  });

  it('accepts the deepest query the schema has (depth 7)', async () => {
    const query = '{ partnerTransactions { edges { node { postings { account { id } } } } } }';
    const response = await postJson({ query }, { authorization: `Bearer ${await acme.client.accessToken()}` });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it('refuses 20 aliases of a field with a validation error, before any resolver runs', async () => {
    const aliases = Array.from({ length: 20 }, (_, index) => `a${index}: ledgerIntegrity { ok }`).join(' ');
    const response = await postJson({ query: `{ ${aliases} }` }, { authorization: `Bearer ${await hub.operatorToken('finance')}` });
    expect(response.status).toBe(400);
    expect(response.body).not.toHaveProperty('data');
    expect(response.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.body.errors[0].message).toMatch(/Aliases limit of 15/);
  });

  it('accepts 15 aliases, the limit', async () => {
    const aliases = Array.from({ length: 15 }, (_, index) => `a${index}: partner(id: "ACME") { id }`).join(' ');
    const response = await postJson({ query: `{ ${aliases} }` }, { authorization: `Bearer ${await hub.operatorToken()}` });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.data)).toHaveLength(15);
  });

  it('refuses 20 aliased mutations in one request and writes nothing', async () => {
    const signed = await Promise.all(Array.from({ length: 20 }, () => freshIssue()));
    const fields = signed.map((_, index) => `m${index}: issuePoints(instruction: $i${index}) { __typename }`).join(' ');
    const declarations = signed.map((_, index) => `$i${index}: String!`).join(', ');
    const variables = Object.fromEntries(signed.map((instruction, index) => [`i${index}`, instruction.jws]));
    const response = await expectNothingWritten(hub, () => postJson({ query: `mutation(${declarations}) { ${fields} }`, variables }));
    expect(response.status).toBe(400);
    expect(response.body).not.toHaveProperty('data');
    expect(response.body.errors[0].message).toMatch(/Aliases limit/);
  });
});

describe('introspection', () => {
  it('answers introspection queries while INTROSPECTION is enabled (the default)', async () => {
    const response = await postJson({
      query: '{ __schema { queryType { name } mutationType { name } } __type(name: "ErrorResult") { kind } }',
    });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({
      __schema: { queryType: { name: 'Query' }, mutationType: { name: 'Mutation' } },
      __type: { kind: 'INTERFACE' },
    });
  });
});
