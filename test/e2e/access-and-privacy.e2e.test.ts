import { randomUUID } from 'node:crypto';
import { generatePartnerKey, hashEmail, hubJwks, signAccessToken, signInstruction, verifyReceipt } from '@coalition-hub/partner-sdk';
import { SignJWT } from 'jose';
import { HUB_ID, OPERATOR_ISSUER, TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { errorCodes, graphqlWithAuthorization } from './support/http';
import { unsignedJws } from './support/instructions';

/**
 * Who may read what (docs/protocol.md, "Access tokens"): a partner never sees another partner's members, entries or
 * receipts; a member sees only itself; every bad bearer token is UNAUTHENTICATED with a reason.
 * And Relay pagination of a partner's own entries.
 */

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let cafe: TestPartner;
let samId: string;
let boltOnlyId: string;
let acmeJti: string;
let boltJti: string;

const MEMBER_BY_ID = 'query($id: ID!) { member(id: $id) { id balance } }';
const MEMBER_BY_REF = 'query($ref: String!) { memberByRef(ref: $ref) { id balance } }';
const RECEIPT = 'query($jti: String!) { instructionReceipt(jti: $jti) { jti op entryId receipt receivedAt } }';
const HISTORY = `query($id: ID!) { member(id: $id) { history(first: 100) { edges { node { partnerId jti type } } } } }`;

const partnerToken = (partner: TestPartner) => partner.client.accessToken();

function forbiddenOnly(response: GraphqlResponse): void {
  expect(errorCodes(response)).toEqual(['FORBIDDEN']);
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  cafe = await hub.registerPartner('CAFE', 'EdDSA');
  const email = hashEmail('sam@example.com');
  const atAcme = await acme.client.enrollMember({ member: 'acme-sam', emailHash: email });
  const atBolt = await bolt.client.enrollMember({ member: 'bolt-sam', emailHash: email });
  const boltOnly = await bolt.client.enrollMember({ member: 'bolt-only' });
  const fromAcme = await acme.client.issuePoints({ member: 'acme-sam', amount: '100' });
  const fromBolt = await bolt.client.issuePoints({ member: 'bolt-sam', amount: '200' });
  const toBoltOnly = await bolt.client.issuePoints({ member: 'bolt-only', amount: '50' });
  if (!atAcme.ok || !atBolt.ok || !boltOnly.ok || !fromAcme.ok || !fromBolt.ok || !toBoltOnly.ok) throw new Error('fixture set-up failed');
  expect(atBolt.data.memberId).toBe(atAcme.data.memberId);
  samId = atAcme.data.memberId;
  boltOnlyId = boltOnly.data.memberId;
  acmeJti = fromAcme.jti;
  boltJti = fromBolt.jti;
});

afterAll(() => hub.stop());

