import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * Partner funding and limits: a prepaid partner issues only against money paid
 * in advance; a post-paid partner with a net debit cap only up to the cap of unsettled issue
 * money. Both are enforced in the issuing transaction, under a lock on the partner's funding
 * row: racing issues can never overdraw it together. Prepaid issues are not settled twice.
 */
let hub: TestHub;
let pre: TestPartner;
let capped: TestPartner;
let free: TestPartner;

const FUNDING =
  'query($id: ID!) { partner(id: $id) { funding { fundingMode currency prepaidBalanceMinor unsettledMinor netDebitCapMinor headroomMinor } } }';
const RECORD = `mutation($id: ID!, $amount: Amount!, $ref: String!) { recordPartnerFunding(partnerId: $id, amountMinor: $amount, reference: $ref) {
  __typename ... on ErrorResult { errorCode message } ... on FundingRecorded { amountMinor status { prepaidBalanceMinor unsettledMinor headroomMinor } } } }`;

const funding = async (id: string) => (await hub.asStaff(FUNDING, { id })).partner.funding;

beforeAll(async () => {
  hub = await TestHub.start();
  pre = await hub.registerPartner('PREPAID');
  capped = await hub.registerPartner('CAPPED');
  free = await hub.registerPartner('FREE');
  const terms: Array<[string, Record<string, unknown>]> = [
    ['PREPAID', { issuePrice: '1.25', fundingMode: 'prepaid' }],
    ['CAPPED', { issuePrice: '1', netDebitCapMinor: '50' }],
  ];
  for (const [id, input] of terms) {
    const set = await hub.graphql(
      'mutation($id: ID!, $input: ContractInput!) { setPartnerContract(partnerId: $id, input: $input) { __typename ... on PartnerContract { fundingMode netDebitCapMinor } } }',
      { id, input },
      await hub.operatorToken(),
    );
    expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  }
  for (const partner of [pre, capped, free]) await partner.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
});

afterAll(() => hub.stop());

describe('prepaid', () => {
  it('refuses an issue beyond the prepaid balance with FundingLimitExceeded, writing nothing', async () => {
    expect(await funding('PREPAID')).toEqual({
      fundingMode: 'prepaid',
      currency: 'EUR',
      prepaidBalanceMinor: '0',
      unsettledMinor: '0',
      netDebitCapMinor: null,
      headroomMinor: '0',
    });
    const refused = await expectNothingWritten(hub, () => pre.client.issuePoints({ member: 'ann', amount: '10' }));
    // 10 × 1.25 = 12.5, half to even: 12.
    expect(refused).toMatchObject({ ok: false, typename: 'FundingLimitExceeded', errorCode: 'FUNDING_LIMIT_EXCEEDED' });
    const raw = await hub.graphql(
      `mutation($i: String!) { issuePoints(instruction: $i) { __typename ... on FundingLimitExceeded { headroomMinor requiredMinor } } }`,
      { i: await signedIssue(pre, '10') },
    );
    expect(raw.data?.issuePoints).toEqual({ __typename: 'FundingLimitExceeded', headroomMinor: '0', requiredMinor: '12' });
  });

  it('a top-up lets it issue; twenty racing issues of 10 minor each against 100 minor: exactly ten win', async () => {
    expect((await hub.asStaff(RECORD, { id: 'PREPAID', amount: '100', ref: 'wire 2026-11-23 #1' })).recordPartnerFunding).toEqual({
      __typename: 'FundingRecorded',
      amountMinor: '100',
      status: { prepaidBalanceMinor: '100', unsettledMinor: '0', headroomMinor: '100' },
    });
    // 8 CP × 1.25 = 10 minor each.
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => pre.client.issuePoints({ member: 'ann', amount: '8' })));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(10);
    expect(
      outcomes.filter((outcome) => !outcome.ok).every((outcome) => !outcome.ok && outcome.errorCode === 'FUNDING_LIMIT_EXCEEDED'),
    ).toBe(true);
    expect(await funding('PREPAID')).toMatchObject({ prepaidBalanceMinor: '0', headroomMinor: '0' });
  });

  it('the database itself refuses a prepaid balance below zero (even to its owner)', async () => {
    await expect(
      hub.ownerQuery(
        `UPDATE account_balance SET balance = -1 WHERE account_id = (SELECT id FROM account WHERE owner_id = 'PREPAID' AND kind = 'prefunding')`,
      ),
    ).rejects.toThrow(/account_balance_check/);
  });
});

describe('post-paid with a net debit cap', () => {
  it('issues up to the cap of unsettled issue money; a payment frees it again', async () => {
    expect(await capped.client.issuePoints({ member: 'ann', amount: '30' })).toMatchObject({ ok: true });
    expect(await capped.client.issuePoints({ member: 'ann', amount: '30' })).toMatchObject({
      ok: false,
      errorCode: 'FUNDING_LIMIT_EXCEEDED',
    });
    expect(await funding('CAPPED')).toMatchObject({
      fundingMode: 'postpaid',
      unsettledMinor: '30',
      netDebitCapMinor: '50',
      headroomMinor: '20',
    });
    expect(await capped.client.issuePoints({ member: 'ann', amount: '20' })).toMatchObject({ ok: true });
    expect((await hub.asStaff(RECORD, { id: 'CAPPED', amount: '30', ref: 'settlement payment' })).recordPartnerFunding.status).toEqual({
      prepaidBalanceMinor: '0',
      unsettledMinor: '20',
      headroomMinor: '30',
    });
    expect(await capped.client.issuePoints({ member: 'ann', amount: '30' })).toMatchObject({ ok: true });
  });

  it('a partner without limits takes no funding lock and has no funding accounts', async () => {
    expect(await free.client.issuePoints({ member: 'ann', amount: '1000000' })).toMatchObject({ ok: true });
    expect(await funding('FREE')).toMatchObject({ fundingMode: 'postpaid', netDebitCapMinor: null, headroomMinor: null });
    const [{ count }] = await hub.hub.dataSource.query(
      `SELECT count(*)::int AS count FROM account WHERE owner_id = 'FREE' AND kind IN ('prefunding', 'exposure')`,
    );
    expect(count).toBe(0);
  });
});

