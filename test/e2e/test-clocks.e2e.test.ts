import { hashEmail } from '@coalition-hub/partner-sdk';
import { loadConfig } from '../../src/config/config';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Sandbox test clocks (docs/sandbox.md): members attached to a clock live on its time; advancing it runs
 * hold expiry, vesting and lot expiry for them in order of due time; members on real time (and the
 * real-time jobs) never see it.
 */
let hub: TestHub;
let shop: TestPartner; // a 14-day return window, lots for 1 month
let cafe: TestPartner; // spendable at once, lots for 24 months
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const CLOCK_FIELDS = 'id name frozenTime createdAt memberCount';
const ADVANCE = `mutation($id: ID!, $to: DateTimeISO!) { advanceTestClock(id: $id, frozenTime: $to) {
  __typename ... on TestClockAdvanced { testClock { frozenTime } dueTimesRun holdsExpired lotsVested lotsExpired pointsExpired }
  ... on ErrorResult { errorCode message } } }`;
const MEMBER = `query($id: ID!) { member(id: $id) {
  balance pending available tier { name } testClock { id frozenTime }
  lots(includeSpent: true) { edges { node { issuerPartnerId amount remaining expiresAt vestsAt } } } } }`;

const staff = async (query: string, variables: Record<string, unknown> = {}) =>
  (await hub.graphql(query, variables, await hub.operatorToken())).data!;

async function createClock(name: string, frozenTime: Date): Promise<{ id: string; frozenTime: string }> {
  const made = await staff(
    `mutation($input: CreateTestClockInput!) { createTestClock(input: $input) { __typename ... on TestClock { ${CLOCK_FIELDS} } ... on ErrorResult { errorCode message } } }`,
    { input: { name, frozenTime: frozenTime.toISOString() } },
  );
  expect(made.createTestClock.__typename).toBe('TestClock');
  return made.createTestClock;
}

const advance = async (id: string, to: Date) => (await staff(ADVANCE, { id, to: to.toISOString() })).advanceTestClock;
const attach = async (memberId: string, testClockId: string) =>
  (
    await staff(
      `mutation($m: ID!, $c: ID!) { attachMemberToTestClock(memberId: $m, testClockId: $c) { __typename ... on TestClock { id } ... on ErrorResult { errorCode message } } }`,
      { m: memberId, c: testClockId },
    )
  ).attachMemberToTestClock;
const member = async (id: string) => (await staff(MEMBER, { id })).member;
const hold = async (partner: TestPartner, id: string) =>
  (await hub.graphql('query($id: ID!) { hold(id: $id) { status expiresAt closedAt } }', { id }, await partner.client.accessToken())).data!
    .hold;

async function enroll(ref: string): Promise<string> {
  let memberId = '';
  for (const partner of [shop, cafe]) {
    const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
    memberId = enrolled.data.memberId;
  }
  return memberId;
}

async function memberEvents(memberId: string, types: string[]): Promise<Array<{ type: string; occurredAt: string; data: any }>> {
  await hub.feedCaughtUp();
  const page = await staff(
    'query($types: [EventType!]) { events(types: $types, first: 100) { edges { node { type memberId occurredAt data } } } }',
    {
      types,
    },
  );
  return page.events.edges.map((edge: any) => edge.node).filter((event: any) => event.memberId === memberId);
}

beforeAll(async () => {
  hub = await TestHub.start({ env: { SANDBOX: 'true', TIER_WINDOW_DAYS: '30' } });
  shop = await hub.registerPartner('SHOP', 'EdDSA', { canLinkMembers: true });
  cafe = await hub.registerPartner('CAFE', 'EdDSA', { canLinkMembers: true });
  const set = await staff(
    'mutation { setPartnerContract(partnerId: "SHOP", input: { pendingDays: 14, lotLifetimeMonths: 1 }) { __typename } }',
  );
  expect(set.setPartnerContract.__typename).toBe('PartnerContract');
});

afterAll(() => hub.stop());

describe('configuration', () => {
  it('refuses a sandbox in production mode', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', SANDBOX: 'true' })).toThrow(/SANDBOX=true is refused when NODE_ENV=production/);
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ production: true, sandbox: false });
    expect(loadConfig({ SANDBOX: 'true' })).toMatchObject({ production: false, sandbox: true });
  });
});

