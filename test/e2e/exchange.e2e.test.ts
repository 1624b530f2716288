import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * Exchange between partner programs and CP, quotes and the combined balance,
 * with awkward rates: ACME.STARS at 0.333333333333 CP, BOLT.MILES at 2.333333333333 CP (7/3).
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const QUOTE = `query($from: String!, $to: String!, $amount: Amount!) { quoteExchange(from: $from, to: $to, amount: $amount) {
  __typename ... on ExchangeQuote { quote quoteId amountRequested amountIn cpAmount amountOut rateFrom rateTo rounding residualCp expiresAt }
  ... on ErrorResult { errorCode message } } }`;
const EXCHANGE = `mutation($quote: String!) { exchangePoints(quote: $quote) {
  __typename ... on ExchangeReceipt { quoteId entryId amountIn amountOut cpAmount residualCp fromBalance toBalance replayed }
  ... on ErrorResult { errorCode message } } }`;

/** A member token signed by `via` (default ACME): it may exchange into or out of that partner's unit. */
async function asMember(ref: string, query: string, variables: Record<string, unknown> = {}, via?: TestPartner) {
  return hub.graphql(query, variables, await hub.memberToken(via ?? acme, ref));
}

async function quote(ref: string, from: string, to: string, amount: string, via?: TestPartner) {
  return (await asMember(ref, QUOTE, { from, to, amount }, via)).data?.quoteExchange;
}

async function exchange(ref: string, signedQuote: string, via?: TestPartner) {
  return (await asMember(ref, EXCHANGE, { quote: signedQuote }, via)).data?.exchangePoints;
}

async function balances(ref: string): Promise<Record<string, string>> {
  const me = await asMember(ref, '{ me { combinedBalance { assets { asset amount } } } }');
  return Object.fromEntries(me.data?.me.combinedBalance.assets.map((row: any) => [row.asset, row.amount]));
}

async function member(ref: string): Promise<void> {
  for (const partner of [acme, bolt]) await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  const token = await hub.operatorToken();
  for (const [partner, code, rate] of [
    ['ACME', 'STARS', '0.333333333333'],
    ['BOLT', 'MILES', '2.333333333333'],
  ]) {
    await hub.graphql(`mutation { setPartnerUnit(partnerId: "${partner}", code: "${code}") { __typename } }`, {}, token);
    const set = await hub.graphql(`mutation { setExchangeRate(partnerId: "${partner}", cpPerPoint: "${rate}") { __typename } }`, {}, token);
    expect(set.data?.setExchangeRate.__typename).toBe('ExchangeRate');
  }
});

afterAll(() => hub.stop());

describe("a partner's own unit at the hub", () => {
  it('is issued and redeemed by its partner only, without lots', async () => {
    await member('ann');
    expect(await acme.client.issuePoints({ member: 'ann', amount: '10', asset: 'ACME.STARS' })).toMatchObject({
      ok: true,
      data: { amount: '10', balance: '10', asset: 'ACME.STARS' },
    });
    const foreign = await expectNothingWritten(hub, () => bolt.client.issuePoints({ member: 'ann', amount: '10', asset: 'ACME.STARS' }));
    expect(foreign).toMatchObject({ ok: false, typename: 'UnknownAsset' });
    const over = await expectNothingWritten(hub, () => acme.client.redeemPoints({ member: 'ann', amount: '11', asset: 'ACME.STARS' }));
    expect(over).toMatchObject({ ok: false, typename: 'InsufficientBalance' });
    expect(await balances('ann')).toEqual({ CP: '0', 'ACME.STARS': '10' });
  });

  it('is redeemed with a receipt that consumed no lots', async () => {
    await member('abe');
    await acme.client.issuePoints({ member: 'abe', amount: '10', asset: 'ACME.STARS' });
    const redeemed = await acme.client.redeemPoints({ member: 'abe', amount: '4', asset: 'ACME.STARS' });
    expect(redeemed).toMatchObject({ ok: true, data: { amount: '4', balance: '6', asset: 'ACME.STARS', consumed: [] } });
    if (!redeemed.ok) throw new Error('redeem refused');
    expect(redeemed.receipt).toMatchObject({ asset: 'ACME.STARS', consumed: [] });
    expect(await balances('abe')).toEqual({ CP: '0', 'ACME.STARS': '6' });
  });
});

