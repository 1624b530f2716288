import { hashEmail, signAccessToken, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { isHeldOut } from '../../src/engine/holdout';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * Campaign results against a holdout (docs/kpis.md, "Campaign results"), worked out by hand.
 *
 * Campaigns, made on Jan 1 2027, both from Feb 1 to Mar 1 (UTC), on purchases:
 *   Spring (ACME): 10 bonus points, cap 1000, holdoutShare 0.5
 *   Plain  (BOLT): 5 bonus points, no cap, no holdout
 *
 * Forty candidates are enrolled at ACME; which of them Spring holds out follows from the ids the hub
 * gave them (src/engine/holdout.ts), so the test picks, among them, three treated members T1 T2 T3
 * and two held-out members H1 H2 (H2 also enrolled at BOLT, the same person). The others never buy.
 *
 * Purchases:
 *   Jan 20  ACME: T1, H1                                    (the equal period before Spring: Jan 4 – Feb 1)
 *   Feb 10  ACME: T1, T1, T2, T3, H1, H1, H2
 *   Feb 12  BOLT: H2                                        (not one of Spring's partners)
 *   Mar 5   ACME: T1, H2                                    (after both campaigns)
 *
 * Spring, ACME (or the coalition: its only partner is ACME), as of Mar 20:
 *   reached T1 T2 T3 → Nr = 3; points 4 × 10 = 40 of 1000; during Pr = 4 (T1 2, T2 1, T3 1); before 1 (T1's Jan 20)
 *   incremental vs pre-period (4 − 1)/3
 *   held out H1 H2 → Nh = 2 (they bought at ACME during it); their purchases during it Ph = 2 + 1 = 3
 *   vs holdout: 4/3 − 3/2 = (Pr·Nh − Ph·Nr)/(Nr·Nh) = (4·2 − 3·3)/(3·2) = −1/6
 * Plain, the coalition: reached H2 (Feb 12 at BOLT) → 1 member, 5 points; during 1, before 0 → 1/1;
 *   no holdout: share 0, 0 members, 0 purchases, and no ratio against a holdout (null).
 * As of Feb 11 (Spring running; endsAt = asOf): the same members on each side and their Feb 10 purchases;
 *   the period before is then Jan 22 – Feb 1 (10 days), without T1's Jan 20 purchase.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let spring: string;
let plain: string;

const at = (iso: string): void => moveClockTo(hub, iso);

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> => {
  await sendAccepted(hub, partner, op, fields);
};

let order = 0;
const buy = (partner: TestPartner, member: string) =>
  send(partner, 'activity', { activity: 'purchase', member, total: '1000', currency: 'EUR', orderRef: `o-${++order}` });

async function createCampaign(input: Record<string, unknown>): Promise<string> {
  const response = await hub.graphql(
    `mutation($input: CampaignInput!) { createCampaign(input: $input) { __typename ... on Campaign { id holdoutShare } } }`,
    { input },
    await hub.operatorToken(),
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  expect(response.data!.createCampaign).toMatchObject({ __typename: 'Campaign', holdoutShare: input.holdoutShare ?? '0' });
  return response.data!.createCampaign.id;
}

const CAMPAIGNS = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiCampaigns(scope: $scope, period: $period, asOf: $asOf, first: 10) {
    __typename
    ... on ErrorResult { errorCode }
    ... on KpiCampaignConnection {
      edges { node { campaignId name endsAt membersReached pointsAwarded budgetUsed { numerator denominator value }
                     purchasesDuring purchasesBefore incrementalPurchasesPerMember { numerator denominator value }
                     holdoutShare holdoutMembers holdoutPurchasesDuring
                     incrementalPurchasesPerMemberVsHoldout { numerator denominator value } } }
    }
  }
}`;

async function results(scope: Record<string, unknown>, asOf: string, token?: string) {
  const response = await hub.graphql(
    CAMPAIGNS,
    { scope, period: { from: '2027-01', to: '2027-03' }, asOf },
    token ?? (await hub.operatorToken()),
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.kpiCampaigns;
}

const r = (numerator: string, denominator: string, value: string | null) => ({ numerator, denominator, value });

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');

  at('2027-01-01T09:00:00Z');
  const window = { startsLocal: '2027-02-01T00:00', endsLocal: '2027-03-01T00:00', timeZone: 'UTC', trigger: 'purchase' };
  spring = await createCampaign({
    name: 'Spring',
    kind: 'bonus',
    bonusPoints: '10',
    pointsCap: '1000',
    holdoutShare: '0.5',
    funders: [{ partnerId: 'ACME', share: '1' }],
    ...window,
  });
  plain = await createCampaign({ name: 'Plain', kind: 'bonus', bonusPoints: '5', funders: [{ partnerId: 'BOLT', share: '1' }], ...window });

  at('2027-01-10T10:00:00Z');
  const candidates = Array.from({ length: 40 }, (_, index) => `c${index}`);
  for (const member of candidates) await send(acme, 'enroll', { member, emailHash: hashEmail(`${member}@example.com`) });
  const rows: Array<{ member_ref: string; id: string }> = await hub.hub.dataSource.query(
    "SELECT member_ref, member_id::text AS id FROM member_link WHERE partner_id = 'ACME'",
  );
  const idOf = new Map(rows.map((row) => [row.member_ref, row.id]));
  const held = candidates.filter((member) => isHeldOut(spring, idOf.get(member)!, '0.5'));
  const treated = candidates.filter((member) => !held.includes(member));
  // Forty at 0.5: fewer than three on a side has a chance of about 1 in 10^9.
  const [t1, t2, t3] = treated as [string, string, string];
  const [h1, h2] = held as [string, string];
  expect([t1, t2, t3, h1, h2].every((member) => member !== undefined)).toBe(true);
  await send(bolt, 'enroll', { member: 'b-h2', emailHash: hashEmail(`${h2}@example.com`) });

  at('2027-01-20T10:00:00Z');
  await buy(acme, t1);
  await buy(acme, h1);

  at('2027-02-10T10:00:00Z');
  for (const member of [t1, t1, t2, t3, h1, h1, h2]) await buy(acme, member);
  at('2027-02-12T10:00:00Z');
  await buy(bolt, 'b-h2');

  at('2027-03-05T10:00:00Z');
  await buy(acme, t1);
  await buy(acme, h2);
  at('2027-03-25T10:00:00Z');
});

afterAll(() => hub.stop());

const SPRING = () => ({
  campaignId: spring,
  name: 'Spring',
  endsAt: '2027-03-01T00:00:00.000Z',
  membersReached: 3,
  pointsAwarded: '40',
  budgetUsed: r('40', '1000', '0.040000'),
  purchasesDuring: '4',
  purchasesBefore: '1',
  incrementalPurchasesPerMember: r('3', '3', '1.000000'),
  holdoutShare: '0.5',
  holdoutMembers: 2,
  holdoutPurchasesDuring: '3',
  incrementalPurchasesPerMemberVsHoldout: r('-1', '6', '-0.166667'),
});

const PLAIN = () => ({
  campaignId: plain,
  name: 'Plain',
  endsAt: '2027-03-01T00:00:00.000Z',
  membersReached: 1,
  pointsAwarded: '5',
  budgetUsed: null,
  purchasesDuring: '1',
  purchasesBefore: '0',
  incrementalPurchasesPerMember: r('1', '1', '1.000000'),
  holdoutShare: '0',
  holdoutMembers: 0,
  holdoutPurchasesDuring: '0',
  incrementalPurchasesPerMemberVsHoldout: null,
});

describe('campaign results against a holdout', () => {
  it('compares the members reached with the members held out, as one exact ratio', async () => {
    const token = await signAccessToken({
      issuer: 'ACME',
      subject: 'ACME',
      scope: 'partner',
      audience: HUB_ID,
      key: acme.key,
      now: hub.clock.now(),
    });
    expect(await results({ partnerId: 'ACME' }, '2027-03-20T00:00:00Z', token)).toEqual({
      __typename: 'KpiCampaignConnection',
      edges: [{ node: SPRING() }],
    });
  });

  it('gives a campaign without a holdout no ratio against one, and the coalition both campaigns', async () => {
    const coalition = await results({}, '2027-03-20T00:00:00Z');
    const nodes = coalition.edges.map((edge: { node: { campaignId: string } }) => edge.node);
    expect(nodes).toEqual([SPRING(), PLAIN()].sort((a, b) => (a.campaignId < b.campaignId ? -1 : 1)));
    expect(await results({ partnerId: 'BOLT' }, '2027-03-20T00:00:00Z')).toEqual({
      __typename: 'KpiCampaignConnection',
      edges: [{ node: PLAIN() }],
    });
  });

  it('counts only what was recorded by asOf', async () => {
    // Feb 11: Spring is running (its end is asOf); the Feb 10 purchases are in, the same members on each side. Its
    // equal period before is now Jan 22 – Feb 1, without T1's Jan 20 purchase: (4 − 0)/3 against it.
    expect(await results({ partnerId: 'ACME' }, '2027-02-11T00:00:00Z')).toEqual({
      __typename: 'KpiCampaignConnection',
      edges: [
        {
          node: {
            ...SPRING(),
            endsAt: '2027-02-11T00:00:00.000Z',
            purchasesBefore: '0',
            incrementalPurchasesPerMember: r('4', '3', '1.333333'),
          },
        },
      ],
    });
    // Jan 31: Spring had not started.
    expect(await results({ partnerId: 'ACME' }, '2027-01-31T00:00:00Z')).toEqual({ __typename: 'KpiCampaignConnection', edges: [] });
  });
});
