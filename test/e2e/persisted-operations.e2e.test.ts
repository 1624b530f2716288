import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { MUTATIONS, PartnerClient, persistedOperationManifest } from '@coalition-hub/partner-sdk';
import type { Hub } from '../../src/app';
import { HUB_ID, TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * Persisted operations (docs/security.md, "Persisted operations"): a partner set to safelist-only
 * runs only the partner SDK's documents and those the operator registered for it, sent as text or
 * by id; everything else from its token or its signed instructions is refused before any resolver
 * runs. Other partners, members and staff are unaffected; the setting counts in every hub process.
 */

let hub: TestHub;
let other: Hub;
let acme: TestPartner;
let beta: TestPartner;
/** ACME's SDK in persisted mode: documents by id only. */
let acmeById: PartnerClient;
/** The hub's log lines (JSON). */
const lines: Array<Record<string, unknown>> = [];

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const SET_SAFELIST_ONLY = `mutation($id: ID!, $enabled: Boolean!) {
  result: setPartnerSafelistOnly(partnerId: $id, enabled: $enabled) { __typename ... on Partner { id safelistOnly } ... on ErrorResult { errorCode message } }
}`;
const REGISTER = `mutation($partnerId: ID!, $body: String!, $id: String) {
  result: registerPersistedOperation(partnerId: $partnerId, body: $body, id: $id) {
    __typename
    ... on PersistedOperation { id partnerId name body registeredBy }
    ... on ErrorResult { errorCode message }
  }
}`;
const AD_HOC = 'query AdHoc { partner(id: "ACME") { id name } }';

/** POSTs a GraphQL body as given (text, id or both) to a hub. */
async function post(body: Record<string, unknown>, token?: string, url = hub.hub.url): Promise<GraphqlResponse> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphqlResponse, 'status'>) };
}