describe('a member on a test clock', () => {
  let clock: { id: string; frozenTime: string };
  let start: Date;
  let tina: string; // on the clock
  let rita: string; // on real time
  let tinaHold: string;
  let ritaHold: string;

  it('lives on the clock from its first entry: entries, lots and holds carry the clock’s time', async () => {
    start = new Date(hub.clock.now().getTime() + 10 * DAY_MS);
    clock = await createClock('integration run', start);
    tina = await enroll('tina');
    rita = await enroll('rita');
    expect(await attach(tina, clock.id)).toEqual({ __typename: 'TestClock', id: clock.id });

    const issued = await shop.client.issuePoints({ member: 'tina', amount: '1200' });
    if (!issued.ok) throw new Error(JSON.stringify(issued));
    expect(issued.data.recordedAt).toBe(start.toISOString());
    expect(await shop.client.issuePoints({ member: 'rita', amount: '1200' })).toMatchObject({ ok: true });
    for (const ref of ['tina', 'rita']) expect(await cafe.client.issuePoints({ member: ref, amount: '100' })).toMatchObject({ ok: true });

    const held = await cafe.client.authorizeRedemption({ member: 'tina', amount: '40', holdSeconds: 3600 });
    const heldReal = await cafe.client.authorizeRedemption({ member: 'rita', amount: '40', holdSeconds: 3600 });
    if (!held.ok || !heldReal.ok) throw new Error(JSON.stringify([held, heldReal]));
    tinaHold = held.data.holdId;
    ritaHold = heldReal.data.holdId;
    expect((await hold(cafe, tinaHold)).expiresAt).toBe(new Date(start.getTime() + HOUR_MS).toISOString());

    const seen = await member(tina);
    expect(seen).toMatchObject({ balance: '1300', pending: '1200', available: '60', tier: { name: 'Silver' } });
    expect(seen.testClock).toEqual({ id: clock.id, frozenTime: start.toISOString() });
    const shopLot = seen.lots.edges.map((edge: any) => edge.node).find((lot: any) => lot.issuerPartnerId === 'SHOP');
    expect(shopLot.vestsAt).toBe(new Date(start.getTime() + 14 * DAY_MS).toISOString());
    // Issued at the clock's time: one month of lot lifetime from there.
    expect(Date.parse(shopLot.expiresAt) - start.getTime()).toBeGreaterThanOrEqual(28 * DAY_MS);
    expect(Date.parse(shopLot.expiresAt) - start.getTime()).toBeLessThanOrEqual(31 * DAY_MS);
    expect((await member(rita)).testClock).toBeNull();
  });

  it('expires a hold once the clock passes its expiry, and leaves real-time holds alone', async () => {
    const advanced = await advance(clock.id, new Date(start.getTime() + 2 * HOUR_MS));
    expect(advanced).toMatchObject({ __typename: 'TestClockAdvanced', dueTimesRun: 1, holdsExpired: 1, lotsVested: 0, lotsExpired: 0 });
    expect(await hold(cafe, tinaHold)).toMatchObject({ status: 'expired', closedAt: new Date(start.getTime() + HOUR_MS).toISOString() });
    expect(await memberEvents(tina, ['HOLD_EXPIRED'])).toEqual([
      expect.objectContaining({ occurredAt: new Date(start.getTime() + HOUR_MS).toISOString() }),
    ]);
    expect((await member(tina)).available).toBe('100');
    expect(await hold(cafe, ritaHold)).toMatchObject({ status: 'pending' });
  });

  it('vests pending points once the clock passes the return window', async () => {
    const vestsAt = new Date(start.getTime() + 14 * DAY_MS);
    expect(await advance(clock.id, new Date(start.getTime() + 15 * DAY_MS))).toMatchObject({
      dueTimesRun: 1,
      lotsVested: 1,
      lotsExpired: 0,
    });
    expect(await member(tina)).toMatchObject({ pending: '0', available: '1300', tier: { name: 'Silver' } });
    expect(await memberEvents(tina, ['POINTS_VESTED'])).toEqual([
      expect.objectContaining({
        occurredAt: vestsAt.toISOString(),
        data: expect.objectContaining({ amount: '1200', vestedAt: vestsAt.toISOString() }),
      }),
    ]);
    expect(await member(rita)).toMatchObject({ pending: '1200', available: '60' });
  });

  it('expires lots at their own time and lets the tier window pass', async () => {
    const shopLot = (await member(tina)).lots.edges.map((edge: any) => edge.node).find((lot: any) => lot.issuerPartnerId === 'SHOP');
    const advanced = await advance(clock.id, new Date(start.getTime() + 40 * DAY_MS));
    expect(advanced).toMatchObject({
      dueTimesRun: 1,
      lotsExpired: 1,
      pointsExpired: '1200',
      testClock: { frozenTime: new Date(start.getTime() + 40 * DAY_MS).toISOString() },
    });
    // Expired at the lot's expiry, not at the time the clock was moved to.
    expect(await memberEvents(tina, ['POINTS_EXPIRED'])).toEqual([expect.objectContaining({ occurredAt: shopLot.expiresAt })]);
    expect(await member(tina)).toMatchObject({ balance: '100', available: '100', tier: { name: 'Base' } });
    const history = await hub.graphql(
      '{ me { history(first: 10) { edges { node { type recordedAt } } } } }',
      {},
      await hub.memberToken(shop, 'tina'),
    );
    expect(history.data?.me.history.edges.map((edge: any) => edge.node)).toContainEqual({ type: 'expire', recordedAt: shopLot.expiresAt });
    expect(await member(rita)).toMatchObject({ balance: '1300', pending: '1200', tier: { name: 'Silver' } });
  });

  it('runs what fell due in order of due time when one advance passes several', async () => {
    const second = await createClock('several at once', hub.clock.now());
    const tom = await enroll('tom');
    expect(await attach(tom, second.id)).toMatchObject({ __typename: 'TestClock' });
    await shop.client.issuePoints({ member: 'tom', amount: '500' }); // vests at +14 days, expires at +1 month
    await cafe.client.issuePoints({ member: 'tom', amount: '10' });
    await cafe.client.authorizeRedemption({ member: 'tom', amount: '5', holdSeconds: 600 });
    const advanced = await advance(second.id, new Date(Date.parse(second.frozenTime) + 60 * DAY_MS));
    expect(advanced).toMatchObject({ dueTimesRun: 3, holdsExpired: 1, lotsVested: 1, lotsExpired: 1, pointsExpired: '500' });
    const times = (await memberEvents(tom, ['HOLD_EXPIRED', 'POINTS_VESTED', 'POINTS_EXPIRED'])).map((event) => [
      event.type,
      event.occurredAt,
    ]);
    expect(times.map(([type]) => type)).toEqual(['HOLD_EXPIRED', 'POINTS_VESTED', 'POINTS_EXPIRED']);
    expect([...times.map(([, at]) => at!)].sort()).toEqual(times.map(([, at]) => at));
  });

  it('refuses what would put one member on two times', async () => {
    expect(await advance(clock.id, start)).toMatchObject({ __typename: 'InvalidInput' });
    expect(await attach(rita, clock.id)).toMatchObject({ __typename: 'InvalidInput' });
    const other = await createClock('other', hub.clock.now());
    expect(await attach(tina, other.id)).toMatchObject({ __typename: 'InvalidInput' });
    expect(await attach(tina, '00000000-0000-4000-8000-000000000000')).toMatchObject({ __typename: 'NotFound' });
    const past = await staff(`mutation($input: CreateTestClockInput!) { createTestClock(input: $input) { __typename } }`, {
      input: { name: 'yesterday', frozenTime: new Date(hub.clock.now().getTime() - DAY_MS).toISOString() },
    });
    expect(past.createTestClock.__typename).toBe('InvalidInput');
    const remove = async (id: string) =>
      (await staff('mutation($id: ID!) { deleteTestClock(id: $id) { __typename } }', { id })).deleteTestClock;
    expect(await remove(clock.id)).toEqual({ __typename: 'InvalidInput' });
    expect(await remove(other.id)).toEqual({ __typename: 'TestClockDeleted' });
  });

  it('lists test clocks a page at a time', async () => {
    const LIST = `query($after: String) { testClocks(first: 1, after: $after) { __typename ... on TestClockConnection {
      edges { node { name memberCount } } pageInfo { hasNextPage endCursor } } } }`;
    const first = (await staff(LIST)).testClocks;
    expect(first.edges).toEqual([{ node: { name: 'integration run', memberCount: 1 } }]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = (await staff(LIST, { after: first.pageInfo.endCursor })).testClocks;
    expect(next.edges).toEqual([{ node: { name: 'several at once', memberCount: 1 } }]);
    expect(next.pageInfo.hasNextPage).toBe(false);
  });

  it('keeps a test clock and real time apart both ways', async () => {
    const ritaBefore = await member(rita);
    // Years on the test clock: the real-time member is untouched.
    expect(await advance(clock.id, new Date(start.getTime() + 7000 * DAY_MS))).toMatchObject({
      __typename: 'TestClockAdvanced',
      lotsExpired: 1,
    });
    expect(await member(rita)).toEqual(ritaBefore);
    expect(await hold(cafe, ritaHold)).toMatchObject({ status: 'pending' });
    expect((await member(tina)).balance).toBe('0');

    // Real time runs years ahead of a third clock: the real-time jobs take rita's hold and lots, never the clock member's.
    const third = await createClock('left behind', hub.clock.now());
    const una = await enroll('una');
    await attach(una, third.id);
    await shop.client.issuePoints({ member: 'una', amount: '70' });
    await cafe.client.issuePoints({ member: 'una', amount: '5' });
    expect(await cafe.client.authorizeRedemption({ member: 'una', amount: '1', holdSeconds: 600 })).toMatchObject({ ok: true });
    const unaBefore = await member(una);
    hub.clock.advance(3 * 365 * DAY_MS);
    await hub.hub.jobs.holdExpiry.run();
    await hub.hub.jobs.vesting.run();
    await hub.hub.jobs.expiry.run();
    // (The partner's own tokens are three years old to the hub now: read the rows as the operator's psql would.)
    expect(await hub.ownerQuery('SELECT status FROM hold WHERE id = $1', [ritaHold])).toEqual([{ status: 'expired' }]);
    expect(await member(rita)).toMatchObject({ balance: '0', tier: { name: 'Base' } });
    expect(await member(una)).toEqual(unaBefore);
    expect(await memberEvents(una, ['HOLD_EXPIRED', 'POINTS_VESTED', 'POINTS_EXPIRED'])).toEqual([]);
    expect((await hub.integrity()).ok).toBe(true);
  });
});

describe('a hub that is not a sandbox', () => {
  it('will not run on a database with members on test clocks (it would put them on real time)', async () => {
    await expect(hub.restart({ SANDBOX: 'false' })).rejects.toThrow(/members on sandbox test clocks: start the hub with SANDBOX=true/);
    await hub.restart({ SANDBOX: 'true' });
    expect((await hub.integrity()).ok).toBe(true);
  });

  it('refuses every test clock operation and shows no clock', async () => {
    const plain = await TestHub.start({ env: { SANDBOX: 'false' } });
    try {
      const asStaff = async (query: string, variables: Record<string, unknown> = {}) =>
        (await plain.graphql(query, variables, await plain.operatorToken())).data!;
      const refused = await asStaff(
        `mutation { createTestClock(input: { name: "x", frozenTime: "${new Date().toISOString()}" }) { __typename ... on ErrorResult { errorCode } } }`,
      );
      expect(refused.createTestClock).toEqual({ __typename: 'SandboxOnly', errorCode: 'SANDBOX_ONLY' });
      expect((await asStaff('{ testClocks { __typename } }')).testClocks.__typename).toBe('SandboxOnly');
      expect(
        (await asStaff(ADVANCE, { id: '00000000-0000-4000-8000-000000000000', to: new Date().toISOString() })).advanceTestClock.__typename,
      ).toBe('SandboxOnly');
      const acme = await plain.registerPartner('ACME');
      const enrolled = await acme.client.enrollMember({ member: 'm1' });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
      const attached = await asStaff(
        `mutation($m: ID!) { attachMemberToTestClock(memberId: $m, testClockId: "00000000-0000-4000-8000-000000000000") { __typename } }`,
        { m: enrolled.data.memberId },
      );
      expect(attached.attachMemberToTestClock.__typename).toBe('SandboxOnly');
      expect((await asStaff('query($id: ID!) { member(id: $id) { testClock { id } } }', { id: enrolled.data.memberId })).member).toEqual({
        testClock: null,
      });
    } finally {
      await plain.stop();
    }
  });
});
