import { hashEmail, signAccessToken, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * Member lift (docs/kpis.md, "Member lift") against a small coalition worked out by hand.
 *
 * Members: M1 = ACME a1 = BOLT b1 (same e-mail), M2 = ACME a2, M3 = ACME a3, M4 = BOLT b2.
 * Purchases (minor units):
 *   Jan 10  ACME: M1 1000, M1 500, M2 2000        BOLT: M1 300, M4 700
 *   Feb 10  ACME: M1 1200, M3 800                 BOLT: M4 400, M4 600
 *   Mar 10  ACME: M2 900
 * Non-member reports (customers, purchases, spend):
 *   Feb 3   ACME Jan 10, 12, 9000        BOLT Jan 4, 4, 2400
 *   Mar 2   ACME Feb 4, 5, 3000
 *   Mar 5   ACME Jan 10, 15, 9000  (a correction: supersedes the Feb 3 report from Mar 5)
 *
 * ACME, Jan–Mar, as of Mar 20 (lift = (x × c − y × a) / (y × a), members x / a, non-members y / c):
 *   Jan  members 2 active, 3 purchases, 3500 → 1.5 and 1750 per member; non-members 15/10 = 1.5, 9000/10 = 900
 *        purchase lift (3 × 10 − 15 × 2) / (15 × 2) = 0/30; spend lift (3500 × 10 − 9000 × 2) / (9000 × 2) = 17000/18000
 *   Feb  members 2, 2, 2000 → 1 and 1000; non-members 5/4 = 1.25, 3000/4 = 750
 *        purchase lift (2 × 4 − 5 × 2) / 10 = −2/10; spend lift (2000 × 4 − 3000 × 2) / 6000 = 2000/6000
 *   Mar  members 1, 1, 900; no report: no lift
 *   period (Jan and Feb, summed): members 4, 5, 5500; non-members 14, 20, 12000
 *        purchase lift (5 × 14 − 20 × 4) / 80 = −10/80; spend lift (5500 × 14 − 12000 × 4) / 48000 = 29000/48000
 * ACME Jan as of Mar 3 (before the correction): non-members 12/10; purchase lift (3 × 10 − 12 × 2) / 24 = 6/24
 * Coalition, Jan–Feb, as of Mar 20:
 *   Jan  both reported: members at ACME or BOLT M1 M2 M4 = 3, purchases 5, spend 4500; non-members 14, 19, 11400
 *        purchase lift (5 × 14 − 19 × 3) / 57 = 13/57; spend lift (4500 × 14 − 11400 × 3) / 34200 = 28800/34200
 *   Feb  ACME alone reported: its members only (BOLT's Feb purchases are left out), as ACME's Feb
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const LIFT = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiMemberLift(scope: $scope, period: $period, asOf: $asOf) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on KpiMemberLift {
      partnerId from to
      months {
        month partnersReported reportedAt
        members { ...figures }
        nonMembers { ...figures }
        purchaseLift { numerator denominator value }
        spendLift { numerator denominator value }
      }
      period {
        monthsReported
        members { ...figures }
        nonMembers { ...figures }
        purchaseLift { numerator denominator value }
        spendLift { numerator denominator value }
      }
    }
  }
}
fragment figures on KpiLiftFigures {
  customers purchases spend
  purchasesPerCustomer { numerator denominator value }
  spendPerCustomer { numerator denominator value }
}`;

const REPORT = `mutation($input: NonMemberReportInput!) {
  reportNonMemberCustomers(input: $input) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on NonMemberReport { partnerId month customers purchases spend reportedAt reportedBy version }
  }
}`;

const at = (iso: string): void => moveClockTo(hub, iso);

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]): Promise<void> => {
  await sendAccepted(hub, partner, op, fields);
};

let order = 0;
const buy = (partner: TestPartner, member: string, total: string) =>
  send(partner, 'activity', { activity: 'purchase', member, total, currency: 'EUR', channel: 'web', orderRef: `o-${++order}` });

const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

async function lift(variables: Record<string, unknown>, token?: string) {
  const response = await hub.graphql(LIFT, variables, token ?? (await hub.operatorToken()));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.kpiMemberLift;
}

async function report(input: Record<string, unknown>, token: string) {
  const response = await hub.graphql(REPORT, { input }, token);
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.reportNonMemberCustomers;
}

const reportsStored = async () => (await hub.ownerQuery<{ n: number }>('SELECT count(*)::int AS n FROM kpi_non_member_report'))[0]!.n;

const r = (numerator: string, denominator: string, value: string | null) => ({ numerator, denominator, value });
/** One side's figures: customers, purchases, spend, and the values of purchases / customers and spend / customers. */
const side = (customers: string, purchases: string, spend: string, perCustomer: string, spendPerCustomer: string) => ({
  customers,
  purchases,
  spend,
  purchasesPerCustomer: r(purchases, customers, perCustomer),
  spendPerCustomer: r(spend, customers, spendPerCustomer),
});
/** A time the fixture set the clock to (the clock runs on by a few milliseconds before the hub records it). */
const around = (minute: string) => expect.stringMatching(new RegExp(`^${minute}:0[0-9]\\.[0-9]{3}Z$`));

const AS_OF = '2027-03-20T00:00:00.000Z';
const BEFORE_CORRECTION = '2027-03-03T00:00:00.000Z';
const Q1 = { from: '2027-01', to: '2027-03' };

/** ACME's January as of Mar 3, read on Mar 3, before the correction was reported. */
let januaryReadOnMarch3: unknown;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');

  at('2027-01-05T10:00:00Z');
  await send(acme, 'enroll', { member: 'a1', emailHash: hashEmail('m1@example.com') });
  await send(acme, 'enroll', { member: 'a2' });
  await send(acme, 'enroll', { member: 'a3' });
  await send(bolt, 'enroll', { member: 'b1', emailHash: hashEmail('m1@example.com') });
  await send(bolt, 'enroll', { member: 'b2' });

  at('2027-01-10T10:00:00Z');
  await buy(acme, 'a1', '1000');
  await buy(acme, 'a1', '500');
  await buy(acme, 'a2', '2000');
  await buy(bolt, 'b1', '300');
  await buy(bolt, 'b2', '700');

  at('2027-02-03T10:00:00Z');
  expect(await report({ month: '2027-01', customers: '10', purchases: '12', spend: '9000' }, await partnerToken(acme))).toMatchObject({
    __typename: 'NonMemberReport',
    partnerId: 'ACME',
    month: '2027-01',
    reportedBy: 'partner:ACME',
    version: 1,
  });
  // An operator reports for a partner it names.
  expect(
    await report({ partnerId: 'BOLT', month: '2027-01', customers: '4', purchases: '4', spend: '2400' }, await hub.operatorToken()),
  ).toMatchObject({ __typename: 'NonMemberReport', partnerId: 'BOLT', version: 1 });

  at('2027-02-10T10:00:00Z');
  await buy(acme, 'a1', '1200');
  await buy(acme, 'a3', '800');
  await buy(bolt, 'b2', '400');
  await buy(bolt, 'b2', '600');

  at('2027-03-02T10:00:00Z');
  await report({ month: '2027-02', customers: '4', purchases: '5', spend: '3000' }, await partnerToken(acme));
  at('2027-03-03T10:00:00Z');
  januaryReadOnMarch3 = await lift({ scope: { partnerId: 'ACME' }, period: { from: '2027-01', to: '2027-01' }, asOf: BEFORE_CORRECTION });

  at('2027-03-05T10:00:00Z');
  const correction = await report({ month: '2027-01', customers: '10', purchases: '15', spend: '9000' }, await partnerToken(acme));
  expect(correction).toMatchObject({ __typename: 'NonMemberReport', version: 2, reportedAt: around('2027-03-05T10:00') });

  at('2027-03-10T10:00:00Z');
  await buy(acme, 'a2', '900');
  at('2027-03-25T12:00:00Z');
});

afterAll(() => hub.stop());

const ACME_Q1 = {
  __typename: 'KpiMemberLift',
  partnerId: 'ACME',
  from: '2027-01',
  to: '2027-03',
  months: [
    {
      month: '2027-01',
      partnersReported: 1,
      reportedAt: around('2027-03-05T10:00'),
      members: side('2', '3', '3500', '1.500000', '1750.000000'),
      nonMembers: side('10', '15', '9000', '1.500000', '900.000000'),
      purchaseLift: r('0', '30', '0.000000'),
      spendLift: r('17000', '18000', '0.944444'),
    },
    {
      month: '2027-02',
      partnersReported: 1,
      reportedAt: around('2027-03-02T10:00'),
      members: side('2', '2', '2000', '1.000000', '1000.000000'),
      nonMembers: side('4', '5', '3000', '1.250000', '750.000000'),
      purchaseLift: r('-2', '10', '-0.200000'),
      spendLift: r('2000', '6000', '0.333333'),
    },
    {
      month: '2027-03',
      partnersReported: 0,
      reportedAt: null,
      members: side('1', '1', '900', '1.000000', '900.000000'),
      nonMembers: null,
      purchaseLift: null,
      spendLift: null,
    },
  ],
  period: {
    monthsReported: 2,
    members: side('4', '5', '5500', '1.250000', '1375.000000'),
    nonMembers: side('14', '20', '12000', '1.428571', '857.142857'),
    purchaseLift: r('-10', '80', '-0.125000'),
    spendLift: r('29000', '48000', '0.604167'),
  },
};

describe('member lift of a hand-computed coalition', () => {
  it("compares a partner's members with the non-members it reported, per month and for the period", async () => {
    expect(await lift({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(ACME_Q1);
  });

  it('counts the members as kpis does: one month’s figures are its purchase frequency and spend per active member', async () => {
    const response = await hub.graphql(
      `{ kpis(scope: { partnerId: "ACME" }, period: { from: "2027-01", to: "2027-01" }, asOf: "${AS_OF}") {
           ... on Kpis { activeMembers purchases spend purchaseFrequency { numerator denominator value } } } }`,
      {},
      await hub.operatorToken(),
    );
    expect(response.data!.kpis).toEqual({ activeMembers: 2, purchases: '3', spend: '3500', purchaseFrequency: r('3', '2', '1.500000') });
  });

  it('compares the coalition over the partners that reported for each month', async () => {
    const coalition = await lift({ scope: {}, period: { from: '2027-01', to: '2027-02' }, asOf: AS_OF });
    expect(coalition.months).toEqual([
      {
        month: '2027-01',
        partnersReported: 2,
        reportedAt: around('2027-03-05T10:00'),
        members: side('3', '5', '4500', '1.666667', '1500.000000'),
        nonMembers: side('14', '19', '11400', '1.357143', '814.285714'),
        purchaseLift: r('13', '57', '0.228070'),
        spendLift: r('28800', '34200', '0.842105'),
      },
      ACME_Q1.months[1],
    ]);
    // Jan and Feb summed: members 5, 7, 6500; non-members 18, 24, 14400.
    expect(coalition.period).toMatchObject({
      monthsReported: 2,
      purchaseLift: r('6', '120', '0.050000'),
      spendLift: r('45000', '72000', '0.625000'),
    });
  });

  it('is reproducible: a report made after asOf does not change the answer as of before it', async () => {
    const january = await lift({ scope: { partnerId: 'ACME' }, period: { from: '2027-01', to: '2027-01' }, asOf: BEFORE_CORRECTION });
    expect(january).toEqual(januaryReadOnMarch3);
    expect(january.months[0]).toMatchObject({
      reportedAt: around('2027-02-03T10:00'),
      nonMembers: { customers: '10', purchases: '12', spend: '9000' },
      purchaseLift: r('6', '24', '0.250000'),
    });
  });

  it('gives the same answer from the rollups once refreshed', async () => {
    const refreshed = await hub.graphql('mutation { refreshKpis { ran } }', {}, await hub.operatorToken());
    expect(refreshed.data!.refreshKpis.ran).toBe(true);
    expect(await lift({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(ACME_Q1);
    expect(await lift({ scope: { partnerId: 'ACME' }, period: { from: '2027-01', to: '2027-01' }, asOf: BEFORE_CORRECTION })).toEqual(
      januaryReadOnMarch3,
    );
  });
});

describe('who may report and read member lift', () => {
  it('lets a partner read its own lift and the coalition’s, and refuses another partner’s', async () => {
    const token = await partnerToken(acme);
    expect(await lift({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF }, token)).toEqual(ACME_Q1);
    expect(await lift({ scope: {}, period: Q1, asOf: AS_OF }, token)).toMatchObject({ __typename: 'KpiMemberLift', partnerId: null });
    expect(await lift({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, token)).toMatchObject({
      __typename: 'ScopeNotAllowed',
      errorCode: 'SCOPE_NOT_ALLOWED',
    });
    expect(await lift({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, await hub.operatorToken('finance'))).toMatchObject({
      __typename: 'KpiMemberLift',
    });
  });

  it('gives members nothing, and lets neither members nor finance report', async () => {
    const member = await hub.graphql(LIFT, { scope: {}, period: Q1 }, await hub.memberToken(acme, 'a1'));
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const input = { partnerId: 'ACME', month: '2027-02', customers: '1', purchases: '1', spend: '1' };
    for (const token of [await hub.memberToken(acme, 'a1'), await hub.operatorToken('finance')]) {
      const refused = await hub.graphql(REPORT, { input }, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('refuses every bad report with a typed result and writes nothing', async () => {
    const before = await reportsStored();
    const good = { month: '2027-02', customers: '4', purchases: '5', spend: '3000' };
    const acmeToken = await partnerToken(acme);
    const operatorToken = await hub.operatorToken();
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ...good, month: '2027-2' }, acmeToken, 'InvalidInput'],
      [{ ...good, month: '2027-13' }, acmeToken, 'InvalidInput'],
      [{ ...good, month: '1969-12' }, acmeToken, 'InvalidInput'],
      [{ ...good, month: '2027-04' }, acmeToken, 'InvalidInput'], // the clock is in March 2027: April is in the future
      [{ ...good, customers: '-1' }, acmeToken, 'InvalidInput'],
      [{ ...good, customers: '1.5' }, acmeToken, 'InvalidInput'],
      [{ ...good, customers: '' }, acmeToken, 'InvalidInput'],
      [{ ...good, customers: '007' }, acmeToken, 'InvalidInput'],
      [{ ...good, purchases: '-5' }, acmeToken, 'InvalidInput'],
      [{ ...good, purchases: 'five' }, acmeToken, 'InvalidInput'],
      [{ ...good, spend: '30.00' }, acmeToken, 'InvalidInput'],
      [{ ...good, spend: '-3000' }, acmeToken, 'InvalidInput'],
      [{ ...good, spend: '99999999999999999999' }, acmeToken, 'InvalidInput'], // beyond a bigint
      [{ ...good, customers: '0' }, acmeToken, 'InvalidInput'], // purchases without customers
      [{ ...good, purchases: '0' }, acmeToken, 'InvalidInput'], // spend without purchases
      [{ ...good, partnerId: 'BOLT' }, acmeToken, 'ScopeNotAllowed'],
      [good, operatorToken, 'InvalidInput'], // an operator names the partner
      [{ ...good, partnerId: 'NOPE' }, operatorToken, 'UnknownPartner'],
    ];
    for (const [input, token, typename] of cases) {
      expect({ input, outcome: await report(input, token) }).toMatchObject({ input, outcome: { __typename: typename } });
    }
    expect(await reportsStored()).toBe(before);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toContain('coalition_kpi_non_member_reports_total{outcome="ok"} 4');
    expect(metrics).toContain('coalition_kpi_non_member_reports_total{outcome="INVALID_INPUT"} 16');
  });

  it('answers bad queries with typed results', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scope: {}, period: { from: '2025-01', to: '2027-03' } }, 'InvalidInput'], // 27 months
      [{ scope: {}, period: { from: '2027-03', to: '2027-01' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '2027-1', to: '2027-03' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '0001-01', to: '0001-02' } }, 'InvalidInput'],
      [{ scope: {}, period: Q1, asOf: '2030-01-01T00:00:00Z' }, 'InvalidInput'], // in the future
      [{ scope: {}, period: { from: '2027-06', to: '2027-06' }, asOf: AS_OF }, 'InvalidInput'], // after asOf
      [{ scope: { partnerId: 'NOPE' }, period: Q1 }, 'UnknownPartner'],
    ];
    for (const [variables, typename] of cases) expect(await lift(variables)).toMatchObject({ __typename: typename });
  });
});