describe('funding and settlement', () => {
  it("settles a prepaid partner's issues once: its position nets the prefunded money out, and the period reconciles", async () => {
    // Ann spends 40 at CAPPED: its net position for the period will be 80 issued − 40 redeemed.
    expect(await capped.client.redeemPoints({ member: 'ann', amount: '40' })).toMatchObject({ ok: true });
    const { currentSettlementPeriod } = await hub.asStaff('{ currentSettlementPeriod { id } }');
    const closed = (
      await hub.asStaff(
        `mutation($id: ID!) { closeSettlementPeriod(id: $id) { ... on SettlementPeriod { summary { prefundedMinor revenueMinor liabilityChangeMinor }
          positions(first: 5) { edges { node { partnerId netMinor issued { points moneyMinor } prefunded { lines moneyMinor } } } } } } }`,
        { id: currentSettlementPeriod.id },
      )
    ).closeSettlementPeriod;
    const positions = Object.fromEntries(closed.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));
    expect(positions.PREPAID).toEqual({
      partnerId: 'PREPAID',
      netMinor: '0',
      issued: { points: '80', moneyMinor: '100' },
      prefunded: { lines: 10, moneyMinor: '-100' },
    });
    expect(positions.CAPPED).toMatchObject({ netMinor: '40', prefunded: { lines: 0, moneyMinor: '0' } });
    // Once closed, CAPPED's unsettled amount is that net position, less the 30 it paid: 10 of its 50 cap.
    expect(await funding('CAPPED')).toMatchObject({ unsettledMinor: '10', headroomMinor: '40' });
    expect(closed.summary.prefundedMinor).toBe('100');
    const { reconciliation } = await hub.asStaff('query($id: ID!) { reconciliation(periodId: $id) { ok differences } }', {
      id: currentSettlementPeriod.id,
    });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
  });

  it('only finance and operators record funding; a partner reads its own standing', async () => {
    const token = await pre.client.accessToken();
    const record = await hub.graphql(RECORD, { id: 'PREPAID', amount: '1000000', ref: 'self-service' }, token);
    expect(record.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await hub.graphql(FUNDING, { id: 'PREPAID' }, token);
    expect(own.data?.partner.funding).toMatchObject({ fundingMode: 'prepaid', prepaidBalanceMinor: '0' });
    expect((await hub.asStaff(RECORD, { id: 'PREPAID', amount: '0', ref: 'x' })).recordPartnerFunding.errorCode).toBe('INVALID_INPUT');
    expect((await hub.asStaff(RECORD, { id: 'NOBODY', amount: '5', ref: 'x' })).recordPartnerFunding.errorCode).toBe('NOT_FOUND');
  });
});

async function signedIssue(partner: TestPartner, amount: string): Promise<string> {
  return (await signInstruction({ partnerId: partner.id, hubId: HUB_ID, key: partner.key, op: 'issue', fields: { member: 'ann', amount } }))
    .jws;
}

describe("exchanging a prepaid partner's unit into CP", () => {
  it('is refused with FundingLimitExceeded when the partner has not paid for the CP, writing nothing', async () => {
    const unit = await hub.registerPartner('PREUNIT');
    const operator = await hub.operatorToken();
    const set = await hub.graphql(
      'mutation($input: ContractInput!) { setPartnerContract(partnerId: "PREUNIT", input: $input) { __typename } }',
      { input: { issuePrice: '1', fundingMode: 'prepaid' } },
      operator,
    );
    expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
    await hub.graphql('mutation { setPartnerUnit(partnerId: "PREUNIT", code: "STARS") { __typename } }', {}, operator);
    await hub.graphql('mutation { setExchangeRate(partnerId: "PREUNIT", cpPerPoint: "1") { __typename } }', {}, operator);
    await unit.client.enrollMember({ member: 'uma' });
    expect(await unit.client.issuePoints({ member: 'uma', amount: '10', asset: 'PREUNIT.STARS' })).toMatchObject({ ok: true });

    const token = await hub.memberToken(unit, 'uma');
    const quoted = await hub.graphql(
      'query { quoteExchange(from: "PREUNIT.STARS", to: "CP", amount: "10") { __typename ... on ExchangeQuote { quote } } }',
      {},
      token,
    );
    expect(quoted.data?.quoteExchange.__typename).toBe('ExchangeQuote');
    const refused = await expectNothingWritten(hub, () =>
      hub.graphql(
        `mutation($q: String!) { exchangePoints(quote: $q) { __typename ... on FundingLimitExceeded { errorCode headroomMinor requiredMinor } } }`,
        { q: quoted.data?.quoteExchange.quote },
        token,
      ),
    );
    expect(refused.errors).toBeUndefined();
    expect(refused.data?.exchangePoints).toEqual({
      __typename: 'FundingLimitExceeded',
      errorCode: 'FUNDING_LIMIT_EXCEEDED',
      headroomMinor: '0',
      requiredMinor: '10',
    });
  });
});