describe('a partner sees only its own members, entries and receipts', () => {
  it('gets FORBIDDEN for member(id:) of another partner member, of an id nobody has, and of a non-id alike', async () => {
    const token = await partnerToken(acme);
    const unknownId = randomUUID();
    const other = await hub.graphql(MEMBER_BY_ID, { id: boltOnlyId }, token);
    const missing = await hub.graphql(MEMBER_BY_ID, { id: unknownId }, token);
    const garbage = await hub.graphql(MEMBER_BY_ID, { id: 'not-an-id' }, token);
    for (const response of [other, missing, garbage]) {
      forbiddenOnly(response);
      expect(response.data?.member ?? null).toBeNull();
    }
    // Same answer whether or not the member exists: ids cannot be probed.
    expect(other.errors?.[0]?.message.replace(boltOnlyId, '<id>')).toBe(missing.errors?.[0]?.message.replace(unknownId, '<id>'));
    expect(other.status).toBe(missing.status);
  });

  it('reads its own member by id and sees the combined balance', async () => {
    const response = await hub.graphql(MEMBER_BY_ID, { id: samId }, await partnerToken(acme));
    expect(response.errors).toBeUndefined();
    expect(response.data?.member).toEqual({ id: samId, balance: '300' });
  });

  it('gets null for memberByRef with another partner reference, even for a member they share', async () => {
    const token = await partnerToken(acme);
    for (const ref of ['bolt-only', 'bolt-sam']) {
      const response = await hub.graphql(MEMBER_BY_REF, { ref }, token);
      expect(response.errors).toBeUndefined();
      expect(response.data?.memberByRef).toBeNull();
    }
    const own = await hub.graphql(MEMBER_BY_REF, { ref: 'acme-sam' }, token);
    expect(own.data?.memberByRef).toEqual({ id: samId, balance: '300' });
  });

  it('gets null for instructionReceipt of another partner jti, and its own receipt, which verifies against the hub JWKS', async () => {
    const token = await partnerToken(acme);
    const foreign = await hub.graphql(RECEIPT, { jti: boltJti }, token);
    expect(foreign.errors).toBeUndefined();
    expect(foreign.data?.instructionReceipt).toBeNull();

    const own = await hub.graphql(RECEIPT, { jti: acmeJti }, token);
    expect(own.data?.instructionReceipt).toMatchObject({ jti: acmeJti, op: 'issue', entryId: expect.any(String) });
    const jwks = hubJwks(hub.url);
    const claims = await verifyReceipt(own.data?.instructionReceipt.receipt, {
      hubId: HUB_ID,
      partnerId: 'ACME',
      jwks,
      expectedJti: acmeJti,
      expectedOp: 'issue',
    });
    expect(claims).toMatchObject({
      iss: HUB_ID,
      aud: 'ACME',
      jti: acmeJti,
      op: 'issue',
      memberId: samId,
      amount: '100',
      entryId: own.data?.instructionReceipt.entryId,
    });
    // The receipt is addressed to ACME: it proves nothing to anyone presenting it as BOLT's.
    await expect(verifyReceipt(own.data?.instructionReceipt.receipt, { hubId: HUB_ID, partnerId: 'BOLT', jwks })).rejects.toThrow();
  });

  it('gets its own receipt when another partner used the same jti', async () => {
    const jti = `shared-${randomUUID()}`;
    const atBolt = await bolt.client.issuePoints({ member: 'bolt-only', amount: '9' }, { jti });
    const atAcme = await acme.client.issuePoints({ member: 'acme-sam', amount: '1' }, { jti });
    if (!atBolt.ok || !atAcme.ok) throw new Error('set-up failed');
    const fetched = await hub.graphql(RECEIPT, { jti }, await partnerToken(acme));
    expect(fetched.data?.instructionReceipt).toMatchObject({ jti, entryId: atAcme.data.entryId, receipt: atAcme.data.receipt });
  });

  it('gets FORBIDDEN for partner(id:) of another partner and for the partner list, and reads itself', async () => {
    const token = await partnerToken(acme);
    forbiddenOnly(await hub.graphql('{ partner(id: "BOLT") { id name } }', {}, token));
    forbiddenOnly(await hub.graphql('{ partners { edges { node { id } } } }', {}, token));
    const own = await hub.graphql('{ partner(id: "ACME") { id status keys { kid } } }', {}, token);
    expect(own.data?.partner).toEqual({ id: 'ACME', status: 'active', keys: [{ kid: acme.key.kid }] });
  });

  it('lists only the members enrolled with it in members (a page at a time); staff list all; member tokens may not', async () => {
    const MEMBERS =
      'query($after: String) { members(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }';
    const listAll = async (token: string) => {
      const ids: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page += 1) {
        const response: GraphqlResponse = await hub.graphql(MEMBERS, { after }, token);
        expect(response.errors).toBeUndefined();
        ids.push(...(response.data?.members.edges ?? []).map((edge: any) => edge.node.id));
        if (!response.data?.members.pageInfo.hasNextPage) return ids;
        after = response.data.members.pageInfo.endCursor;
      }
      throw new Error('more pages than members');
    };
    const both = [samId, boltOnlyId].sort();
    expect(await listAll(await partnerToken(acme))).toEqual([samId]);
    expect(await listAll(await partnerToken(bolt))).toEqual(both);
    expect(await listAll(await partnerToken(cafe))).toEqual([]);
    const staff = await listAll(await hub.operatorToken('finance'));
    expect(staff).toEqual(expect.arrayContaining(both));
    expect(staff).toEqual([...new Set(staff)].sort()); // in id order, none twice
    forbiddenOnly(await hub.graphql(MEMBERS, {}, await acme.client.memberToken('acme-sam')));
  });

  it('sees only its own entries in the history of a member both partners share; staff see all', async () => {
    const atAcme = await hub.graphql(HISTORY, { id: samId }, await partnerToken(acme));
    const atBolt = await hub.graphql(HISTORY, { id: samId }, await partnerToken(bolt));
    const staff = await hub.graphql(HISTORY, { id: samId }, await hub.operatorToken('finance'));
    const partnersIn = (response: GraphqlResponse) => response.data?.member.history.edges.map((edge: any) => edge.node.partnerId);
    expect(new Set(partnersIn(atAcme))).toEqual(new Set(['ACME']));
    expect(new Set(partnersIn(atBolt))).toEqual(new Set(['BOLT']));
    expect(new Set(partnersIn(staff))).toEqual(new Set(['ACME', 'BOLT']));
    expect(atAcme.data?.member.history.edges.map((edge: any) => edge.node.jti)).toContain(acmeJti);
    expect(atAcme.data?.member.history.edges.map((edge: any) => edge.node.jti)).not.toContain(boltJti);
  });

  it('sees only the lots it issued for a member both partners share; the member and staff see all', async () => {
    const LOTS = 'query($id: ID!) { member(id: $id) { balance lots { edges { node { issuerPartnerId amount } } } } }';
    const issuersIn = (response: GraphqlResponse) => response.data?.member.lots.edges.map((edge: any) => edge.node.issuerPartnerId);
    const atAcme = await hub.graphql(LOTS, { id: samId }, await partnerToken(acme));
    expect(new Set(issuersIn(atAcme))).toEqual(new Set(['ACME']));
    expect(new Set(issuersIn(await hub.graphql(LOTS, { id: samId }, await partnerToken(bolt))))).toEqual(new Set(['BOLT']));
    expect(new Set(issuersIn(await hub.graphql(LOTS, { id: samId }, await hub.operatorToken('finance'))))).toEqual(
      new Set(['ACME', 'BOLT']),
    );
    const me = await hub.graphql('{ me { lots { edges { node { issuerPartnerId } } } } }', {}, await acme.client.memberToken('acme-sam'));
    expect(new Set(me.data?.me.lots.edges.map((edge: any) => edge.node.issuerPartnerId))).toEqual(new Set(['ACME', 'BOLT']));
  });

  it('lists only its own entries in partnerTransactions', async () => {
    const response = await hub.graphql(
      '{ partnerTransactions(first: 100) { edges { node { partnerId jti } } } }',
      {},
      await partnerToken(acme),
    );
    const nodes = response.data?.partnerTransactions.edges.map((edge: any) => edge.node);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((node: any) => node.partnerId === 'ACME')).toBe(true);
    expect(nodes.map((node: any) => node.jti)).not.toContain(boltJti);
  });
});

