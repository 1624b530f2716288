import { generatePartnerKey, PartnerClient, type PartnerKey } from '@coalition-hub/partner-sdk';
import type { Hub } from '../../src/app';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Partners' keys are kept in memory by every hub process (docs/architecture.md, "Partner keys"), yet a
 * revocation or a suspension made through one process counts at every other process on the same database
 * from the very next request after its notification arrives (the tests wait for that arrival, not for a
 * time), and a process that cannot hear about changes reads keys from the database.
 */

let hub: TestHub;
let other: Hub;
let acme: TestPartner;

const REVOKE_KEY = `mutation($id: ID!, $kid: String!) { result: revokePartnerKey(partnerId: $id, kid: $kid) { __typename } }`;
const ADD_KEY = `mutation($id: ID!, $jwk: JSONObject!) { result: addPartnerKey(partnerId: $id, publicJwk: $jwk) { __typename } }`;
const SUSPEND = `mutation($id: ID!) { result: suspendPartner(partnerId: $id) { __typename } }`;
const RESUME = `mutation($id: ID!) { result: resumePartner(partnerId: $id) { __typename } }`;
const ME = '{ me { balance } }';

async function graphqlAt(url: string, query: string, token: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, any>; errors?: Array<{ extensions?: Record<string, unknown> }> };
}

async function asOperator(query: string, variables: Record<string, unknown>): Promise<string> {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors !== undefined) throw new Error(JSON.stringify(response.errors));
  return response.data?.result.__typename;
}

const atOther = (key: PartnerKey) => new PartnerClient({ baseUrl: other.url, hubId: HUB_ID, partnerId: 'ACME', key });

/** Runs `change` at the first hub and waits until the other process has heard of it (its NOTIFY arrived). */
async function announced(change: () => Promise<string>): Promise<string> {
  const before = other.services.partners.signerChanges;
  const result = await change();
  await until(() => other.services.partners.signerChanges > before, 'the other process hears of the change');
  return result;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

beforeAll(async () => {
  hub = await TestHub.start();
  other = await hub.startAnother();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  const enrolled = await acme.client.enrollMember({ member: 'pat' });
  const issued = await acme.client.issuePoints({ member: 'pat', amount: '100' });
  if (!enrolled.ok || !issued.ok) throw new Error('fixture set-up failed');
});

afterAll(async () => {
  await other?.close();
  await hub.stop();
});

it('refuses a key revoked through one hub process at the very next token and instruction on another', async () => {
  const second = await generatePartnerKey('EdDSA', 'acme-second');
  expect(await asOperator(ADD_KEY, { id: 'ACME', jwk: second.publicJwk })).toBe('Partner');
  // The other process has the partner in memory: a token and an instruction were verified there.
  const token = await hub.memberToken({ ...acme, key: second }, 'pat');
  expect((await graphqlAt(other.url, ME, token)).data?.me).toEqual({ balance: '100' });
  expect(await atOther(second).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });

  expect(await announced(() => asOperator(REVOKE_KEY, { id: 'ACME', kid: 'acme-second' }))).toBe('Partner');

  const refused = await graphqlAt(other.url, ME, token);
  expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SIGNING_KEY_REVOKED' });
  expect(await atOther(second).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({
    ok: false,
    errorCode: 'SIGNING_KEY_REVOKED',
  });
  // The partner's other key is untouched.
  expect(await atOther(acme.key).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });
});

it('refuses a partner suspended through one hub process at the very next instruction on another, and takes it back on resume', async () => {
  expect(await atOther(acme.key).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });
  expect(await announced(() => asOperator(SUSPEND, { id: 'ACME' }))).toBe('Partner');
  expect(await atOther(acme.key).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: false, errorCode: 'PARTNER_SUSPENDED' });
  const token = await hub.memberToken(acme, 'pat');
  expect((await graphqlAt(other.url, ME, token)).errors?.[0]?.extensions).toMatchObject({ reason: 'PARTNER_SUSPENDED' });
  expect(await announced(() => asOperator(RESUME, { id: 'ACME' }))).toBe('Partner');
  expect(await atOther(acme.key).issuePoints({ member: 'pat', amount: '1' })).toMatchObject({ ok: true });
});

it('reads keys from the database while it cannot hear about changes, and keeps memory again once it listens', async () => {
  const third = await generatePartnerKey('EdDSA', 'acme-third');
  expect(await asOperator(ADD_KEY, { id: 'ACME', jwk: third.publicJwk })).toBe('Partner');
  const token = await hub.memberToken({ ...acme, key: third }, 'pat');
  expect((await graphqlAt(other.url, ME, token)).data?.me).toBeDefined();
  expect(other.services.partners.signersTrusted).toBe(true);

  // Every listening connection is cut (as a network failure or a database restart would)...
  await hub.ownerQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hub-signer-cache'`);
  await until(() => !other.services.partners.signersTrusted, 'the other process notices the lost connection');
  // ...and a change is made that nobody announces (straight in the database): it counts all the same.
  await hub.ownerQuery(`UPDATE partner_key SET status = 'revoked', revoked_at = now() WHERE partner_id = 'ACME' AND kid = 'acme-third'`);
  expect((await graphqlAt(other.url, ME, token)).errors?.[0]?.extensions).toMatchObject({ reason: 'SIGNING_KEY_REVOKED' });

  // Listening again, it starts from nothing: what changed meanwhile is read, and changes are heard again.
  await until(() => other.services.partners.signersTrusted && hub.hub.services.partners.signersTrusted, 'both processes listen again');
  expect((await graphqlAt(other.url, ME, token)).errors?.[0]?.extensions).toMatchObject({ reason: 'SIGNING_KEY_REVOKED' });
  const active = await hub.memberToken(acme, 'pat');
  expect((await graphqlAt(other.url, ME, active)).data?.me).toBeDefined();
  expect(await announced(() => asOperator(SUSPEND, { id: 'ACME' }))).toBe('Partner');
  expect((await graphqlAt(other.url, ME, active)).errors?.[0]?.extensions).toMatchObject({ reason: 'PARTNER_SUSPENDED' });
  expect(await announced(() => asOperator(RESUME, { id: 'ACME' }))).toBe('Partner');
});
