import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * What a refusal says (docs/errors.md): a role refused a mutation is told it may not perform
 * it, a balance refusal names what it counts, and the query-cost refusal reads the same whether
 * the page size is written, passed as a variable or left to its default. The natural finance
 * query (a period's statements as CSV, no page size) runs; an oversized page is still refused.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const COST_REFUSAL = /^Query cost \d+ exceeds the limit of 1000 \(page sizes included\); ask for fewer or smaller pages$/;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  await hub.graphql('mutation { setPartnerUnit(partnerId: "ACME", code: "STARS") { __typename } }', {}, await hub.operatorToken());
  const rate = await hub.graphql(
    'mutation { setExchangeRate(partnerId: "ACME", cpPerPoint: "0.5") { __typename } }',
    {},
    await hub.operatorToken(),
  );
  expect(rate.data?.setExchangeRate.__typename).toBe('ExchangeRate');
  for (const partner of [acme, bolt]) {
    const enrolled = await partner.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
    if (!enrolled.ok) throw new Error('fixture set-up failed');
  }
});

afterAll(() => hub.stop());

describe('a role refusal', () => {
  it('on a mutation says the role may not perform that mutation', async () => {
    const token = await hub.operatorToken('finance');
    const response = await expectNothingWritten(hub, () =>
      hub.graphql('mutation { registerPartner(input: { id: "ZED", name: "Zed", publicJwks: [] }) { __typename } }', {}, token),
    );
    expect(response.errors).toEqual([
      expect.objectContaining({ message: 'a finance token may not perform registerPartner', extensions: { code: 'FORBIDDEN' } }),
    ]);
  });

  it('on a query field names the field it may not read', async () => {
    const response = await hub.graphql('{ ledgerIntegrity { ok } }', {}, await acme.client.accessToken());
    expect(response.errors?.[0]).toMatchObject({
      message: 'a partner token may not read Query.ledgerIntegrity',
      extensions: { code: 'FORBIDDEN' },
    });
  });
});

describe('a balance refusal', () => {
  it('of an exchange from a partner unit names the unit, not CP', async () => {
    const token = await hub.memberToken(acme, 'ann');
    const quote = await hub.graphql(
      'query { quoteExchange(from: "ACME.STARS", to: "CP", amount: "10") { __typename ... on ExchangeQuote { quote } } }',
      {},
      token,
    );
    expect(quote.data?.quoteExchange.__typename).toBe('ExchangeQuote');
    const refused = await expectNothingWritten(hub, () =>
      hub.graphql(
        'mutation($q: String!) { exchangePoints(quote: $q) { __typename ... on InsufficientBalance { message available requested asset } } }',
        { q: quote.data?.quoteExchange.quote },
        token,
      ),
    );
    expect(refused.data?.exchangePoints).toEqual({
      __typename: 'InsufficientBalance',
      message: 'the member can spend 0 ACME.STARS, 10 were asked',
      available: '0',
      requested: '10',
      asset: 'ACME.STARS',
    });
  });

  it('of a redemption of partner units names the unit', async () => {
    expect(await acme.client.issuePoints({ member: 'ann', amount: '4', asset: 'ACME.STARS' })).toMatchObject({ ok: true });
    const over = await expectNothingWritten(hub, () => acme.client.redeemPoints({ member: 'ann', amount: '5', asset: 'ACME.STARS' }));
    expect(over).toMatchObject({ ok: false, typename: 'InsufficientBalance', message: 'the member can spend 4 ACME.STARS, 5 were asked' });
  });

  it('of a CP redemption still says CP', async () => {
    const over = await expectNothingWritten(hub, () => acme.client.redeemPoints({ member: 'ann', amount: '1' }));
    expect(over).toMatchObject({ ok: false, typename: 'InsufficientBalance', message: 'the member can spend 0 CP, 1 were asked' });
  });
});

describe('the query cost limit', () => {
  const STATEMENTS_CSV = 'query($period: ID) { statements(periodId: $period) { edges { node { partnerId document(format: CSV) } } } }';
  let periodId: string;

  beforeAll(async () => {
    periodId = (await hub.asStaff('{ currentSettlementPeriod { id } }')).currentSettlementPeriod.id;
    expect(await acme.client.issuePoints({ member: 'ann', amount: '100' })).toMatchObject({ ok: true });
    expect(await bolt.client.redeemPoints({ member: 'ann', amount: '60' })).toMatchObject({ ok: true });
    const closed = await hub.asStaff('mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }', { id: periodId });
    expect(closed.closeSettlementPeriod.__typename).toBe('SettlementPeriod');
  });

  it("runs the natural finance query: a period's statements as CSV, without a page size", async () => {
    const response = await hub.graphql(STATEMENTS_CSV, { period: periodId }, await hub.operatorToken('finance'));
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    const statements = response.data?.statements.edges.map((edge: any) => edge.node);
    expect(statements.map((statement: any) => statement.partnerId).sort()).toEqual(['ACME', 'BOLT']);
    for (const statement of statements) expect(statement.document.length).toBeGreaterThan(0);
  });

  it('refuses a page of 100 whole statements with one message, whether the size is written or a variable', async () => {
    const token = await hub.operatorToken('finance');
    const written = await hub.graphql('{ statements(first: 100) { edges { node { document(format: CSV) } } } }', {}, token);
    const variable = await hub.graphql(
      'query($n: Int!) { statements(first: $n) { edges { node { document(format: CSV) } } } }',
      { n: 100 },
      token,
    );
    for (const response of [written, variable]) {
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors).toHaveLength(1);
      expect(response.errors?.[0]?.message).toMatch(COST_REFUSAL);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_COST', limit: 1000 });
    }
  });

  it('counts default page sizes: nested default pages that multiply past the limit are refused with the same message', async () => {
    // 20 members × 20 history entries each: both page sizes are defaults.
    const response = await hub.graphql(
      '{ members { edges { node { history { edges { node { id } } } } } } }',
      {},
      await hub.operatorToken('finance'),
    );
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.message).toMatch(COST_REFUSAL);
    expect(response.errors?.[0]?.message).not.toMatch(/Syntax Error/);
  });
});

describe('the other query limits', () => {
  it('read as limits, not as syntax errors', async () => {
    const deep = await hub.graphql(
      '{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }',
    );
    expect(deep.errors?.[0]?.message).toBe('Query depth limit of 8 exceeded, found 10.');
    const aliases = await hub.graphql(`{ ${Array.from({ length: 16 }, (_, index) => `a${index}: partner(id: "ACME") { id }`).join(' ')} }`);
    expect(aliases.errors?.[0]?.message).toBe('Aliases limit of 15 exceeded, found 16.');
    for (const response of [deep, aliases])
      expect({ status: response.status, code: response.errors?.[0]?.extensions?.code }).toEqual({
        status: 400,
        code: 'GRAPHQL_VALIDATION_FAILED',
      });
  });
});