describe('member tokens', () => {
  it('show the member itself through me, with its combined balance and whole history', async () => {
    for (const token of [await acme.client.memberToken('acme-sam'), await bolt.client.memberToken('bolt-sam')]) {
      const response = await hub.graphql('{ me { id balance history(first: 100) { edges { node { partnerId } } } } }', {}, token);
      expect(response.errors).toBeUndefined();
      expect(response.data?.me).toMatchObject({ id: samId });
      expect(new Set(response.data?.me.history.edges.map((edge: any) => edge.node.partnerId))).toEqual(new Set(['ACME', 'BOLT']));
    }
  });

  it('give null through me for a reference the signing partner never enrolled, even one another partner did', async () => {
    for (const ref of ['nobody', 'bolt-only']) {
      const response = await hub.graphql('{ me { id } }', {}, await acme.client.memberToken(ref));
      expect(response.errors).toBeUndefined();
      expect(response.data?.me).toBeNull();
    }
  });

  it.each([
    ['partnerTransactions', '{ partnerTransactions { edges { cursor } } }'],
    ['ledgerIntegrity', '{ ledgerIntegrity { ok } }'],
    ['member(id:)', `{ member(id: "${'00000000-0000-4000-8000-000000000000'}") { id } }`],
    ['memberByRef', '{ memberByRef(ref: "bolt-sam") { id } }'],
    ['instructionReceipt', '{ instructionReceipt(jti: "x") { jti } }'],
    ['partners', '{ partners { edges { cursor } } }'],
    ['partner(id:)', '{ partner(id: "ACME") { id } }'],
  ])('cannot call %s (FORBIDDEN)', async (_field, query) => {
    const response = await hub.graphql(query, {}, await acme.client.memberToken('acme-sam'));
    forbiddenOnly(response);
  });

  it('cannot be replaced by a partner token for me, nor by no token (UNAUTHENTICATED)', async () => {
    forbiddenOnly(await hub.graphql('{ me { id } }', {}, await partnerToken(acme)));
    const anonymous = await hub.graphql('{ me { id } }');
    expect(anonymous.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'NO_TOKEN' });
  });
});

