import { hashEmail, signAccessToken, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { Client } from 'pg';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { createMug, moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * KPI figures (docs/kpis.md) against a small coalition worked out by hand.
 *
 * Partners: ACME and BOLT send purchase activities; CORE sends only issues and redemptions (so an
 * earn or burn there makes a member active). Members (one person may be enrolled at several partners):
 *
 *   M1 = ACME a1 = BOLT b1 (same e-mail)   enrolled Jan 2027
 *   M2 = ACME a2 = CORE c1 (same e-mail)   enrolled Jan 2027
 *   M3 = ACME a3                           enrolled Jan 2027
 *   M4 = BOLT b2                           enrolled Jan 2027
 *   M5 = ACME a5                           enrolled Feb 2027
 *   M6 = ACME a6                           enrolled Mar 2027, never buys
 *
 * Purchases (minor units, channel):
 *   Jan 15  ACME: M1 1000 web, M2 2000 store      BOLT: M1 500 app, M4 800 app     CORE: issue 100 to M2
 *   Feb 10  ACME: M1 1000 web, M1 3000 web, M3 500 web, M5 1500 store             BOLT: M4 800 app
 *   Mar 10  ACME: M1 2000 web, M3 700 web, M3 800 web, M5 1500 store              CORE: redeem 50 from M2
 *   Mar 12  M1 redeems ACME's 10-point mug (a product) with the campaign's points
 *
 * Campaign (ACME, created Jan 1): 10 bonus points a purchase from Feb 1 to Mar 1 (UTC), cap 1000 points.
 *
 * Settings (set on Jan 1): ACME margin 0.25; coalition monthly discount rate 0.01, lifecycle window 3
 * months, loyal = at least 4 purchases and active in each of the last 2 months.
 *
 * ACME, Jan–Mar 2027, as of Mar 20:
 *   purchases 2 + 4 + 4 = 10; spend 3000 + 6000 + 5000 = 14000; active M1 M2 M3 M5 = 4 (M6 never bought)
 *   per member: M1 4, M2 1, M3 3, M5 2 → repeat rate 3/4 = 0.75; frequency 10/4 = 2.5; ATV 14000/10 = 1400
 *   monthly retention: Jan {M1,M2} → Feb {M1,M3,M5}: 1 of 2; Feb → Mar {M1,M3,M5}: 3 of 3 → 4/5 = 0.8; churn 1/5
 *   CLV: m = 14000 × 0.25 / (4 members × 3 months) = 3500/12 = 291.666…; r = 0.8; d = 0.01
 *        CLV = m × r / (1 + d − r) = 3500/12 × 0.8/0.21 = 280000/252 = 1111.11… → 1111
 *   lifecycle (window Jan–Mar; last 2 months Feb–Mar): M1 4 purchases, active Feb and Mar → LOYAL;
 *        M2 1 → ONE_TIME; M3 3 → REPEAT; M5 2 → RETURNING; M6 0 → FIRST_VISIT
 *   cohorts: Jan {M1,M2,M3}: Jan 2 (M1,M2), Feb 2 (M1,M3), Mar 2 (M1,M3); Feb {M5}: 1, 1; Mar {M6}: 0
 *   enrolments by first-purchase channel: M1 web, M2 store, M3 web, M5 store, M6 none
 *   cross-partner reach: of M1 M2 M3 M5, M1 is active at BOLT (Jan) and M2 at CORE (Jan, Mar) → 2/4
 *   reward uptake: product 1 redemption by 1 member of 4 active → 0.25
 * ACME, Feb–Mar: spend 11000; previous equal period Dec–Jan: 3000 → growth (11000 − 3000)/3000 = 2.666667
 * Coalition, Jan–Mar: active M1..M5 = 5; at two partners or more: M1, M2 → reach 2/5
 * The campaign: the Feb 10 purchases at ACME (M1 twice, M3, M5) → 3 members reached, 40 points, 40/1000 of
 *   its cap; their ACME purchases during it (Feb 1 – Mar 1): 4; in the 28 days before (Jan 4 – Feb 1): M1's of
 *   Jan 15 → 1; incremental purchases per member (4 − 1)/3 = 1
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let core: TestPartner;
let campaignId: string;
let mugId: string;

const KPIS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $segment: KpiSegmentInput) {
  kpis(scope: $scope, period: $period, asOf: $asOf, segment: $segment) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on Kpis {
      partnerId from to months previousFrom activeMembers purchases spend previousSpend enrolments
      enrolmentsByChannel { channel members }
      retentionCohorts { month size months { offset month active retention { numerator denominator value } } }
      monthlyRetention { numerator denominator value }
      churn { numerator denominator value }
      repeatPurchaseRate { numerator denominator value }
      purchaseFrequency { value }
      averageTransactionValue { numerator denominator value }
      spendGrowth { numerator denominator value }
      clv { value monthlyMarginPerMember { numerator denominator value } monthlyRetention { value } margin monthlyDiscountRate }
      lifecycleFunnel { stage members }
      crossPartnerReach { numerator denominator value }
      referralConversion { numerator denominator value }
      rewardUptake { kind redemptions members uptake { numerator denominator value } }
    }
  }
}`;

const at = (iso: string): void => moveClockTo(hub, iso);

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> => {
  await sendAccepted(hub, partner, op, fields);
};

let order = 0;
const buy = (partner: TestPartner, member: string, total: string, channel: string) =>
  send(partner, 'activity', { activity: 'purchase', member, total, currency: 'EUR', channel, orderRef: `o-${++order}` });

const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

async function kpis(variables: Record<string, unknown>, token?: string) {
  const response = await hub.graphql(KPIS, variables, token ?? (await hub.operatorToken()));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.kpis;
}

async function operator(query: string, variables: Record<string, unknown> = {}) {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!;
}

const r = (numerator: string, denominator: string, value: string | null) => ({ numerator, denominator, value });
const AS_OF = '2027-03-20T00:00:00.000Z';
const Q1 = { from: '2027-01', to: '2027-03' };

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  core = await hub.registerPartner('CORE');

  at('2027-01-01T09:00:00Z');
  const set = await operator(
    `mutation { coalition: setKpiSettings(input: { monthlyDiscountRate: "0.01", lifecycleWindowMonths: 3, loyalMinPurchases: 4, loyalMonths: 2 }) { __typename }
                acme: setKpiSettings(partnerId: "ACME", input: { margin: "0.25" }) { __typename ... on KpiSettings { margin monthlyDiscountRate loyalMonths } } }`,
  );
  expect(set.coalition.__typename).toBe('KpiSettings');
  expect(set.acme).toEqual({ __typename: 'KpiSettings', margin: '0.25', monthlyDiscountRate: '0.01', loyalMonths: 2 });
  const campaign = await operator(
    `mutation($input: CampaignInput!) { createCampaign(input: $input) { __typename ... on Campaign { id } } }`,
    {
      input: {
        name: 'February bonus',
        kind: 'bonus',
        bonusPoints: '10',
        trigger: 'purchase',
        startsLocal: '2027-02-01T00:00',
        endsLocal: '2027-03-01T00:00',
        timeZone: 'UTC',
        funders: [{ partnerId: 'ACME', share: '1' }],
        pointsCap: '1000',
      },
    },
  );
  expect(campaign.createCampaign.__typename).toBe('Campaign');
  campaignId = campaign.createCampaign.id;
  mugId = await createMug(hub, acme);

  at('2027-01-10T10:00:00Z');
  await send(acme, 'enroll', { member: 'a1', emailHash: hashEmail('m1@example.com') });
  await send(acme, 'enroll', { member: 'a2', emailHash: hashEmail('m2@example.com') });
  await send(acme, 'enroll', { member: 'a3' });
  await send(bolt, 'enroll', { member: 'b1', emailHash: hashEmail('m1@example.com') });
  await send(bolt, 'enroll', { member: 'b2' });
  await send(core, 'enroll', { member: 'c1', emailHash: hashEmail('m2@example.com') });

  at('2027-01-15T10:00:00Z');
  await buy(acme, 'a1', '1000', 'web');
  await buy(acme, 'a2', '2000', 'store');
  await buy(bolt, 'b1', '500', 'app');
  await buy(bolt, 'b2', '800', 'app');
  await send(core, 'issue', { member: 'c1', amount: '100' });

  at('2027-02-05T10:00:00Z');
  await send(acme, 'enroll', { member: 'a5' });
  at('2027-02-10T10:00:00Z');
  await buy(acme, 'a1', '1000', 'web');
  await buy(acme, 'a1', '3000', 'web');
  await buy(acme, 'a3', '500', 'web');
  await buy(acme, 'a5', '1500', 'store');
  await buy(bolt, 'b2', '800', 'app');

  at('2027-03-05T10:00:00Z');
  await send(acme, 'enroll', { member: 'a6' });
  at('2027-03-10T10:00:00Z');
  await buy(acme, 'a1', '2000', 'web');
  await buy(acme, 'a3', '700', 'web');
  await buy(acme, 'a3', '800', 'web');
  await buy(acme, 'a5', '1500', 'store');
  await send(core, 'redeem', { member: 'c1', amount: '50' });
  at('2027-03-12T10:00:00Z');
  const redeemed = await hub.graphql(
    'mutation($reward: ID!) { redeemReward(rewardId: $reward, idempotencyKey: "mug-1") { __typename ... on ErrorResult { errorCode message } } }',
    { reward: mugId },
    await hub.memberToken(acme, 'a1'),
  );
  expect(redeemed.errors).toBeUndefined();
  expect(redeemed.data?.redeemReward.__typename).toBe('RewardRedemption');

  at('2027-03-25T12:00:00Z');
});

afterAll(() => hub.stop());

/** ACME, Jan–Mar 2027, as of Mar 20: every figure worked out in the header. */
const ACME_Q1 = {
  __typename: 'Kpis',
  partnerId: 'ACME',
  from: '2027-01',
  to: '2027-03',
  months: 3,
  previousFrom: '2026-10',
  activeMembers: 4,
  purchases: '10',
  spend: '14000',
  previousSpend: '0',
  enrolments: 5,
  enrolmentsByChannel: [
    { channel: 'none', members: 1 },
    { channel: 'store', members: 2 },
    { channel: 'web', members: 2 },
  ],
  retentionCohorts: [
    {
      month: '2027-01',
      size: 3,
      months: [
        { offset: 0, month: '2027-01', active: 2, retention: r('2', '3', '0.666667') },
        { offset: 1, month: '2027-02', active: 2, retention: r('2', '3', '0.666667') },
        { offset: 2, month: '2027-03', active: 2, retention: r('2', '3', '0.666667') },
      ],
    },
    {
      month: '2027-02',
      size: 1,
      months: [
        { offset: 0, month: '2027-02', active: 1, retention: r('1', '1', '1.000000') },
        { offset: 1, month: '2027-03', active: 1, retention: r('1', '1', '1.000000') },
      ],
    },
    { month: '2027-03', size: 1, months: [{ offset: 0, month: '2027-03', active: 0, retention: r('0', '1', '0.000000') }] },
  ],
  monthlyRetention: r('4', '5', '0.800000'),
  churn: r('1', '5', '0.200000'),
  repeatPurchaseRate: r('3', '4', '0.750000'),
  purchaseFrequency: { value: '2.500000' },
  averageTransactionValue: r('14000', '10', '1400.000000'),
  spendGrowth: r('14000', '0', null),
  clv: {
    value: '1111',
    monthlyMarginPerMember: r('3500', '12', '291.666667'),
    monthlyRetention: { value: '0.800000' },
    margin: '0.25',
    monthlyDiscountRate: '0.01',
  },
  lifecycleFunnel: [
    { stage: 'FIRST_VISIT', members: 1 },
    { stage: 'ONE_TIME', members: 1 },
    { stage: 'RETURNING', members: 1 },
    { stage: 'REPEAT', members: 1 },
    { stage: 'LOYAL', members: 1 },
  ],
  crossPartnerReach: r('2', '4', '0.500000'),
  referralConversion: r('0', '0', null),
  rewardUptake: [{ kind: 'product', redemptions: 1, members: 1, uptake: r('1', '4', '0.250000') }],
};

describe('KPIs of a hand-computed coalition', () => {
  let beforeRefresh: unknown;

  it('reads the recorded rows alone before any refresh', async () => {
    beforeRefresh = await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF });
    expect(beforeRefresh).toEqual(ACME_Q1);
  });

  it('gives the same figures from the rollups once refreshed', async () => {
    const refreshed = await operator('mutation { refreshKpis { ran days rows enrolments completeBefore } }');
    expect(refreshed.refreshKpis).toMatchObject({ ran: true, enrolments: 8 });
    // Jan 10 (the first day with an entry or a purchase is Jan 15; enrolments do not start the rollup) … Mar 25.
    expect(refreshed.refreshKpis.completeBefore).toBe('2027-03-25');
    expect(await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(ACME_Q1);
    const again = await operator('mutation { refreshKpis { ran days rows enrolments } }');
    expect(again.refreshKpis).toMatchObject({ ran: true, days: 1, enrolments: 0 });
  });

  it('skips a refresh while another one holds the lock (another hub process, the CLI)', async () => {
    const other = new Client({ connectionString: hub.databaseUrl });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock(hashtextextended('coalition-hub:kpi-refresh', 0))");
      const skipped = await operator('mutation { refreshKpis { ran days rows enrolments completeBefore } }');
      expect(skipped.refreshKpis).toEqual({ ran: false, days: 0, rows: 0, enrolments: 0, completeBefore: null });
      await other.query("SELECT pg_advisory_unlock(hashtextextended('coalition-hub:kpi-refresh', 0))");
      expect((await operator('mutation { refreshKpis { ran } }')).refreshKpis.ran).toBe(true);
    } finally {
      await other.end();
    }
  });

  it('computes spend growth against the previous equal period', async () => {
    const figures = await kpis({ scope: { partnerId: 'ACME' }, period: { from: '2027-02', to: '2027-03' }, asOf: AS_OF });
    expect(figures).toMatchObject({
      previousFrom: '2026-12',
      spend: '11000',
      previousSpend: '3000',
      spendGrowth: r('8000', '3000', '2.666667'),
    });
  });

  it('computes the coalition-wide figures', async () => {
    const figures = await kpis({ scope: {}, period: Q1, asOf: AS_OF });
    // M1 (ACME, BOLT), M2 (ACME; CORE by its earn and burn), M3, M4 (BOLT), M5.
    expect(figures).toMatchObject({ partnerId: null, activeMembers: 5, crossPartnerReach: r('2', '5', '0.400000') });
    // 10 at ACME, 3 at BOLT; 14000 + 2100.
    expect(figures).toMatchObject({ purchases: '13', spend: '16100', enrolments: 6 });
  });

  it('restricts every figure to a segment', async () => {
    const loyal = await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF, segment: { lifecycleStage: 'LOYAL' } });
    expect(loyal).toMatchObject({ activeMembers: 1, purchases: '4', spend: '7000', repeatPurchaseRate: r('1', '1', '1.000000') });
    const store = await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF, segment: { enrolmentChannel: 'store' } });
    // M2 (2000) and M5 (1500 + 1500).
    expect(store).toMatchObject({ activeMembers: 2, purchases: '3', spend: '5000', enrolments: 2 });
  });

  it('is reproducible: what is recorded after asOf does not count', async () => {
    await buy(acme, 'a2', '900', 'store');
    await operator('mutation { refreshKpis { ran } }');
    expect(await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(beforeRefresh);
    expect(await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(ACME_Q1);
    const now = await kpis({ scope: { partnerId: 'ACME' }, period: Q1 });
    expect(now).toMatchObject({ purchases: '11', spend: '14900', activeMembers: 4 });
  });
});

describe('campaign results', () => {
  const CAMPAIGNS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $first: Int, $after: String) {
    kpiCampaigns(scope: $scope, period: $period, asOf: $asOf, first: $first, after: $after) {
      __typename
      ... on ErrorResult { errorCode }
      ... on KpiCampaignConnection {
        edges { node { campaignId name startsAt endsAt membersReached pointsAwarded pointsCap budgetUsed { numerator denominator value }
                       purchasesDuring purchasesBefore incrementalPurchasesPerMember { numerator denominator value } } }
        pageInfo { hasNextPage }
      }
    }
  }`;

  it('counts what a campaign awarded and the purchases of the members it reached against the pre-period', async () => {
    const response = await hub.graphql(CAMPAIGNS, { scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF }, await partnerToken(acme));
    expect(response.errors).toBeUndefined();
    expect(response.data!.kpiCampaigns).toEqual({
      __typename: 'KpiCampaignConnection',
      edges: [
        {
          node: {
            campaignId,
            name: 'February bonus',
            startsAt: '2027-02-01T00:00:00.000Z',
            endsAt: '2027-03-01T00:00:00.000Z',
            membersReached: 3,
            pointsAwarded: '40',
            pointsCap: '1000',
            budgetUsed: r('40', '1000', '0.040000'),
            purchasesDuring: '4',
            purchasesBefore: '1',
            incrementalPurchasesPerMember: r('3', '3', '1.000000'),
          },
        },
      ],
      pageInfo: { hasNextPage: false },
    });
    // BOLT takes no part in it; as of Jan 20 it had not started.
    const bolt = await hub.graphql(CAMPAIGNS, { scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, await hub.operatorToken());
    expect(bolt.data!.kpiCampaigns.edges).toEqual([]);
    const early = await hub.graphql(CAMPAIGNS, { scope: {}, period: Q1, asOf: '2027-01-20T00:00:00Z' }, await hub.operatorToken());
    expect(early.data!.kpiCampaigns.edges).toEqual([]);
    const refused = await hub.graphql(CAMPAIGNS, { scope: { partnerId: 'BOLT' }, period: Q1 }, await partnerToken(acme));
    expect(refused.data!.kpiCampaigns).toEqual({ __typename: 'ScopeNotAllowed', errorCode: 'SCOPE_NOT_ALLOWED' });
  });
});

