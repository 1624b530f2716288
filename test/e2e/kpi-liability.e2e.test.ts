import { hashEmail, signAccessToken, type FieldsByOp, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { moveClockTo, sendAccepted } from './support/fixture-clock';

/**
 * The liability and breakage trend (docs/kpis.md, "Liability and breakage trend") of a small ledger
 * worked out by hand, checked against what the finance reports (liabilityByIssuer, breakageToDate)
 * answered at each month's end.
 *
 * ACME's lots live 24 months and it allows transfers; BOLT's live one month. Members: ann (at ACME and
 * BOLT, one person), ben (BOLT), cat (ACME). Spending is first-expiring-first-out.
 *
 *   Jan 10  ACME issues 1000 to ann (lot A1); BOLT issues 500 to ann (B1) and 300 to ben (B2), both expiring Feb 10
 *   Jan 20  ann redeems 200 at ACME: from B1 (500 → 300); ben redeems 100 at BOLT: from B2 (300 → 200)
 *   Feb 5   ACME refunds 100 of its issue to ann (A1 1000 → 900); BOLT refunds 40 of ben's redemption (B2 → 240)
 *   Feb 6   ann redeems 100 at BOLT: from B1 (300 → 200)
 *   Feb 15  the expiry run takes B1 200 and B2 240: 440 expired
 *   Mar 10  ann redeems 300 at BOLT: from A1 (900 → 600); ACME issues 200 to ann (A2)
 *   Mar 12  ann gives cat 50 (a transfer: A1 600 → 550 and a copy of 50 for cat; nothing issued, nothing left)
 *
 *            issued  redeemed  expired  reversed  outstanding  breakage (month)   to date
 *   ACME Jan   1000        0        0         0         1000   0/0                0/0
 *        Feb      0        0        0       100          900   0/0                0/0
 *        Mar    200      300        0         0          800   0/300              0/300
 *   BOLT Jan    800      300        0         0          500   0/300              0/300
 *        Feb      0       60      440         0            0   440/500 = 0.88     440/800 = 0.55
 *        Mar      0        0        0         0            0   0/0                440/800
 *   all  Jan   1800      300        0         0         1500   0/300              0/300
 *        Feb      0       60      440       100          900   440/500            440/800
 *        Mar    200      300        0         0          800   0/300              440/1100 = 0.4
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const LIABILITY = `query($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiLiability(scope: $scope, period: $period, asOf: $asOf) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on KpiLiability {
      partnerId from to openingOutstanding
      months {
        month issued redeemed expired reversed outstanding outstandingAt
        breakageRate { numerator denominator value }
        breakageToDate { numerator denominator value }
      }
    }
  }
}`;

const FINANCE = '{ liabilityByIssuer { issuerPartnerId points } breakageToDate { issuerPartnerId expiredPoints breakageRate } }';

interface Finance {
  liabilityByIssuer: Array<{ issuerPartnerId: string; points: string }>;
  breakageToDate: Array<{ issuerPartnerId: string; expiredPoints: string; breakageRate: string }>;
}

/** What finance answered at the end of each month (read on its last day, after the month's last entry). */
const financeAt: Record<string, Finance> = {};

const at = (iso: string): void => moveClockTo(hub, iso);

const send = async <O extends Op>(partner: TestPartner, op: O, fields: FieldsByOp[O]) =>
  (await sendAccepted(hub, partner, op, fields)) as { entryId: string };

async function operator(query: string, variables: Record<string, unknown> = {}) {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!;
}

async function liability(variables: Record<string, unknown>, token?: string) {
  const response = await hub.graphql(LIABILITY, variables, token ?? (await hub.operatorToken('finance')));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.kpiLiability;
}

const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

const r = (numerator: string, denominator: string, value: string | null) => ({ numerator, denominator, value });
const AS_OF = '2027-03-25T00:00:00.000Z';
const Q1 = { from: '2027-01', to: '2027-03' };

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  await operator('mutation { setPartnerContract(partnerId: "ACME", input: { transfersAllowed: true }) { __typename } }');
  await operator('mutation { setPartnerContract(partnerId: "BOLT", input: { lotLifetimeMonths: 1 }) { __typename } }');

  at('2027-01-10T10:00:00Z');
  await send(acme, 'enroll', { member: 'ann', emailHash: hashEmail('ann@example.com') });
  await send(acme, 'enroll', { member: 'cat' });
  await send(bolt, 'enroll', { member: 'ann', emailHash: hashEmail('ann@example.com') });
  await send(bolt, 'enroll', { member: 'ben' });
  const issue = await send(acme, 'issue', { member: 'ann', amount: '1000' });
  await send(bolt, 'issue', { member: 'ann', amount: '500' });
  await send(bolt, 'issue', { member: 'ben', amount: '300' });

  at('2027-01-20T10:00:00Z');
  await send(acme, 'redeem', { member: 'ann', amount: '200' });
  const benRedeemed = await send(bolt, 'redeem', { member: 'ben', amount: '100' });
  at('2027-01-31T12:00:00Z');
  financeAt['2027-01'] = (await operator(FINANCE)) as Finance;

  at('2027-02-05T10:00:00Z');
  await send(acme, 'reverse', { entry: issue.entryId, amount: '100' });
  await send(bolt, 'reverse', { entry: benRedeemed.entryId, amount: '40' });
  at('2027-02-06T10:00:00Z');
  await send(bolt, 'redeem', { member: 'ann', amount: '100' });
  at('2027-02-15T10:00:00Z');
  expect((await operator('mutation { runExpiry { pointsExpired } }')).runExpiry).toEqual({ pointsExpired: '440' });
  at('2027-02-28T12:00:00Z');
  financeAt['2027-02'] = (await operator(FINANCE)) as Finance;

  at('2027-03-10T10:00:00Z');
  await send(bolt, 'redeem', { member: 'ann', amount: '300' });
  await send(acme, 'issue', { member: 'ann', amount: '200' });
  at('2027-03-12T10:00:00Z');
  await send(acme, 'transfer', { member: 'ann', to: 'cat', amount: '50' });
  at('2027-03-20T12:00:00Z');
  financeAt['2027-03'] = (await operator(FINANCE)) as Finance;
  at('2027-03-26T12:00:00Z');
});