describe('exchange', () => {
  it('turns 10 STARS at a third of a CP into 3 CP (rounded down), books the 0.333… CP residual, and makes an ACME lot', async () => {
    const offer = await quote('ann', 'ACME.STARS', 'CP', '10');
    expect(offer).toMatchObject({
      __typename: 'ExchangeQuote',
      amountIn: '10',
      cpAmount: '3',
      amountOut: '3',
      rateFrom: '0.333333333333',
      rateTo: '1',
      rounding: 'down',
      residualCp: '0.33333333333',
    });
    const done = await exchange('ann', offer.quote);
    expect(done).toMatchObject({ __typename: 'ExchangeReceipt', amountOut: '3', fromBalance: '0', toBalance: '3', replayed: false });
    expect(await balances('ann')).toEqual({ CP: '3', 'ACME.STARS': '0' });
    const [booked] = await hub.hub.dataSource.query('SELECT residual_cp::text AS residual FROM rounding_booking WHERE entry_id = $1', [
      done.entryId,
    ]);
    expect(booked.residual).toBe('0.333333333330');
    const lots = await asMember('ann', '{ me { lots { edges { node { issuerPartnerId remaining } } } } }');
    expect(lots.data?.me.lots.edges.map((edge: any) => edge.node)).toEqual([{ issuerPartnerId: 'ACME', remaining: '3' }]);
  });

  it('shows exchanges in the member history as type exchange, with the rates used', async () => {
    const history = await asMember('ann', '{ me { history(first: 5) { edges { node { type rates } } } } }');
    expect(history.errors).toBeUndefined();
    expect(history.data?.me.history.edges[0].node).toMatchObject({
      type: 'exchange',
      rates: { from: 'ACME.STARS', to: 'CP', rateFrom: '0.333333333333' },
    });
  });

  it('turns 7 CP into 3 MILES at 7/3, spending lots at BOLT like a redemption (the ACME→BOLT obligation)', async () => {
    await member('ben');
    await acme.client.issuePoints({ member: 'ben', amount: '7' });
    // ACME's token may not move value into BOLT's program; BOLT's may.
    expect(await quote('ben', 'CP', 'BOLT.MILES', '7')).toMatchObject({ __typename: 'ExchangeNotAllowed' });
    const offer = await quote('ben', 'CP', 'BOLT.MILES', '7', bolt);
    expect(offer).toMatchObject({ amountIn: '7', cpAmount: '7', amountOut: '3' });
    expect(await exchange('ben', offer.quote, bolt)).toMatchObject({ amountOut: '3', fromBalance: '0', toBalance: '3' });
    const [row] = await hub.hub.dataSource.query(
      `SELECT issuer_partner_id, consumer_partner_id, amount::text FROM lot_consumption WHERE kind = 'exchange'`,
    );
    expect(row).toEqual({ issuer_partner_id: 'ACME', consumer_partner_id: 'BOLT', amount: '7' });
  });

  it('goes STARS → MILES in one entry through whole CP', async () => {
    await member('cat');
    await acme.client.issuePoints({ member: 'cat', amount: '100', asset: 'ACME.STARS' });
    const offer = await quote('cat', 'ACME.STARS', 'BOLT.MILES', '100');
    expect(offer).toMatchObject({ cpAmount: '33', amountOut: '14' });
    expect(await exchange('cat', offer.quote)).toMatchObject({ fromBalance: '0', toBalance: '14' });
    expect(await balances('cat')).toEqual({ CP: '0', 'ACME.STARS': '0', 'BOLT.MILES': '14' });
  });

  it('keeps the quoted rates when the rate changes between quote and execution', async () => {
    await member('dee');
    await acme.client.issuePoints({ member: 'dee', amount: '30', asset: 'ACME.STARS' });
    const offer = await quote('dee', 'ACME.STARS', 'CP', '30');
    // 30 STARS are worth 9.99999999999 CP: 9 CP, which need 28 STARS; 2 stay unconverted.
    expect(offer).toMatchObject({ amountRequested: '30', amountIn: '28', amountOut: '9' });
    await hub.graphql('mutation { setExchangeRate(partnerId: "ACME", cpPerPoint: "0.5") { __typename } }', {}, await hub.operatorToken());
    expect((await quote('dee', 'ACME.STARS', 'CP', '30')).amountOut).toBe('15');
    expect(await exchange('dee', offer.quote)).toMatchObject({ amountOut: '9', toBalance: '9' });
    await hub.graphql(
      'mutation { setExchangeRate(partnerId: "ACME", cpPerPoint: "0.333333333333") { __typename } }',
      {},
      await hub.operatorToken(),
    );
  });

  it('executes a quote once, even when sent ten times at once', async () => {
    await member('eve');
    await acme.client.issuePoints({ member: 'eve', amount: '60', asset: 'ACME.STARS' });
    const offer = await quote('eve', 'ACME.STARS', 'CP', '60');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => exchange('eve', offer.quote)));
    expect(new Set(outcomes.map((outcome) => outcome.entryId)).size).toBe(1);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
    // 60 STARS are worth 19.99… CP: 19 CP need only 58 STARS, so 2 stay unconverted.
    expect(await balances('eve')).toEqual({ CP: '19', 'ACME.STARS': '2' });
  });

  it("refuses an expired, a tampered and another member's quote, and an exchange beyond the balance, writing nothing", async () => {
    await member('fay');
    await member('gus');
    await acme.client.issuePoints({ member: 'fay', amount: '9', asset: 'ACME.STARS' });
    const offer = await quote('fay', 'ACME.STARS', 'CP', '9');
    const [header, payload, signature] = offer.quote.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, amountOut: '900' })).toString('base64url')}.${signature}`;
    expect(await expectNothingWritten(hub, () => exchange('fay', tampered))).toMatchObject({ __typename: 'InvalidQuote' });
    expect(await expectNothingWritten(hub, () => exchange('gus', offer.quote))).toMatchObject({ __typename: 'InvalidQuote' });
    const tooMuch = await quote('fay', 'ACME.STARS', 'CP', '12');
    expect(await expectNothingWritten(hub, () => exchange('fay', tooMuch.quote))).toMatchObject({ __typename: 'InsufficientBalance' });
    hub.clock.advance(61_000);
    try {
      expect(await expectNothingWritten(hub, () => exchange('fay', offer.quote))).toMatchObject({ __typename: 'QuoteExpired' });
    } finally {
      hub.clock.advance(-61_000);
    }
  });

  it('refuses what cannot be quoted: unknown assets, amounts worth less than one unit', async () => {
    expect(await quote('fay', 'NOPE.X', 'CP', '1')).toMatchObject({ __typename: 'UnknownAsset' });
    expect(await quote('fay', 'CP', 'CP', '1')).toMatchObject({ __typename: 'UnknownAsset' });
    expect(await quote('fay', 'ACME.STARS', 'CP', '1')).toMatchObject({ __typename: 'InvalidAmount' });
  });

  it("is the member's own act: partner tokens cannot quote or exchange, nor read the combined balance", async () => {
    const token = await acme.client.accessToken();
    const quoted = await hub.graphql(QUOTE, { from: 'CP', to: 'ACME.STARS', amount: '1' }, token);
    expect(quoted.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const peek = await hub.graphql('{ memberByRef(ref: "fay") { combinedBalance { totalCp } } }', {}, token);
    expect(peek.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('combined balance', () => {
  it('values every asset in CP at the rates in force, exactly, and shows CP expiring within 30 days', async () => {
    await member('hal');
    await acme.client.issuePoints({ member: 'hal', amount: '100' });
    await acme.client.issuePoints({ member: 'hal', amount: '3', asset: 'ACME.STARS' });
    await bolt.client.issuePoints({ member: 'hal', amount: '3', asset: 'BOLT.MILES' });
    const me = await asMember(
      'hal',
      '{ me { combinedBalance { totalCp expiringWithin30Days ratesAsOf assets { asset amount cpPerPoint cpValue } } } }',
    );
    const combined = me.data?.me.combinedBalance;
    expect(combined.assets).toEqual([
      { asset: 'CP', amount: '100', cpPerPoint: '1', cpValue: '100' },
      { asset: 'ACME.STARS', amount: '3', cpPerPoint: '0.333333333333', cpValue: '0.999999999999' },
      { asset: 'BOLT.MILES', amount: '3', cpPerPoint: '2.333333333333', cpValue: '6.999999999999' },
    ]);
    expect(combined.totalCp).toBe('107.999999999998');
    expect(combined.expiringWithin30Days).toBe('0');
    expect(combined.ratesAsOf).not.toBeNull();
  });
});