describe('who may read KPIs', () => {
  it('lets a partner read its own figures and the coalition’s', async () => {
    const token = await partnerToken(acme);
    expect(await kpis({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF }, token)).toEqual(ACME_Q1);
    expect(await kpis({ scope: {}, period: Q1, asOf: AS_OF }, token)).toMatchObject({ __typename: 'Kpis', activeMembers: 5 });
  });

  it('refuses a partner another partner’s figures with a typed result', async () => {
    const refused = await kpis({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, await partnerToken(acme));
    expect(refused).toMatchObject({ __typename: 'ScopeNotAllowed', errorCode: 'SCOPE_NOT_ALLOWED' });
  });

  it('gives members nothing, and partners no member-level field', async () => {
    const member = await hub.graphql(KPIS, { scope: {}, period: Q1 }, await hub.memberToken(acme, 'a1'));
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const memberLevel = await hub.graphql(
      '{ kpis(scope: {}, period: { from: "2027-01", to: "2027-01" }) { ... on Kpis { members { id } } } }',
      {},
      await partnerToken(acme),
    );
    expect(memberLevel.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const settings = await hub.graphql(
      'mutation { setKpiSettings(input: { margin: "0.5" }) { __typename } }',
      {},
      await partnerToken(acme),
    );
    expect(settings.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers bad input with typed results', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scope: {}, period: { from: '2025-01', to: '2027-03' } }, 'InvalidInput'], // 27 months
      [{ scope: {}, period: { from: '2027-03', to: '2027-01' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '2027-1', to: '2027-03' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '0000-01', to: '0000-03' } }, 'InvalidInput'], // before 1970: would not even be a date
      [{ scope: {}, period: { from: '1969-12', to: '1970-01' } }, 'InvalidInput'],
      [{ scope: {}, period: Q1, asOf: '2030-01-01T00:00:00Z' }, 'InvalidInput'], // in the future
      [{ scope: {}, period: { from: '2027-06', to: '2027-06' }, asOf: AS_OF }, 'InvalidInput'], // after asOf
      [{ scope: { partnerId: 'NOPE' }, period: Q1 }, 'UnknownPartner'],
      [{ scope: {}, period: Q1, segment: { enrolmentChannel: 'no spaces' } }, 'InvalidInput'],
    ];
    for (const [variables, typename] of cases) expect(await kpis(variables)).toMatchObject({ __typename: typename });
    const bad = await hub.graphql(
      'mutation { setKpiSettings(input: { loyalMonths: 9, lifecycleWindowMonths: 3 }) { __typename } }',
      {},
      await hub.operatorToken(),
    );
    expect(bad.data?.setKpiSettings.__typename).toBe('InvalidInput');
    const unknown = await hub.graphql(
      'mutation { setKpiSettings(partnerId: "NOPE", input: { margin: "0.3" }) { __typename } }',
      {},
      await hub.operatorToken(),
    );
    expect(unknown.data?.setKpiSettings.__typename).toBe('NotFound');
  });
});