afterAll(() => hub.stop());

const END = { '2027-01': '2027-02-01T00:00:00.000Z', '2027-02': '2027-03-01T00:00:00.000Z', '2027-03': AS_OF } as const;
const month = (
  m: keyof typeof END,
  issued: string,
  redeemed: string,
  expired: string,
  reversed: string,
  outstanding: string,
  breakageRate: ReturnType<typeof r>,
  breakageToDate: ReturnType<typeof r>,
) => ({ month: m, issued, redeemed, expired, reversed, outstanding, outstandingAt: END[m], breakageRate, breakageToDate });

const ACME_Q1 = {
  __typename: 'KpiLiability',
  partnerId: 'ACME',
  from: '2027-01',
  to: '2027-03',
  openingOutstanding: '0',
  months: [
    month('2027-01', '1000', '0', '0', '0', '1000', r('0', '0', null), r('0', '0', null)),
    month('2027-02', '0', '0', '0', '100', '900', r('0', '0', null), r('0', '0', null)),
    month('2027-03', '200', '300', '0', '0', '800', r('0', '300', '0.000000'), r('0', '300', '0.000000')),
  ],
};
const BOLT_Q1 = {
  __typename: 'KpiLiability',
  partnerId: 'BOLT',
  from: '2027-01',
  to: '2027-03',
  openingOutstanding: '0',
  months: [
    month('2027-01', '800', '300', '0', '0', '500', r('0', '300', '0.000000'), r('0', '300', '0.000000')),
    month('2027-02', '0', '60', '440', '0', '0', r('440', '500', '0.880000'), r('440', '800', '0.550000')),
    month('2027-03', '0', '0', '0', '0', '0', r('0', '0', null), r('440', '800', '0.550000')),
  ],
};
const COALITION_Q1 = {
  __typename: 'KpiLiability',
  partnerId: null,
  from: '2027-01',
  to: '2027-03',
  openingOutstanding: '0',
  months: [
    month('2027-01', '1800', '300', '0', '0', '1500', r('0', '300', '0.000000'), r('0', '300', '0.000000')),
    month('2027-02', '0', '60', '440', '100', '900', r('440', '500', '0.880000'), r('440', '800', '0.550000')),
    month('2027-03', '200', '300', '0', '0', '800', r('0', '300', '0.000000'), r('440', '1100', '0.400000')),
  ],
};