describe('bad bearer tokens are UNAUTHENTICATED with a reason', () => {
  const QUERY = '{ partner(id: "ACME") { id } }';
  const HOUR_MS = 3_600_000;

  const acmeToken = (overrides: Partial<Parameters<typeof signAccessToken>[0]> = {}) =>
    signAccessToken({ issuer: 'ACME', subject: 'ACME', scope: 'partner', audience: HUB_ID, key: acme.key, ...overrides });

  const cases: Array<[string, () => Promise<string>, string]> = [
    ['a header that is not "Bearer <token>"', async () => `Token ${await acmeToken()}`, 'MALFORMED_TOKEN'],
    ['"Bearer" without a token', async () => 'Bearer', 'MALFORMED_TOKEN'],
    ['a garbage token', async () => 'Bearer not-a-token', 'MALFORMED_TOKEN'],
    ['three garbage segments', async () => 'Bearer aaa.bbb.ccc', 'MALFORMED_TOKEN'],
    [
      'an expired token',
      async () => `Bearer ${await acmeToken({ now: new Date(Date.now() - HOUR_MS), lifetimeSeconds: 300 })}`,
      'TOKEN_EXPIRED',
    ],
    [
      'a token issued in the future',
      async () => `Bearer ${await acmeToken({ now: new Date(Date.now() + HOUR_MS) })}`,
      'TOKEN_NOT_YET_VALID',
    ],
    ['a token for another hub', async () => `Bearer ${await acmeToken({ audience: 'another-hub' })}`, 'WRONG_AUDIENCE'],
    [
      'a token signed by a key the partner never registered',
      async () => `Bearer ${await acmeToken({ key: await generatePartnerKey('EdDSA') })}`,
      'UNKNOWN_SIGNING_KEY',
    ],
    [
      'a token signed by another key under the partner kid',
      async () => `Bearer ${await acmeToken({ key: { ...(await generatePartnerKey('EdDSA')), kid: acme.key.kid } })}`,
      'INVALID_SIGNATURE',
    ],
    [
      'a token from an issuer that is not registered',
      async () =>
        `Bearer ${await signAccessToken({ issuer: 'NOBODY', subject: 'NOBODY', scope: 'partner', audience: HUB_ID, key: await generatePartnerKey('EdDSA') })}`,
      'UNKNOWN_PARTNER',
    ],
    [
      'a signed instruction (typ coalition-tx+jwt) used as a bearer token',
      async () =>
        `Bearer ${(await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'issue', fields: { member: 'acme-sam', amount: '1' } })).jws}`,
      'MALFORMED_TOKEN',
    ],
    [
      'an operator-issuer token signed by a partner key',
      async () =>
        `Bearer ${await signAccessToken({ issuer: OPERATOR_ISSUER, subject: 'mallory', scope: 'operator', audience: HUB_ID, key: acme.key })}`,
      'UNKNOWN_SIGNING_KEY',
    ],
    [
      'an operator-issuer token signed by a partner key under the operator kid',
      async () =>
        `Bearer ${await signAccessToken({ issuer: OPERATOR_ISSUER, subject: 'mallory', scope: 'operator', audience: HUB_ID, key: { ...acme.key, kid: 'operator-test' } })}`,
      'INVALID_SIGNATURE',
    ],
    ['a partner-signed token claiming the operator scope', async () => `Bearer ${await acmeToken({ scope: 'operator' })}`, 'WRONG_SCOPE'],
    [
      'a partner-scope token whose subject is not the partner',
      async () =>
        `Bearer ${await new SignJWT({ scope: 'partner' })
          .setProtectedHeader({ alg: 'EdDSA', kid: acme.key.kid, typ: 'coalition-access+jwt' })
          .setIssuer('ACME')
          .setSubject('BOLT')
          .setAudience(HUB_ID)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(acme.key.privateKey)}`,
      'WRONG_SCOPE',
    ],
    [
      'an unsigned token (alg none)',
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: 'ACME', sub: 'ACME', aud: HUB_ID, iat: now, exp: now + 300, scope: 'partner' };
        return `Bearer ${unsignedJws(claims, { alg: 'none', kid: acme.key.kid, typ: 'coalition-access+jwt' })}`;
      },
      'UNSIGNED_TOKEN',
    ],
  ];

  it('accepts the scheme in any case ("bearer"), as HTTP says it is case-insensitive', async () => {
    const response = await graphqlWithAuthorization(hub, QUERY, `bearer ${await acmeToken()}`);
    expect(response.errors).toBeUndefined();
    expect(response.data?.partner).toEqual({ id: 'ACME' });
  });

  it.each(cases)('refuses %s', async (_case, authorization, reason) => {
    const response = await graphqlWithAuthorization(hub, QUERY, await authorization());
    expect(response.status).toBe(401);
    expect(response.data ?? null).toBeNull();
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
  });
});