async function asOperator(query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  return (await hub.asStaff<{ result: Record<string, any> }>(query, variables, 'operator')).result;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 20) {
    if (waited > 10_000) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

const refusedAsNotInSafelist = (response: GraphqlResponse) =>
  response.status === 403 && response.errors?.[0]?.extensions?.code === 'OPERATION_NOT_IN_SAFELIST';

beforeAll(async () => {
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  hub = await TestHub.start({ logger: pino({ level: 'info' }, capture) });
  other = await hub.startAnother();
  acme = await hub.registerPartner('ACME');
  beta = await hub.registerPartner('BETA');
  acmeById = new PartnerClient({ baseUrl: hub.hub.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key, persistedOperations: true });
  for (const partner of [acme, beta]) {
    const enrolled = await partner.client.enrollMember({ member: 'pat' });
    const issued = await partner.client.issuePoints({ member: 'pat', amount: '100' });
    if (!enrolled.ok || !issued.ok) throw new Error('fixture set-up failed');
  }
  const set = await asOperator(SET_SAFELIST_ONLY, { id: 'ACME', enabled: true });
  expect(set).toEqual({ __typename: 'Partner', id: 'ACME', safelistOnly: true });
});

afterAll(async () => {
  await other?.close();
  await hub.stop();
});

describe('a safelist-only partner', () => {
  it("runs the SDK's documents sent by id, end to end: instructions, a batch, receipts and events", async () => {
    const issued = await acmeById.issuePoints({ member: 'pat', amount: '10' });
    expect(issued).toMatchObject({ ok: true, data: { balance: '110' } });
    expect(await acmeById.redeemPoints({ member: 'pat', amount: '5' })).toMatchObject({ ok: true });
    const batch = await acmeById.submitMany([
      { op: 'issue', fields: { member: 'pat', amount: '1' } },
      { op: 'enroll', fields: { member: 'sam' } },
    ]);
    expect(batch.map((item) => item.ok)).toEqual([true, true]);
    expect((await acmeById.fetchReceipt(issued.jti))?.data.receipt).toBe(issued.ok ? issued.data.receipt : undefined);
    // The feed shows an event once no older transaction on the server is still open (docs/events.md): under a
    // busy server (other suites' transactions) that can take a moment, so the test waits for it.
    let events = 0;
    for (let attempt = 0; attempt < 60 && events === 0; attempt += 1) {
      if (attempt > 0) await new Promise((done) => setTimeout(done, 500));
      events = (await acmeById.events({ first: 5 })).events.length;
    }
    expect(events).toBeGreaterThan(0);
  });

  it('accepts a batch sent by id that is larger than the general body limit, as the same batch sent as text is', async () => {
    const signed = await Promise.all(Array.from({ length: 200 }, () => acmeById.sign('issue', { member: 'pat', amount: '1' })));
    const jwsList = signed.map((instruction) => instruction.jws);
    expect(Buffer.byteLength(JSON.stringify({ variables: { instructions: jwsList } }))).toBeGreaterThan(64 * 1024);
    const outcomes = await acmeById.submitBatch(jwsList);
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(200);
  });

  it("runs the SDK's documents sent as text too (the default SDK)", async () => {
    expect(await acme.client.issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });
  });

  it("refuses an ad-hoc query from the partner's token with OPERATION_NOT_IN_SAFELIST (403), before it runs", async () => {
    const response = await post({ query: AD_HOC }, await acme.client.accessToken());
    expect(response.status).toBe(403);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: 'OPERATION_NOT_IN_SAFELIST',
      partnerId: 'ACME',
      operationId: sha256(AD_HOC),
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        partnerId: 'ACME',
        operationId: sha256(AD_HOC),
        operationName: 'AdHoc',
        reason: 'OPERATION_NOT_IN_SAFELIST',
      }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', status: 403, outcome: 'error:OPERATION_NOT_IN_SAFELIST' }));
  });

  it('refuses a signed instruction in an ad-hoc document, with or without a token, and writes nothing', async () => {
    const signed = await acme.client.sign('issue', { member: 'pat', amount: '7' });
    const adHoc = 'mutation Mine($i: String!) { issuePoints(instruction: $i) { __typename } }';
    for (const token of [undefined, await beta.client.accessToken()]) {
      const response = await expectNothingWritten(hub, () => post({ query: adHoc, variables: { i: signed.jws } }, token));
      expect(refusedAsNotInSafelist(response)).toBe(true);
    }
    // Written inline, not as a variable: the same.
    const inline = await expectNothingWritten(hub, () =>
      post({ query: `mutation { issuePoints(instruction: "${signed.jws}") { __typename } }` }),
    );
    expect(refusedAsNotInSafelist(inline)).toBe(true);
    // Nothing of it was kept: the same instruction through the SDK's document is executed now, not replayed.
    expect(await acme.client.submitSigned('issue', signed.jws)).toMatchObject({ ok: true, data: { replayed: false } });
  });

  it("refuses a tampered SDK document (one field more), and a batch carrying the partner's instruction in another partner's request", async () => {
    const signed = await acme.client.sign('issue', { member: 'pat', amount: '3' });
    const tampered = MUTATIONS.issue.replace('__typename', '__typename\n    again: __typename');
    const response = await expectNothingWritten(hub, () => post({ query: tampered, variables: { instruction: signed.jws } }));
    expect(refusedAsNotInSafelist(response)).toBe(true);
    const betaSigned = await beta.client.sign('issue', { member: 'pat', amount: '3' });
    const mixed = await expectNothingWritten(hub, () =>
      post({
        query: 'mutation Mixed($l: [String!]!) { submitInstructions(instructions: $l) { __typename } }',
        variables: { l: [betaSigned.jws, signed.jws] },
      }),
    );
    expect(refusedAsNotInSafelist(mixed)).toBe(true);
  });

  it('refuses a document whose id does not match it (400), and answers an unknown id with PERSISTED_QUERY_NOT_FOUND', async () => {
    const token = await acme.client.accessToken();
    const sdkQuery = persistedOperationManifest().operations.find((operation) => operation.name === 'InstructionReceipt')!;
    const mismatch = await post(
      { query: AD_HOC, variables: { jti: 'x' }, extensions: { persistedQuery: { version: 1, sha256Hash: sdkQuery.id } } },
      token,
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(AD_HOC) } } }, token);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(unknown.errors?.[0]?.message).toMatch(/^no persisted operation has this id/);
    // The hub learns nothing from requests: sending text and id together does not make the id known.
    expect(
      refusedAsNotInSafelist(
        await post({ query: AD_HOC, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(AD_HOC) } } }, token),
      ),
    ).toBe(true);
    expect((await post({ query: AD_HOC }, await hub.operatorToken())).data).toBeDefined();
    await post({ query: AD_HOC, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(AD_HOC) } } }, await hub.operatorToken());
    expect(
      (await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(AD_HOC) } } }, token)).errors?.[0]?.extensions?.code,
    ).toBe('PERSISTED_QUERY_NOT_FOUND');
    const metrics = await (await fetch(`${hub.hub.url}/metrics`)).text();
    expect(metrics).toMatch(/coalition_operations_refused_total\{reason="OPERATION_NOT_IN_SAFELIST"\} [1-9]/);
    expect(metrics).toMatch(/coalition_operations_refused_total\{reason="PERSISTED_QUERY_NOT_FOUND"\} [1-9]/);
  });

  it('runs an operation the operator registered for it, as text and by id; registration checks the hash and the document', async () => {
    const body = 'query AcmeSelf { partner(id: "ACME") { id safelistOnly } }';
    const wrongId = await asOperator(REGISTER, { partnerId: 'ACME', body, id: sha256(`${body} `) });
    expect(wrongId).toMatchObject({ __typename: 'InvalidInput', message: expect.stringMatching(/not the SHA-256 of this document/) });
    const invalid = await asOperator(REGISTER, { partnerId: 'ACME', body: 'query Bad { noSuchField }' });
    expect(invalid).toMatchObject({ __typename: 'InvalidInput', message: expect.stringMatching(/noSuchField/) });
    expect(await asOperator(REGISTER, { partnerId: 'NOBODY', body })).toMatchObject({ __typename: 'NotFound' });

    const registered = await asOperator(REGISTER, { partnerId: 'ACME', body, id: sha256(body) });
    expect(registered).toEqual({
      __typename: 'PersistedOperation',
      id: sha256(body),
      partnerId: 'ACME',
      name: 'AcmeSelf',
      body,
      registeredBy: 'operator:test-operator',
    });
    expect(await asOperator(REGISTER, { partnerId: 'ACME', body })).toEqual(registered);
    const expected = { partner: { id: 'ACME', safelistOnly: true } };
    expect((await post({ query: body }, await acme.client.accessToken())).data).toEqual(expected);
    expect(await acmeById.graphql(body, {}, { token: await acme.client.accessToken() })).toEqual(expected);
    // Listed on the partner, a page at a time, by id.
    const second = 'query AcmeName { partner(id: "ACME") { name } }';
    expect(await asOperator(REGISTER, { partnerId: 'ACME', body: second })).toMatchObject({ __typename: 'PersistedOperation' });
    const LIST = `query($after: String) { partners(first: 10) { edges { node { id persistedOperations(first: 1, after: $after) {
      edges { node { id name registeredBy } } pageInfo { hasNextPage endCursor } } } } } }`;
    const page = async (after: string | null) =>
      (await hub.asStaff(LIST, { after }, 'operator')).partners.edges.find((edge: any) => edge.node.id === 'ACME').node.persistedOperations;
    const first = await page(null);
    const next = await page(first.pageInfo.endCursor);
    const listed = [...first.edges, ...next.edges].map((edge: any) => edge.node);
    expect(listed).toEqual(
      [
        { id: sha256(body), name: 'AcmeSelf', registeredBy: 'operator:test-operator' },
        { id: sha256(second), name: 'AcmeName', registeredBy: 'operator:test-operator' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect([first.pageInfo.hasNextPage, next.pageInfo.hasNextPage]).toEqual([true, false]);
    // Registered for ACME only: BETA's safelist (were it safelist-only) would not hold it; the database checks the hash too.
    await expect(
      hub.ownerQuery(
        `INSERT INTO partner_operation (partner_id, id, name, body, registered_by) VALUES ('BETA', $1, 'X', 'query X { __typename }', 'me')`,
        [sha256('something else')],
      ),
    ).rejects.toThrow(/check constraint/);
  });

  it('is safelist-only at another hub process on the same database too', async () => {
    const token = await acme.client.accessToken();
    expect(refusedAsNotInSafelist(await post({ query: AD_HOC }, token, other.url))).toBe(true);
    const atOther = new PartnerClient({ baseUrl: other.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key, persistedOperations: true });
    expect(await atOther.issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });
  });
});

