import { hashEmail, signAccessToken, signInstruction, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { sendInstruction, type InstructionResult } from './support/instructions';

/**
 * Worked example 2 of docs/settlement.md: a second worked example, with four partners, an exchange
 * each way, refunds of an issue and of a redemption, and an expiry with a breakage share, worked
 * out by hand below and asserted exactly.
 *
 * Contracts (money per CP in euro cents): ALFA issues at 1.0, redeems at 0.8, lots live 1 month,
 * its breakage share is 0.5; BRAVO 1.2 / 0.9; CHARLIE 1.0 / 1.0; DELTA 0.5 / 0.45 and has its own
 * unit DELTA.MILES at 2 CP a mile.
 *
 *  1. ALFA issues 1,000 to m1                  lot LA1 (1 month)            ALFA    +1,000
 *  2. BRAVO issues 500 to m1                   lot LB (24 months)           BRAVO     +600
 *  3. BRAVO refunds 100 of (2)                 LB 400; funded 120 back      BRAVO     −120
 *  4. m1 redeems 1,100 at CHARLIE              LA1 1,000 + LB 100           CHARLIE −1,100
 *       funded: LA1 1,000 → 1,000; LB cumulative 100 → 200: 240 − 120 = 120
 *  5. CHARLIE refunds 50 of (4)                LB gets 50 back (latest expiring first)
 *       cumulative refund 50 × 1.0                                           CHARLIE    +50
 *       funded back: LB cumulative 200 → 150: 180 − 240 = −60
 *  6. m1 exchanges 300 CP → 150 DELTA.MILES    LB 350 → 50                   DELTA     −135
 *       funded: LB cumulative 150 → 450: 540 − 180 = 360
 *  7. ALFA issues 200 to m2                    lot LA2 (1 month)            ALFA      +200
 *  8. 40 days later the expiry job takes LA2   funded 200, ALFA's half      ALFA      −100
 *  9. DELTA issues 100 DELTA.MILES to m2       (its own unit: no settlement effect)
 * 10. m2 exchanges 100 miles → 200 CP          lot LD, funded 200 × 0.5     DELTA     +100
 * 11. m2 redeems 200 at ALFA                   LD 200, funded 100           ALFA      −160
 *
 * Net positions: ALFA 1,000 + 200 − 100 − 160 = 940; BRAVO 600 − 120 = 480; CHARLIE −1,100 + 50 =
 * −1,050; DELTA −135 + 100 = −35. Σ = 335.
 * Funded created 1,000 + 600 + 200 + 100 = 1,900; released: consumed 1,000 + 120 − 60 + 360 + 100
 * = 1,520, expired 200, refunded 120 → 1,840; liability change +60 (LB's 50 left at 1.2).
 * Spread 1,520 − (1,100 − 50 + 135 + 160) = 175; breakage kept 200 − 100 = 100; revenue 275.
 * Check: 335 = 275 + 60.
 * Obligations: ALFA→CHARLIE 1,000 (1,000); BRAVO→CHARLIE 50 (60); BRAVO→DELTA 300 (360);
 * DELTA→ALFA 200 (100).
 * Netting (largest debtor pays largest creditor): ALFA→CHARLIE 940; BRAVO→HUB 335; BRAVO→CHARLIE
 * 110; BRAVO→DELTA 35 — four transfers for five participants. Gross: every kind of line paid on
 * its own, 1,460 + 720 + 1,150 + 235 = 3,565; net 1,420.
 */
let hub: TestHub;
const partners: Record<string, TestPartner> = {};

const RESULT = '__typename ... on ErrorResult { errorCode message }';
const FIGURE = 'lines points moneyMinor';
const CLOSE = `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { ${RESULT} ... on SettlementPeriod { id status } } }`;
const PERIOD = `query($id: ID!) { settlementPeriod(id: $id) { id status
  summary { spreadMinor breakageKeptMinor revenueMinor fundedCreatedMinor fundedReleasedMinor liabilityChangeMinor grossMinor netMinor }
  positions(first: 5) { edges { node { partnerId netMinor issued { ${FIGURE} } exchangedIn { ${FIGURE} } redeemed { ${FIGURE} } exchangedOut { ${FIGURE} }
    issueReversals { ${FIGURE} } redeemReversals { ${FIGURE} } breakage { ${FIGURE} } } } }
  obligations(first: 20) { edges { node { issuer consumer points fundedMinor } } }
  transfers(first: 20) { edges { node { payer payee amountMinor } } } } }`;

const operator = (query: string, variables: Record<string, unknown> = {}, scope: 'operator' | 'finance' = 'operator') =>
  hub.asStaff(query, variables, scope);

/** Signed on the hub's clock (it moves 40 days in this test). */
async function send(partnerId: string, op: Op, fields: Record<string, unknown>): Promise<InstructionResult> {
  const partner = partners[partnerId]!;
  const signed = await signInstruction({ partnerId, hubId: HUB_ID, key: partner.key, op, now: hub.clock.now(), fields: fields as never });
  const result = await sendInstruction(hub, op, signed.jws);
  if ('errorCode' in result) throw new Error(`${op} at ${partnerId}: ${JSON.stringify(result)}`);
  return result;
}

async function exchange(memberRef: string, from: string, to: string, amount: string) {
  const token = await hub.memberToken(partners.DELTA!, memberRef);
  const quote = await hub.graphql(
    `query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) { ${RESULT} ... on ExchangeQuote { quote amountIn amountOut } } }`,
    { from, to, amount },
    token,
  );
  const signed = quote.data?.quoteExchange;
  expect(signed.__typename).toBe('ExchangeQuote');
  const executed = await hub.graphql(
    `mutation($quote: String!) { exchangePoints(quote: $quote) { ${RESULT} ... on ExchangeReceipt { amountIn amountOut } } }`,
    { quote: signed.quote },
    token,
  );
  return executed.data?.exchangePoints;
}

let period: any;
let m1Id: string;
let afterStepTwo: Date;

beforeAll(async () => {
  hub = await TestHub.start();
  const terms: Record<string, Record<string, unknown>> = {
    ALFA: { issuePrice: '1.0', redeemPrice: '0.8', lotLifetimeMonths: 1, breakageShare: '0.5' },
    BRAVO: { issuePrice: '1.2', redeemPrice: '0.9' },
    CHARLIE: { issuePrice: '1.0', redeemPrice: '1.0' },
    DELTA: { issuePrice: '0.5', redeemPrice: '0.45' },
  };
  for (const [id, input] of Object.entries(terms)) {
    partners[id] = await hub.registerPartner(id);
    await operator(`mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { ${RESULT} } }`, {
      id,
      input,
    });
  }
  await operator('mutation { setPartnerUnit(partnerId: "DELTA", code: "MILES") { __typename } }');
  await operator('mutation { setExchangeRate(partnerId: "DELTA", cpPerPoint: "2") { __typename } }');
  for (const ref of ['m1', 'm2']) {
    for (const id of Object.keys(partners)) {
      const enrolled = await send(id, 'enroll', { member: ref, emailHash: hashEmail(`${ref}@example.com`) });
      if (ref === 'm1') m1Id = enrolled.memberId;
    }
  }
  const { currentSettlementPeriod } = await operator('{ currentSettlementPeriod { id } }', {}, 'finance');

  const issue2 = await (async () => {
    await send('ALFA', 'issue', { member: 'm1', amount: '1000' }); // 1
    hub.clock.advance(1000);
    const issued = await send('BRAVO', 'issue', { member: 'm1', amount: '500' }); // 2
    afterStepTwo = hub.clock.now();
    hub.clock.advance(1000);
    return issued;
  })();
  await send('BRAVO', 'reverse', { entry: issue2.entryId, amount: '100' }); // 3
  const redemption = await send('CHARLIE', 'redeem', { member: 'm1', amount: '1100' }); // 4
  await send('CHARLIE', 'reverse', { entry: redemption.entryId, amount: '50' }); // 5
  expect(await exchange('m1', 'CP', 'DELTA.MILES', '300')).toMatchObject({
    __typename: 'ExchangeReceipt',
    amountIn: '300',
    amountOut: '150',
  }); // 6
  await send('ALFA', 'issue', { member: 'm2', amount: '200' }); // 7
  hub.clock.advance(40 * 86_400_000);
  expect((await operator('mutation { runExpiry { lotsExpired pointsExpired } }')).runExpiry).toEqual({
    lotsExpired: 1,
    pointsExpired: '200',
  }); // 8
  await send('DELTA', 'issue', { member: 'm2', amount: '100', asset: 'DELTA.MILES' }); // 9
  expect(await exchange('m2', 'DELTA.MILES', 'CP', '100')).toMatchObject({
    __typename: 'ExchangeReceipt',
    amountIn: '100',
    amountOut: '200',
  }); // 10
  await send('ALFA', 'redeem', { member: 'm2', amount: '200' }); // 11

  expect((await operator(CLOSE, { id: currentSettlementPeriod.id }, 'finance')).result).toMatchObject({ status: 'closed' });
  period = (await operator(PERIOD, { id: currentSettlementPeriod.id }, 'finance')).settlementPeriod;
});

afterAll(() => hub.stop());

const figure = (lines: number, points: string, moneyMinor: string) => ({ lines, points, moneyMinor });
const none = figure(0, '0', '0');

it('gives every partner its position, line kind by line kind', () => {
  const positions = Object.fromEntries(period.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));
  expect(positions).toEqual({
    ALFA: {
      partnerId: 'ALFA',
      netMinor: '940',
      issued: figure(2, '1200', '1200'),
      exchangedIn: none,
      redeemed: figure(1, '200', '-160'),
      exchangedOut: none,
      issueReversals: none,
      redeemReversals: none,
      breakage: figure(1, '200', '-100'),
    },
    BRAVO: {
      partnerId: 'BRAVO',
      netMinor: '480',
      issued: figure(1, '500', '600'),
      exchangedIn: none,
      redeemed: none,
      exchangedOut: none,
      issueReversals: figure(1, '100', '-120'),
      redeemReversals: none,
      breakage: none,
    },
    CHARLIE: {
      partnerId: 'CHARLIE',
      netMinor: '-1050',
      issued: none,
      exchangedIn: none,
      redeemed: figure(1, '1100', '-1100'),
      exchangedOut: none,
      issueReversals: none,
      redeemReversals: figure(1, '50', '50'),
      breakage: none,
    },
    DELTA: {
      partnerId: 'DELTA',
      netMinor: '-35',
      issued: none,
      exchangedIn: figure(1, '200', '100'),
      redeemed: none,
      exchangedOut: figure(1, '300', '-135'),
      issueReversals: none,
      redeemReversals: none,
      breakage: none,
    },
  });
});

