import { generatePartnerKey, hashEmail, signAccessToken } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { queriesDuring } from './support/query-log';

/**
 * Explain a balance (docs/explain.md): `me { explain }` words every entry of the member, newest
 * first, with its lots; the lines add up to the balance; a page costs a fixed number of statements;
 * only the member itself reads it.
 */
let hub: TestHub;
let coffee: TestPartner;
let bakery: TestPartner;
let airline: TestPartner;
let shop: TestPartner;
const DAY_MS = 86_400_000;
const MINUS = '\u2212';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "3 Nov 2026" in UTC, written out here rather than taken from the code under test. */
function day(date: Date | string): string {
  const d = new Date(date);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

const EXPLAIN = `query($first: Int, $after: String) { me { balance explain(first: $first, after: $after) {
  summary { balance pending expiringSoon expiringBy sentence }
  pageInfo { hasNextPage endCursor }
  edges { cursor node { entryId type sentence amount partnerId partnerName orderRef occurredAt expiresAt vestsAt reversesEntryId
    movements { asset amount }
    lots { role issuerPartnerId issuerName amount remaining issuedAt expiresAt vestsAt }
    contributions { name reason } } } } } }`;

/** Registers a partner with a display name of our choosing (TestHub's helper names them "<ID> Ltd"). */
async function partner(id: string, name: string, contract: string): Promise<TestPartner> {
  const key = await generatePartnerKey('EdDSA');
  const registered = await hub.graphql(
    `mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }`,
    { input: { id, name, publicJwks: [key.publicJwk], canLinkMembers: true } },
    await hub.operatorToken(),
  );
  expect(registered.data?.registerPartner.__typename).toBe('Partner');
  const set = await hub.graphql(
    `mutation { setPartnerContract(partnerId: "${id}", input: ${contract}) { __typename } }`,
    {},
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  return { id, key, client: hub.clientFor(id, key) };
}

function ok<T extends { ok: boolean }>(outcome: T): T & { ok: true; data: any } {
  if (!outcome.ok) throw new Error(JSON.stringify(outcome));
  return outcome as T & { ok: true; data: any };
}

async function explain(as: TestPartner, ref: string, first = 50, after?: string) {
  const response = await hub.graphql(EXPLAIN, { first, after }, await hub.memberToken(as, ref));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.me;
}

const entries: Record<string, { entryId: string; recordedAt: string }> = {};

beforeAll(async () => {
  hub = await TestHub.start();
  coffee = await partner('COFFEE', 'Coffee Corp', '{ transfersAllowed: true }');
  bakery = await partner('BAKERY', 'Bakery & Co', '{ lotLifetimeMonths: 1 }');
  airline = await partner('AIRLINE', 'Airline X', '{ lotLifetimeMonths: 24 }');
  shop = await partner('SHOP', 'Shop', '{ pendingDays: 50, lotLifetimeMonths: 2 }');
  for (const p of [coffee, bakery, airline, shop])
    ok(await p.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') }));
  ok(await coffee.client.enrollMember({ member: 'amy', emailHash: hashEmail('amy@example.com') }));

  const keep = (name: string, outcome: { ok: boolean }) => {
    const { data } = ok(outcome);
    entries[name] = { entryId: data.entryId, recordedAt: data.recordedAt };
  };
  keep('coffee', await coffee.client.issuePoints({ member: 'ann', amount: '120', orderRef: 'A-17' }));
  keep('bakery', await bakery.client.issuePoints({ member: 'ann', amount: '40', orderRef: 'B-1' }));
  // First-expiring-first-out across two issuers: Bakery's month-long lot, then Coffee's.
  keep('redeem', await airline.client.redeemPoints({ member: 'ann', amount: '50', orderRef: 'R-9' }));
  keep('bakery2', await bakery.client.issuePoints({ member: 'ann', amount: '15' }));
  keep('coffee2', await coffee.client.issuePoints({ member: 'ann', amount: '30', orderRef: 'A-18' }));
  keep('reverseIssue', await coffee.client.reversePoints({ entry: entries.coffee2!.entryId, amount: '20' }));
  keep('refund', await airline.client.reversePoints({ entry: entries.redeem!.entryId, amount: '5' }));
  keep('amy', await coffee.client.issuePoints({ member: 'amy', amount: '30' }));
  keep('transferIn', await coffee.client.transferPoints({ member: 'amy', to: 'ann', amount: '30' }));
  keep('transferOut', await coffee.client.transferPoints({ member: 'ann', to: 'amy', amount: '10' }));
  keep('pending', await shop.client.issuePoints({ member: 'ann', amount: '25', orderRef: 'S-1' }));
  // 40 days on: Bakery's second lot (a month) expires; Shop's points are still pending (50 days) and expire within 30 days.
  hub.clock.advance(40 * DAY_MS);
  const run = await hub.graphql('mutation { runExpiry { pointsExpired } }', {}, await hub.operatorToken());
  expect(run.data?.runExpiry).toEqual({ pointsExpired: '15' });
});

afterAll(() => hub.stop());

describe('explain a balance', () => {
  it('words every entry, newest first, and the lines add up to the balance', async () => {
    const me = await explain(coffee, 'ann');
    const nodes = me.explain.edges.map((edge: any) => edge.node);
    const at = (name: string) => day(entries[name]!.recordedAt);
    // Expiry dates are the lots' own (their arithmetic is tested with the ledger); the wording of them is what is checked here.
    const expiry = (name: string) => day(nodes.find((node: any) => node.entryId === entries[name]!.entryId).lots[0].expiresAt);
    const vests = day(new Date(Date.parse(entries.pending!.recordedAt) + 50 * DAY_MS));
    expect(nodes.map((node: any) => node.sentence)).toEqual([
      `${MINUS}15 CP expired on ${day(hub.clock.now())} (issued by Bakery & Co on ${at('bakery2')})`,
      `+25 CP from Shop on ${at('pending')}, vests on ${vests}, expires ${expiry('pending')}`,
      `${MINUS}10 CP transferred to another member on ${at('transferOut')} (through Coffee Corp), from points issued by Coffee Corp on ${at('coffee')}`,
      `+30 CP transferred from another member on ${at('transferIn')} (through Coffee Corp), points issued by Coffee Corp on ${at('amy')}, expires ${expiry('transferIn')}`,
      `+5 CP on ${at('refund')}: Airline X refunded its redemption of ${at('redeem')}, back to points issued by Coffee Corp on ${at('coffee')}`,
      `${MINUS}20 CP on ${at('reverseIssue')}: Coffee Corp reversed its issue of ${at('coffee2')} (order A-18)`,
      `+30 CP from Coffee Corp on ${at('coffee2')} (order A-18), expires ${expiry('coffee2')}; 10 CP left`,
      `+15 CP from Bakery & Co on ${at('bakery2')}; none left`,
      `${MINUS}50 CP redeemed at Airline X on ${at('redeem')}, from 40 CP issued by Bakery & Co on ${at('bakery')} and 10 CP issued by Coffee Corp on ${at('coffee')}`,
      `+40 CP from Bakery & Co on ${at('bakery')}; none left`,
      `+120 CP from Coffee Corp on ${at('coffee')} (order A-17), expires ${expiry('coffee')}; 105 CP left`,
    ]);
    // The lines' effects add up to the balance, which the summary repeats.
    const sum = nodes.reduce((total: bigint, node: any) => total + BigInt(node.amount), 0n);
    expect(sum.toString()).toBe(me.balance);
    expect(me.balance).toBe('170');
    const { expiringBy, ...summary } = me.explain.summary;
    expect(summary).toEqual({
      balance: '170',
      pending: '25',
      expiringSoon: '25',
      sentence: `Balance 170 CP; 25 CP pending; 25 CP expire by ${day(expiringBy)}.`,
    });
    expect(Math.abs(Date.parse(expiringBy) - (hub.clock.now().getTime() + 30 * DAY_MS))).toBeLessThan(60_000);
    expect(me.explain.pageInfo.hasNextPage).toBe(false);
  });

  it('gives the structured fields beside each sentence: lots, amounts, references of the token’s partner only', async () => {
    const me = await explain(coffee, 'ann');
    const byId = new Map(me.explain.edges.map((edge: any) => [edge.node.entryId, edge.node]));
    const redeem: any = byId.get(entries.redeem!.entryId);
    expect(redeem).toMatchObject({
      type: 'redeem',
      amount: '-50',
      partnerId: 'AIRLINE',
      partnerName: 'Airline X',
      // R-9 is Airline X's reference: a token signed by Coffee Corp does not see it.
      orderRef: null,
      movements: [{ asset: 'CP', amount: '-50' }],
      expiresAt: null,
    });
    expect(redeem.lots.map((lot: any) => [lot.role, lot.issuerPartnerId, lot.amount])).toEqual([
      ['taken', 'BAKERY', '40'],
      ['taken', 'COFFEE', '10'],
    ]);
    const issued: any = byId.get(entries.coffee!.entryId);
    expect(issued).toMatchObject({ type: 'issue', amount: '120', orderRef: 'A-17', partnerName: 'Coffee Corp' });
    expect(issued.lots).toEqual([
      expect.objectContaining({ role: 'credited', issuerPartnerId: 'COFFEE', amount: '120', remaining: '105' }),
    ]);
    expect(issued.expiresAt).toBe(issued.lots[0].expiresAt);
    const pending: any = byId.get(entries.pending!.entryId);
    expect(pending.vestsAt).toBe(pending.lots[0].vestsAt);
    const reversal: any = byId.get(entries.reverseIssue!.entryId);
    expect(reversal).toMatchObject({ type: 'reversal', amount: '-20', reversesEntryId: entries.coffee2!.entryId });
    expect(reversal.lots).toEqual([expect.objectContaining({ role: 'taken', issuerPartnerId: 'COFFEE', amount: '20' })]);
    const refund: any = byId.get(entries.refund!.entryId);
    expect(refund.lots).toEqual([expect.objectContaining({ role: 'returned', issuerPartnerId: 'COFFEE', amount: '5' })]);

    // Through Airline X's token, its own reference shows and Coffee Corp's do not.
    const viaAirline = await explain(airline, 'ann');
    const seen = new Map(viaAirline.explain.edges.map((edge: any) => [edge.node.entryId, edge.node]));
    expect((seen.get(entries.redeem!.entryId) as any).orderRef).toBe('R-9');
    expect((seen.get(entries.coffee!.entryId) as any).sentence).not.toContain('A-17');
  });

  it('pages newest first with Relay cursors, the pages together giving every line once', async () => {
    const all = (await explain(coffee, 'ann')).explain.edges.map((edge: any) => edge.node.entryId);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await explain(coffee, 'ann', 4, after)).explain;
      seen.push(...page.edges.map((edge: any) => edge.node.entryId));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
    const bad = await hub.graphql(EXPLAIN, { first: 2, after: 'bm90LWEtY3Vyc29y' }, await hub.memberToken(coffee, 'ann'));
    expect(bad.errors?.[0]?.message).toMatch(/cursor/i);
  });

  it('explains the other side of a transfer to its member', async () => {
    const amy = await explain(coffee, 'amy');
    const sentences = amy.explain.edges.map((edge: any) => edge.node.sentence);
    const t = day(entries.amy!.recordedAt);
    expect(sentences[0]).toBe(
      `+10 CP transferred from another member on ${t} (through Coffee Corp), points issued by Coffee Corp on ${t}, expires ${day(amy.explain.edges[0].node.expiresAt)}`,
    );
    expect(sentences[1]).toBe(
      `${MINUS}30 CP transferred to another member on ${t} (through Coffee Corp), from points issued by Coffee Corp on ${t}`,
    );
    const sum = amy.explain.edges.reduce((total: bigint, edge: any) => total + BigInt(edge.node.amount), 0n);
    expect(sum.toString()).toBe(amy.balance);
  });

  it('costs a fixed number of statements per page, whatever its size', async () => {
    const token = await hub.memberToken(coffee, 'ann');
    await hub.hub.services.instructions.flushReceipts();
    await hub.graphql(EXPLAIN, { first: 2 }, token); // the partner's key is cached from here on
    const counts: number[] = [];
    for (const first of [2, 11, 50]) {
      const { result, queries } = await queriesDuring(hub, () => hub.graphql(EXPLAIN, { first }, token));
      expect(result.errors).toBeUndefined();
      counts.push(queries.length);
    }
    // The member with its balance, the summary, the page of entries, and their postings, lots and lot consumption.
    expect(counts).toEqual([4, 4, 4]);
  });

  it('is read by the member only: a partner (even one the member is enrolled with) and staff are refused', async () => {
    const token = await partnerToken(coffee);
    const byPartner = await hub.graphql('{ memberByRef(ref: "ann") { explain { summary { balance } } } }', {}, token);
    expect(byPartner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(byPartner.data?.memberByRef ?? null).toBeNull();
    const id = (await hub.graphql('{ memberByRef(ref: "ann") { id } }', {}, token)).data!.memberByRef.id;
    const byStaff = await hub.graphql(
      'query($id: ID!) { member(id: $id) { explain { summary { balance } } } }',
      { id },
      await hub.operatorToken(),
    );
    expect(byStaff.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

/** A partner token on the hub's clock (which the fixture moved 40 days on). */
function partnerToken(as: TestPartner): Promise<string> {
  return signAccessToken({ issuer: as.id, subject: as.id, scope: 'partner', audience: HUB_ID, key: as.key, now: hub.clock.now() });
}