describe('everyone else', () => {
  it('runs ad-hoc documents as before: other partners, their instructions, members of the safelist-only partner, and staff', async () => {
    expect((await post({ query: 'query { partner(id: "BETA") { id } }' }, await beta.client.accessToken())).data).toEqual({
      partner: { id: 'BETA' },
    });
    const signed = await beta.client.sign('issue', { member: 'pat', amount: '2' });
    const issued = await post({
      query: 'mutation($i: String!) { issuePoints(instruction: $i) { __typename } }',
      variables: { i: signed.jws },
    });
    expect(issued.data).toEqual({ issuePoints: { __typename: 'IssueReceipt' } });
    expect((await post({ query: 'query Me { me { balance } }' }, await hub.memberToken(acme, 'pat'))).data?.me.balance).toMatch(/^\d+$/);
    expect((await post({ query: AD_HOC }, await hub.operatorToken('finance'))).data).toEqual({ partner: { id: 'ACME', name: 'ACME Ltd' } });
  });
});

describe('turning safelist-only off', () => {
  it('restores ad-hoc documents at once in every hub process, and every change is recorded with who made it', async () => {
    expect(await asOperator(SET_SAFELIST_ONLY, { id: 'ACME', enabled: false })).toMatchObject({ safelistOnly: false });
    const token = await acme.client.accessToken();
    expect((await post({ query: AD_HOC }, token)).data).toEqual({ partner: { id: 'ACME', name: 'ACME Ltd' } });
    await until(async () => (await post({ query: AD_HOC }, token, other.url)).data !== undefined, 'the other process allows it');
    expect(await asOperator(SET_SAFELIST_ONLY, { id: 'NOBODY', enabled: true })).toMatchObject({ __typename: 'NotFound' });
    const changes = await hub.ownerQuery('SELECT partner_id, safelist_only, changed_by FROM partner_safelist_change ORDER BY id');
    expect(changes).toEqual([
      { partner_id: 'ACME', safelist_only: true, changed_by: 'operator:test-operator' },
      { partner_id: 'ACME', safelist_only: false, changed_by: 'operator:test-operator' },
    ]);
    // On again: refused again, here and there.
    await asOperator(SET_SAFELIST_ONLY, { id: 'ACME', enabled: true });
    expect(refusedAsNotInSafelist(await post({ query: AD_HOC }, token))).toBe(true);
    await until(async () => refusedAsNotInSafelist(await post({ query: AD_HOC }, token, other.url)), 'the other process refuses it');
  });
});