it('builds the obligation matrix from lot consumption, net of the refunded redemption', () => {
  expect(period.obligations.edges.map((edge: any) => edge.node)).toEqual([
    { issuer: 'ALFA', consumer: 'CHARLIE', points: '1000', fundedMinor: '1000' },
    { issuer: 'BRAVO', consumer: 'CHARLIE', points: '50', fundedMinor: '60' },
    { issuer: 'BRAVO', consumer: 'DELTA', points: '300', fundedMinor: '360' },
    { issuer: 'DELTA', consumer: 'ALFA', points: '200', fundedMinor: '100' },
  ]);
});

it('splits the hub side into revenue and liability change: 335 = 275 + 60', () => {
  expect(period.summary).toEqual({
    spreadMinor: '175',
    breakageKeptMinor: '100',
    revenueMinor: '275',
    fundedCreatedMinor: '1900',
    fundedReleasedMinor: '1840',
    liabilityChangeMinor: '60',
    grossMinor: '3565',
    netMinor: '1420',
  });
});

it('nets five participants into four transfers', () => {
  expect(period.transfers.edges.map((edge: any) => edge.node)).toEqual([
    { payer: 'ALFA', payee: 'CHARLIE', amountMinor: '940' },
    { payer: 'BRAVO', payee: 'HUB', amountMinor: '335' },
    { payer: 'BRAVO', payee: 'CHARLIE', amountMinor: '110' },
    { payer: 'BRAVO', payee: 'DELTA', amountMinor: '35' },
  ]);
});