describe('operator and finance tokens', () => {
  it('let finance and operators run ledgerIntegrity, and see it balanced', async () => {
    for (const scope of ['finance', 'operator'] as const) {
      const response = await hub.graphql(
        '{ ledgerIntegrity { ok entriesChecked differences { check } } }',
        {},
        await hub.operatorToken(scope),
      );
      expect(response.errors).toBeUndefined();
      expect(response.data?.ledgerIntegrity).toMatchObject({ ok: true, differences: [] });
      expect(response.data?.ledgerIntegrity.entriesChecked).toBeGreaterThan(0);
    }
  });

  it('are refused partnerTransactions, which belongs to a partner (FORBIDDEN)', async () => {
    forbiddenOnly(await hub.graphql('{ partnerTransactions { edges { cursor } } }', {}, await hub.operatorToken('finance')));
  });
});

describe('partnerTransactions pagination', () => {
  const PAGE = `query($first: Int!, $after: String, $type: EntryType, $from: DateTimeISO, $to: DateTimeISO) {
    partnerTransactions(first: $first, after: $after, type: $type, from: $from, to: $to) {
      edges { cursor node { id jti type recordedAt } }
      pageInfo { hasNextPage endCursor }
    } }`;
  const issuedJtis: string[] = [];
  const redeemedJtis: string[] = [];
  let cut: Date;
  let token: string;

  const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

  async function page(variables: Record<string, unknown>) {
    const response = await hub.graphql(PAGE, variables, token);
    if (response.errors !== undefined) throw new Error(JSON.stringify(response.errors));
    return response.data?.partnerTransactions;
  }

  async function all(variables: Record<string, unknown>, first: number) {
    const pages: any[] = [];
    let after: string | null = null;
    do {
      const next = await page({ ...variables, first, after });
      pages.push(next);
      after = next.pageInfo.hasNextPage ? next.pageInfo.endCursor : null;
    } while (after !== null && pages.length < 20);
    return pages;
  }

  beforeAll(async () => {
    await cafe.client.enrollMember({ member: 'cafe-cat' });
    for (let index = 0; index < 25; index += 1) {
      const issued = await cafe.client.issuePoints({ member: 'cafe-cat', amount: String(index + 1), orderRef: `order-${index}` });
      if (!issued.ok) throw new Error(JSON.stringify(issued));
      issuedJtis.push(issued.jti);
    }
    await pause(20);
    cut = new Date();
    await pause(20);
    for (let index = 0; index < 2; index += 1) {
      const redeemed = await cafe.client.redeemPoints({ member: 'cafe-cat', amount: '5' });
      if (!redeemed.ok) throw new Error(JSON.stringify(redeemed));
      redeemedJtis.push(redeemed.jti);
    }
    token = await partnerToken(cafe);
  });

  it('pages 25 issues ten at a time: three pages, newest first, no duplicates, none missed', async () => {
    const pages = await all({ type: 'issue' }, 10);
    expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 5]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    for (const p of pages) expect(p.pageInfo.endCursor).toBe(p.edges[p.edges.length - 1].cursor);
    const jtis = pages.flatMap((p) => p.edges.map((edge: any) => edge.node.jti));
    expect(new Set(jtis).size).toBe(25);
    expect(jtis).toEqual([...issuedJtis].reverse());
    const cursors = pages.flatMap((p) => p.edges.map((edge: any) => edge.cursor));
    expect(new Set(cursors).size).toBe(25);
  });

  it.each(['garbage', Buffer.from('v1:abc').toString('base64url'), Buffer.from('v2:12').toString('base64url')])(
    'refuses an after cursor that this list never gave out (%s) with BAD_USER_INPUT',
    async (after) => {
      const response = await hub.graphql(PAGE, { first: 10, after }, token);
      expect(response.data ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    },
  );

  it('ends with an empty page after the last cursor', async () => {
    const pages = await all({ type: 'issue' }, 10);
    const past = await page({ type: 'issue', first: 10, after: pages[2].pageInfo.endCursor });
    expect(past).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('lists every type without a filter and only redemptions with type: redeem', async () => {
    const everything = (await all({}, 10)).flatMap((p) => p.edges.map((edge: any) => edge.node));
    expect(everything).toHaveLength(27);
    expect(everything.slice(0, 2).map((node: any) => node.type)).toEqual(['redeem', 'redeem']);
    const redeems = await page({ first: 10, type: 'redeem' });
    expect(redeems.edges.map((edge: any) => edge.node.jti)).toEqual([...redeemedJtis].reverse());
    expect(redeems.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by recording time: from is inclusive-after, to is strictly before', async () => {
    const after = await page({ first: 100, from: cut.toISOString() });
    expect(after.edges.map((edge: any) => edge.node.jti)).toEqual([...redeemedJtis].reverse());
    const before = await page({ first: 100, to: cut.toISOString() });
    expect(before.edges.map((edge: any) => edge.node.jti)).toEqual([...issuedJtis].reverse());
    const window = await page({ first: 100, from: cut.toISOString(), to: cut.toISOString() });
    expect(window.edges).toEqual([]);
  });

  it.each([101, 0, -1])('refuses first: %i with BAD_USER_INPUT and no data', async (first) => {
    const response = await hub.graphql(PAGE, { first }, token);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.data?.partnerTransactions ?? null).toBeNull();
  });
});
