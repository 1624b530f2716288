import { Client } from 'pg';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { eventsOfAction } from './support/events';

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  await hub.asStaff(`mutation { setPartnerUnit(partnerId: "ACME", code: "STARS") { __typename } }`, {}, 'operator');
  await hub.asStaff(`mutation { setExchangeRate(partnerId: "ACME", cpPerPoint: "0.5") { __typename } }`, {}, 'operator');
});

afterAll(() => hub.stop());

async function accepted<T extends { ok: boolean }>(outcome: Promise<T>): Promise<T & { ok: true }> {
  const result = await outcome;
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result as T & { ok: true };
}

describe('points.issued', () => {
  it('is written with the issue of CP, in the scope of the issuing partner, with the amount and balance as strings', async () => {
    await accepted(acme.client.enrollMember({ member: 'ivy' }));
    let issued: any;
    const events = await eventsOfAction(hub, async () => {
      issued = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '120', orderRef: 'order-7' }));
    });
    expect(events).toEqual([
      {
        seq: expect.any(Number),
        type: 'points.issued',
        partnerId: 'ACME',
        memberId: issued.data.memberId,
        data: { jti: issued.jti, entryId: issued.data.entryId, asset: 'CP', amount: '120', balance: '120', orderRef: 'order-7' },
      },
    ]);
  });

  it("is written with the issue of a partner's own unit, naming the unit", async () => {
    let issued: any;
    const events = await eventsOfAction(hub, async () => {
      issued = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '30', asset: 'ACME.STARS' }));
    });
    expect(events).toEqual([
      {
        seq: expect.any(Number),
        type: 'points.issued',
        partnerId: 'ACME',
        memberId: issued.data.memberId,
        data: { jti: issued.jti, entryId: issued.data.entryId, asset: 'ACME.STARS', amount: '30', balance: '30' },
      },
    ]);
  });

  it('is not written for a refused issue, nor again when the same instruction is replayed', async () => {
    const refused = await eventsOfAction(hub, () => bolt.client.issuePoints({ member: 'nobody-here', amount: '5' }));
    expect(refused).toEqual([]);
    const first = await eventsOfAction(hub, () => acme.client.issuePoints({ member: 'ivy', amount: '5' }, { jti: 'events-replay-1' }));
    expect(first.map((event) => event.type)).toEqual(['points.issued']);
    const replay = await eventsOfAction(hub, async () => {
      const again = await accepted(acme.client.issuePoints({ member: 'ivy', amount: '5' }, { jti: 'events-replay-1' }));
      expect(again.data.replayed).toBe(true);
    });
    expect(replay).toEqual([]);
  });
});

const FEED = `query($after: String, $first: Int!, $types: [EventType!]) { events(after: $after, first: $first, types: $types) {
  edges { cursor node { id type version occurredAt partnerId memberId data } } pageInfo { hasNextPage endCursor } } }`;

/** Every event the token may read, page by page from `after`, with the cursor each page ended at. */
async function readAll(token: string, options: { after?: string | null; first?: number; types?: string[]; asItStands?: boolean } = {}) {
  if (!options.asItStands) await hub.feedCaughtUp();
  const nodes: any[] = [];
  let after = options.after ?? null;
  for (;;) {
    const page = await hub.graphql(FEED, { after, first: options.first ?? 3, types: options.types ?? null }, token);
    if (page.errors) throw new Error(JSON.stringify(page.errors));
    nodes.push(...(page.data?.events.edges ?? []).map((edge: any) => edge.node));
    if (page.data?.events.pageInfo.endCursor) after = page.data.events.pageInfo.endCursor;
    if (!page.data?.events.pageInfo.hasNextPage) return { nodes, after };
  }
}

/** The ids of the partner's events as the database orders them (all of them when no partner is named). */
async function storedIds(partnerId?: string): Promise<string[]> {
  const rows = await hub.ownerQuery<{ id: string }>('SELECT id FROM event WHERE $1::text IS NULL OR partner_id = $1 ORDER BY tx_id, seq', [
    partnerId ?? null,
  ]);
  return rows.map((row) => row.id);
}