it('reconciles with no difference', async () => {
  const { reconciliation } = await operator(
    `query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`,
    { id: period.id },
    'finance',
  );
  expect(reconciliation).toEqual({ ok: true, differences: [] });
});

describe('liability, breakage and balances as of a moment', () => {
  it('values outstanding CP by issuer at what each issuer paid in: BRAVO’s 50 left at 1.2', async () => {
    const { liabilityByIssuer } = await operator(
      '{ liabilityByIssuer { issuerPartnerId points pendingPoints expiredUnsweptPoints fundedMinor } }',
      {},
      'finance',
    );
    expect(liabilityByIssuer).toEqual([
      { issuerPartnerId: 'BRAVO', points: '50', pendingPoints: '0', expiredUnsweptPoints: '0', fundedMinor: '60' },
    ]);
    // The same figure the close computed as the period's liability change (the coalition started empty).
    expect(liabilityByIssuer[0].fundedMinor).toBe(period.summary.liabilityChangeMinor);
  });

  it('buckets it by expiry month', async () => {
    const [{ month }] = await hub.hub.dataSource.query(
      `SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM lot WHERE issuer_partner_id = 'BRAVO' AND remaining > 0`,
    );
    const { liabilityByExpiryMonth } = await operator(
      '{ liabilityByExpiryMonth(first: 10) { edges { node { month issuerPartnerId points fundedMinor projectedBreakagePoints } } } }',
      {},
      'finance',
    );
    expect(liabilityByExpiryMonth.edges.map((edge: any) => edge.node)).toEqual([
      { month, issuerPartnerId: 'BRAVO', points: '50', fundedMinor: '60', projectedBreakagePoints: '0' },
    ]);
  });

  it('reports breakage so far: ALFA 200 expired of 1,200 gone, its share 100 paid', async () => {
    const { breakageToDate } = await operator(
      '{ breakageToDate { issuerPartnerId expiredPoints sharePaidMinor breakageRate } }',
      {},
      'finance',
    );
    expect(breakageToDate).toEqual([
      { issuerPartnerId: 'ALFA', expiredPoints: '200', sharePaidMinor: '100', breakageRate: '0.166667' },
      { issuerPartnerId: 'BRAVO', expiredPoints: '0', sharePaidMinor: '0', breakageRate: '0.000000' },
      { issuerPartnerId: 'DELTA', expiredPoints: '0', sharePaidMinor: '0', breakageRate: '0.000000' },
    ]);
  });

  it("recomputes a member's balances as they stood at any moment", async () => {
    const AS_OF = 'query($at: DateTimeISO!, $member: ID) { balancesAsOf(at: $at, memberId: $member) { asset kind balance } }';
    const then = (await operator(AS_OF, { at: afterStepTwo.toISOString(), member: m1Id }, 'finance')).balancesAsOf;
    expect(then).toEqual([
      { asset: 'CP', kind: 'wallet', balance: '1500' },
      { asset: 'DELTA.MILES', kind: 'wallet', balance: '0' },
    ]);
    const now = (await operator(AS_OF, { at: hub.clock.now().toISOString(), member: m1Id }, 'finance')).balancesAsOf;
    expect(now).toEqual([
      { asset: 'CP', kind: 'wallet', balance: '50' },
      { asset: 'DELTA.MILES', kind: 'wallet', balance: '150' },
    ]);
    const partner = await hub.graphql(
      AS_OF,
      { at: hub.clock.now().toISOString(), member: m1Id },
      await signAccessToken({
        issuer: 'ALFA',
        subject: 'ALFA',
        scope: 'partner',
        audience: HUB_ID,
        key: partners.ALFA!.key,
        now: hub.clock.now(),
      }),
    );
    expect(partner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