describe('the liability and breakage trend of a hand-computed ledger', () => {
  it('answers each partner’s and the coalition’s months', async () => {
    expect(await liability({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF })).toEqual(ACME_Q1);
    expect(await liability({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF })).toEqual(BOLT_Q1);
    expect(await liability({ scope: {}, period: Q1, asOf: AS_OF })).toEqual(COALITION_Q1);
  });

  it('moves outstanding by exactly what was issued and what left (a transfer is neither)', async () => {
    for (const trend of [ACME_Q1, BOLT_Q1, COALITION_Q1]) {
      let outstanding = BigInt(trend.openingOutstanding);
      for (const m of trend.months) {
        outstanding += BigInt(m.issued) - BigInt(m.redeemed) - BigInt(m.expired) - BigInt(m.reversed);
        expect({ month: m.month, outstanding: m.outstanding }).toEqual({ month: m.month, outstanding: outstanding.toString() });
      }
    }
  });

  it('equals what the finance reports answered at each month’s end', async () => {
    const coalition = await liability({ scope: {}, period: Q1, asOf: AS_OF });
    for (const partner of ['ACME', 'BOLT']) {
      const trend = await liability({ scope: { partnerId: partner }, period: Q1, asOf: AS_OF });
      for (const [index, m] of (['2027-01', '2027-02', '2027-03'] as const).entries()) {
        const finance = financeAt[m]!;
        const figures = trend.months[index];
        // liabilityByIssuer lists issuers with open lots: none means nothing outstanding.
        const points = finance.liabilityByIssuer.find((row) => row.issuerPartnerId === partner)?.points ?? '0';
        expect({ partner, month: m, outstanding: figures.outstanding }).toEqual({ partner, month: m, outstanding: points });
        // breakageToDate lists issuers with anything left their lots; its rate is 0 where the KPI has no value (0/0).
        const breakage = finance.breakageToDate.find((row) => row.issuerPartnerId === partner);
        expect({ partner, month: m, expired: figures.breakageToDate.numerator, rate: figures.breakageToDate.value ?? '0.000000' }).toEqual({
          partner,
          month: m,
          expired: breakage?.expiredPoints ?? '0',
          rate: breakage?.breakageRate ?? '0.000000',
        });
      }
    }
    // The coalition: every issuer's liability.
    for (const [index, m] of (['2027-01', '2027-02', '2027-03'] as const).entries()) {
      const total = financeAt[m]!.liabilityByIssuer.reduce((sum, row) => sum + BigInt(row.points), 0n);
      expect(coalition.months[index].outstanding).toBe(total.toString());
    }
    // The snapshots are not empty: BOLT's breakage and ACME's liability were there to compare.
    expect(financeAt['2027-02']!.breakageToDate).toContainEqual({
      issuerPartnerId: 'BOLT',
      expiredPoints: '440',
      breakageRate: '0.550000',
    });
    expect(financeAt['2027-03']!.liabilityByIssuer).toEqual([{ issuerPartnerId: 'ACME', points: '800' }]);
  });

  it('is reproducible: nothing recorded after asOf counts', async () => {
    // As of Feb 12: the refunds and ann's redemption at BOLT, not yet the expiry run of Feb 15.
    const early = await liability({ scope: {}, period: Q1, asOf: '2027-02-12T00:00:00.000Z' });
    expect(early).toEqual({
      ...COALITION_Q1,
      to: '2027-02',
      months: [
        COALITION_Q1.months[0],
        {
          ...month('2027-02', '0', '60', '0', '100', '1340', r('0', '60', '0.000000'), r('0', '360', '0.000000')),
          outstandingAt: '2027-02-12T00:00:00.000Z',
        },
      ],
    });
    await send(acme, 'issue', { member: 'cat', amount: '70' });
    expect(await liability({ scope: {}, period: Q1, asOf: AS_OF })).toEqual(COALITION_Q1);
    const now = await liability({ scope: {}, period: Q1 });
    expect(now.months[2]).toMatchObject({ issued: '270', outstanding: '870' });
  });

  it('starts a later period from what was outstanding before it', async () => {
    const march = await liability({ scope: { partnerId: 'ACME' }, period: { from: '2027-03', to: '2027-03' }, asOf: AS_OF });
    expect(march).toEqual({ ...ACME_Q1, from: '2027-03', openingOutstanding: '900', months: [ACME_Q1.months[2]] });
  });
});

describe('who may read the liability trend', () => {
  it('lets a partner read its own trend and the coalition’s, and refuses another partner’s', async () => {
    const token = await partnerToken(acme);
    expect(await liability({ scope: { partnerId: 'ACME' }, period: Q1, asOf: AS_OF }, token)).toEqual(ACME_Q1);
    expect(await liability({ scope: {}, period: Q1, asOf: AS_OF }, token)).toEqual(COALITION_Q1);
    expect(await liability({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, token)).toMatchObject({
      __typename: 'ScopeNotAllowed',
      errorCode: 'SCOPE_NOT_ALLOWED',
    });
    expect(await liability({ scope: { partnerId: 'BOLT' }, period: Q1, asOf: AS_OF }, await hub.operatorToken())).toEqual(BOLT_Q1);
  });

  it('gives members nothing', async () => {
    const member = await hub.graphql(LIABILITY, { scope: {}, period: Q1 }, await hub.memberToken(bolt, 'ben'));
    expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers bad input with typed results', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scope: {}, period: { from: '2025-01', to: '2027-03' } }, 'InvalidInput'], // 27 months
      [{ scope: {}, period: { from: '2027-03', to: '2027-01' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '2027-01', to: '2027-3' } }, 'InvalidInput'],
      [{ scope: {}, period: { from: '1969-12', to: '1970-01' } }, 'InvalidInput'],
      [{ scope: {}, period: Q1, asOf: '2030-01-01T00:00:00Z' }, 'InvalidInput'], // in the future
      [{ scope: {}, period: { from: '2027-06', to: '2027-06' }, asOf: AS_OF }, 'InvalidInput'], // after asOf
      [{ scope: { partnerId: 'NOPE' }, period: Q1 }, 'UnknownPartner'],
    ];
    for (const [variables, typename] of cases) expect(await liability(variables)).toMatchObject({ __typename: typename });
  });
});