describe('the event feed', () => {
  beforeAll(async () => {
    await accepted(bolt.client.enrollMember({ member: 'bo' }));
    await accepted(bolt.client.issuePoints({ member: 'bo', amount: '7' }));
    await accepted(acme.client.redeemPoints({ member: 'ivy', amount: '3' }));
  });

  it('gives a partner its own events only, in commit order, page by page without gaps or repeats', async () => {
    const acmeFeed = await readAll(await acme.client.accessToken());
    expect(acmeFeed.nodes.map((node) => node.id)).toEqual(await storedIds('ACME'));
    expect(new Set(acmeFeed.nodes.map((node) => node.partnerId))).toEqual(new Set(['ACME']));
    const boltFeed = await readAll(await bolt.client.accessToken(), { first: 1 });
    expect(boltFeed.nodes.map((node) => node.id)).toEqual(await storedIds('BOLT'));
    expect(boltFeed.nodes.map((node) => node.type)).toEqual(['MEMBER_ENROLLED', 'POINTS_ISSUED']);
    expect(boltFeed.nodes[1]).toMatchObject({ version: 1, partnerId: 'BOLT', data: { amount: '7', balance: '7', asset: 'CP' } });
  });

  it('gives finance and operators every partner’s events', async () => {
    const all = await readAll(await hub.operatorToken('finance'), { first: 100 });
    expect(all.nodes.map((node) => node.id)).toEqual(await storedIds());
    expect(new Set(all.nodes.map((node) => node.partnerId))).toEqual(new Set(['ACME', 'BOLT']));
  });

  it('filters by type', async () => {
    const redeemed = await readAll(await acme.client.accessToken(), { types: ['POINTS_REDEEMED'] });
    expect(redeemed.nodes.map((node) => [node.type, node.data.amount])).toEqual([['POINTS_REDEEMED', '3']]);
  });

  it('replays from any cursor: the same cursor gives the same events, the last one only what came after', async () => {
    const token = await acme.client.accessToken();
    await hub.feedCaughtUp();
    const first = await hub.graphql(FEED, { first: 2 }, token);
    const cursor = first.data?.events.edges[1].cursor;
    const once = await readAll(token, { after: cursor });
    const twice = await readAll(token, { after: cursor });
    expect(twice.nodes).toEqual(once.nodes);
    expect(once.nodes.map((node) => node.id)).toEqual((await storedIds('ACME')).slice(2));
    const nothingNew = await readAll(token, { after: once.after });
    expect(nothingNew.nodes).toEqual([]);
    await accepted(acme.client.issuePoints({ member: 'ivy', amount: '2' }));
    const next = await readAll(token, { after: once.after });
    expect(next.nodes.map((node) => [node.type, node.data.amount])).toEqual([['POINTS_ISSUED', '2']]);
  });

  it('refuses members, anonymous callers, cursors from elsewhere and pages over the limit', async () => {
    const member = await hub.graphql(FEED, { first: 1 }, await hub.memberToken(acme, 'ivy'));
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await hub.graphql(FEED, { first: 1 });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const token = await acme.client.accessToken();
    const foreign = await hub.graphql(FEED, { first: 1, after: Buffer.from('v1:12').toString('base64url') }, token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await hub.graphql(FEED, { first: 101 }, token);
    expect(tooMany.errors?.[0]?.message).toBe('Argument Validation Error');
    expect(tooMany.data?.events ?? null).toBeNull();
  });

  it('the SDK pulls the feed with the envelope’s type names, and goes on from its cursor', async () => {
    await hub.feedCaughtUp();
    const page = await acme.client.events({ types: ['points.issued'], first: 2 });
    expect(page.events.map((event) => event.type)).toEqual(['points.issued', 'points.issued']);
    expect(page.events[0]).toMatchObject({ partnerId: 'ACME', data: { amount: '120' } });
    const rest = await acme.client.events({ after: page.endCursor, types: ['points.issued'], first: 100 });
    expect(rest.hasNextPage).toBe(false);
    const all = (await readAll(await acme.client.accessToken(), { types: ['POINTS_ISSUED'] })).nodes.map((node) => node.id);
    expect([...page.events, ...rest.events].map((event) => event.id)).toEqual(all);
  });

  it('does not show an event of a transaction still open, and does not skip it once that transaction commits', async () => {
    const token = await acme.client.accessToken();
    const { after: start } = await readAll(token);
    const slow = new Client({ connectionString: hub.databaseUrl });
    const quick = new Client({ connectionString: hub.databaseUrl });
    await slow.connect();
    await quick.connect();
    const write = (client: Client, amount: string) =>
      client.query(
        `INSERT INTO event (id, type, occurred_at, partner_id, data) VALUES (gen_random_uuid(), 'points.issued', now(), 'ACME', $1)`,
        [{ amount }],
      );
    try {
      await slow.query('BEGIN');
      await write(slow, '901');
      await write(quick, '902'); // commits at once, after the slow transaction started writing
      const during = await readAll(token, { after: start, asItStands: true });
      expect(during.nodes).toEqual([]);
      await slow.query('COMMIT');
      const after = await readAll(token, { after: during.after });
      expect(after.nodes.map((node) => node.data.amount)).toEqual(['901', '902']);
    } finally {
      await slow.end();
      await quick.end();
    }
  });
});
