import type { FieldsByOp, Op } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * The tier segment of `kpis` (docs/kpis.md, "Segments"): the members counted are those whose
 * coalition tier at the end of the period (or at asOf, if earlier) is the one asked for, by the
 * hub's tier rules, as `me { tier }` counts it; a tier is read as of asOf, so points earned later do
 * not move a member between segments of an earlier answer.
 *
 * Tiers Base 0, Silver 100, Gold 500. In March 2027 at ACME: gold earns 600 CP, silver 150, base 50
 * and none nothing, and every one of them buys once there; at CAFE (which sends no purchase
 * activities) cafe-only earns 20. Then, after asOf A, base earns 100 more (Silver now, Base as of A).
 */
let hub: TestHub;
let acme: TestPartner;
let cafe: TestPartner;
const A = '2027-03-20T12:00:00.000Z';
const MARCH = { from: '2027-03', to: '2027-03' };

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> => {
  await sendAccepted(hub, partner, op, fields);
};

let order = 0;
const buy = (member: string) =>
  send(acme, 'activity', { activity: 'purchase', member, total: '1000', currency: 'EUR', orderRef: `t-${++order}` });

const KPIS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $segment: KpiSegmentInput) {
  kpis(scope: $scope, period: $period, asOf: $asOf, segment: $segment) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on Kpis { activeMembers purchases enrolments lifecycleFunnel { stage members } }
  }
}`;

async function kpis(segment: Record<string, unknown> | null, asOf: string | null = null, scope: Record<string, unknown> = {}) {
  const response = await hub.graphql(KPIS, { scope, period: MARCH, asOf, segment }, await hub.operatorToken());
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.kpis;
}

async function tierOf(partner: TestPartner, member: string): Promise<string> {
  const me = await hub.graphql('{ me { tier { name } } }', {}, await hub.memberToken(partner, member));
  if (me.errors) throw new Error(JSON.stringify(me.errors));
  return me.data!.me.tier.name;
}

beforeAll(async () => {
  hub = await TestHub.start({ env: { TIERS: 'Base:0,Silver:100,Gold:500' } });
  moveClockTo(hub, '2027-03-01T09:00:00.000Z');
  acme = await hub.registerPartner('ACME');
  cafe = await hub.registerPartner('CAFE');
  for (const member of ['gold', 'silver', 'base', 'none']) await send(acme, 'enroll', { member });
  await send(cafe, 'enroll', { member: 'cafe-only' });
  moveClockTo(hub, '2027-03-10T10:00:00.000Z');
  await send(acme, 'issue', { member: 'gold', amount: '600' });
  await send(acme, 'issue', { member: 'silver', amount: '150' });
  await send(acme, 'issue', { member: 'base', amount: '50' });
  await send(cafe, 'issue', { member: 'cafe-only', amount: '20' });
  for (const member of ['gold', 'silver', 'base', 'none']) await buy(member);
  moveClockTo(hub, '2027-03-25T10:00:00.000Z');
  await send(acme, 'issue', { member: 'base', amount: '100' });
}, 60_000);

afterAll(() => hub.stop());

test('counts the members of each tier, and the tiers partition the whole', async () => {
  const whole = await kpis(null, A, { partnerId: 'ACME' });
  expect(whole).toMatchObject({ __typename: 'Kpis', activeMembers: 4, enrolments: 4 });
  const byTier: Record<string, number> = {};
  for (const tier of ['Base', 'Silver', 'Gold']) {
    const answer = await kpis({ tier }, A, { partnerId: 'ACME' });
    expect(answer.__typename).toBe('Kpis');
    byTier[tier] = answer.activeMembers;
  }
  // As of A: gold 600 (Gold), silver 150 (Silver), base 50 and none 0 (Base).
  expect(byTier).toEqual({ Base: 2, Silver: 1, Gold: 1 });
  const enrolled = await kpis({ tier: 'Gold' }, A, { partnerId: 'ACME' });
  expect(enrolled).toMatchObject({ enrolments: 1, purchases: '1' });
});

test('reads the tier as of asOf: points earned later do not move a member in an earlier answer', async () => {
  // Now (end of March, the clock at the 25th): base has 150 and is Silver, as `me { tier }` says.
  expect(await tierOf(acme, 'base')).toBe('Silver');
  expect(await tierOf(acme, 'gold')).toBe('Gold');
  expect((await kpis({ tier: 'Silver' }, null, { partnerId: 'ACME' })).activeMembers).toBe(2);
  expect((await kpis({ tier: 'Base' }, null, { partnerId: 'ACME' })).activeMembers).toBe(1);
  // As of A it was still Base.
  expect((await kpis({ tier: 'Silver' }, A, { partnerId: 'ACME' })).activeMembers).toBe(1);
  expect((await kpis({ tier: 'Base' }, A, { partnerId: 'ACME' })).activeMembers).toBe(2);
});

test('combines with the other segments, over the coalition', async () => {
  // Base as of A, coalition-wide: base and none (one purchase each at ACME), and cafe-only, active by its earn at CAFE.
  expect(await kpis({ tier: 'Base' }, A)).toMatchObject({ __typename: 'Kpis', activeMembers: 3, enrolments: 3 });
  const oneTime = await kpis({ tier: 'Base', lifecycleStage: 'ONE_TIME' }, A);
  expect(oneTime).toMatchObject({ __typename: 'Kpis', activeMembers: 2, purchases: '2' });
  expect(oneTime.lifecycleFunnel).toContainEqual({ stage: 'ONE_TIME', members: 2 });
  expect(oneTime.lifecycleFunnel).toContainEqual({ stage: 'FIRST_VISIT', members: 0 });
});

test('refuses a tier the hub does not have, with a typed result', async () => {
  expect(await kpis({ tier: 'Platinum' }, A)).toMatchObject({
    __typename: 'InvalidInput',
    errorCode: 'INVALID_INPUT',
    message: 'tier is one of Base, Silver, Gold',
  });
});
