import { decodeJwt } from 'jose';
import { generatePartnerKey, signAccessToken, signInstruction, type PointsFields } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { errorCodes } from './support/http';
import { expectNothingWritten } from './support/ledger-snapshot';
import { queriesDuring } from './support/query-log';

/**
 * Partner contracts, program units and exchange rates: exact decimals,
 * effective-dated with history, set only by the operator, append-only in the database, and
 * every journal entry (and its signed receipt) keeps the prices it used, whatever changes later.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

let hub: TestHub;
let acme: TestPartner;
/** Registered with its own terms: issuePrice 1.2, redeemPrice 0.9, 12-month lots. */
let dune: TestPartner;
let duneRegistration: any;

const CONTRACT_FIELDS = `id validFrom currency issuePrice redeemPrice breakageShare lotLifetimeMonths transfersAllowed
  reversalPolicy pendingDays createdAt`;
const RESULT_FIELDS = '__typename ... on ErrorResult { errorCode message }';

const REGISTER = `mutation($input: RegisterPartnerInput!) {
  result: registerPartner(input: $input) { ${RESULT_FIELDS} ... on Partner { id contract { ${CONTRACT_FIELDS} } } } }`;
const SET_CONTRACT = `mutation($id: ID!, $input: ContractInput!, $validFrom: DateTimeISO) {
  result: setPartnerContract(partnerId: $id, input: $input, validFrom: $validFrom) { ${RESULT_FIELDS} ... on PartnerContract { ${CONTRACT_FIELDS} } } }`;
const SET_UNIT = `mutation($id: ID!, $code: String!) {
  result: setPartnerUnit(partnerId: $id, code: $code) { ${RESULT_FIELDS} ... on PartnerUnit { partnerId code asset } } }`;
const SET_RATE = `mutation($id: ID!, $rate: Decimal!, $validFrom: DateTimeISO) {
  result: setExchangeRate(partnerId: $id, cpPerPoint: $rate, validFrom: $validFrom) { ${RESULT_FIELDS} ... on ExchangeRate { id asset cpPerPoint validFrom } } }`;
const PARTNER_CONTRACT = `query($id: ID!) { partner(id: $id) { contract { ${CONTRACT_FIELDS} } } }`;
const PARTNER_CONTRACTS = `query($id: ID!, $first: Int!, $after: String) {
  partner(id: $id) { contracts(first: $first, after: $after) { edges { cursor node { ${CONTRACT_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`;
const PARTNER_UNIT = 'query($id: ID!) { partner(id: $id) { unit { partnerId code asset rate { id asset cpPerPoint validFrom } } } }';
const PARTNER_TRANSACTIONS = '{ partnerTransactions(first: 100) { edges { node { id type recordedAt rates } } } }';

const DEFAULT_TERMS = {
  currency: 'EUR',
  issuePrice: '1',
  redeemPrice: '1',
  breakageShare: '0',
  lotLifetimeMonths: 24,
  transfersAllowed: false,
  reversalPolicy: 'refuse',
  pendingDays: 0,
};

// ---- helpers ---------------------------------------------------------------------------------

async function asOperator(query: string, variables: Record<string, unknown>) {
  const response = await hub.graphql(query, variables, await hub.operatorToken());
  if (response.errors !== undefined) throw new Error(JSON.stringify(response.errors));
  return response.data?.result ?? response.data;
}

/** Row counts of the contract tables, which the ledger snapshot does not cover. */
async function settingCounts(): Promise<Record<string, number>> {
  const rows: Array<Record<string, number>> = await hub.hub.dataSource.query(`SELECT
    (SELECT count(*) FROM partner_contract)::int AS contracts,
    (SELECT count(*) FROM partner_unit)::int AS units,
    (SELECT count(*) FROM exchange_rate)::int AS rates`);
  return rows[0]!;
}

/** expectNothingWritten, and no contract, unit or rate either. */
async function expectNoneWritten<T>(action: () => Promise<T>): Promise<T> {
  const before = await settingCounts();
  const result = await expectNothingWritten(hub, action);
  expect(await settingCounts()).toEqual(before);
  return result;
}

/**
 * Tokens and instructions signed at the hub's (possibly advanced) time: the real clock would be
 * hours behind it after clock.advance, and the hub would refuse them as expired.
 */
const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });
const memberToken = (partner: TestPartner, memberRef: string) =>
  signAccessToken({ issuer: partner.id, subject: memberRef, scope: 'member', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

async function submitAtHubTime(partner: TestPartner, op: 'issue' | 'redeem', fields: PointsFields) {
  const signed = await signInstruction({ partnerId: partner.id, hubId: HUB_ID, key: partner.key, op, fields, now: hub.clock.now() });
  const outcome = await partner.client.submitSigned(op, signed.jws);
  if (!outcome.ok) throw new Error(`${op} failed: ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Runs `body` with the hub's clock `ms` ahead, and always puts it back (stop() checks integrity at real time). */
async function withHubClockAdvanced<T>(ms: number, body: () => Promise<T>): Promise<T> {
  hub.clock.advance(ms);
  try {
    return await body();
  } finally {
    hub.clock.advance(-ms);
  }
}

async function readAs<T = Record<string, any>>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const response: GraphqlResponse<T> = await hub.graphql<T>(query, variables, token);
  if (response.errors !== undefined || !response.data) throw new Error(JSON.stringify(response));
  return response.data;
}

async function entryRates(partner: TestPartner): Promise<Map<string, { type: string; rates: Record<string, string> }>> {
  const data = await readAs(PARTNER_TRANSACTIONS, {}, await partnerToken(partner));
  return new Map(data.partnerTransactions.edges.map((edge: any) => [edge.node.id, { type: edge.node.type, rates: edge.node.rates }]));
}

async function registerWithContract(id: string, contract: Record<string, unknown>): Promise<{ partner: TestPartner; result: any }> {
  const key = await generatePartnerKey('EdDSA');
  const result = await asOperator(REGISTER, {
    input: { id, name: `${id} Ltd`, publicJwks: [key.publicJwk], canLinkMembers: true, contract },
  });
  return { partner: { id, key, client: hub.clientFor(id, key) }, result };
}

/** Calendar months in UTC, the day clamped to the month's last (31 Jan + 1 month = 28/29 Feb). */
function addMonthsUtc(date: Date, months: number): Date {
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      target.getUTCFullYear(),
      target.getUTCMonth(),
      Math.min(date.getUTCDate(), lastDay),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCMilliseconds(),
    ),
  );
}

async function enrol(partner: TestPartner, member: string): Promise<string> {
  const enrolled = await partner.client.enrollMember({ member });
  if (!enrolled.ok) throw new Error(`enrol ${member} at ${partner.id} failed: ${JSON.stringify(enrolled)}`);
  return enrolled.data.memberId;
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  ({ partner: dune, result: duneRegistration } = await registerWithContract('DUNE', {
    issuePrice: '1.2',
    redeemPrice: '0.9',
    lotLifetimeMonths: 12,
  }));
});

afterAll(() => hub.stop());

// ---- 1 ---------------------------------------------------------------------------------------

describe('the contract a partner is registered with', () => {
  it('is the default contract unless given: EUR at par, no breakage share, 24-month lots, no transfers, reversals refused, nothing pending', async () => {
    const data = await asOperator(
      `query { partner(id: "ACME") { createdAt contract { ${CONTRACT_FIELDS} } contracts { edges { node { id } } } } }`,
      {},
    );
    expect(data.partner.contract).toEqual({
      ...DEFAULT_TERMS,
      id: expect.any(String),
      validFrom: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(data.partner.contracts.edges).toEqual([{ node: { id: data.partner.contract.id } }]);
    // In force from registration, not from some later moment.
    expect(Math.abs(Date.parse(data.partner.contract.validFrom) - Date.parse(data.partner.createdAt))).toBeLessThan(5_000);
  });

  it('takes the terms given at registration exactly, and the defaults for the rest', async () => {
    const result = duneRegistration;
    expect(result.__typename).toBe('Partner');
    const expected = { ...DEFAULT_TERMS, issuePrice: '1.2', redeemPrice: '0.9', lotLifetimeMonths: 12 };
    expect(result.contract).toMatchObject(expected);
    const read = await asOperator(PARTNER_CONTRACT, { id: 'DUNE' });
    expect(read.partner.contract).toEqual({
      ...expected,
      id: result.contract.id,
      validFrom: result.contract.validFrom,
      createdAt: result.contract.createdAt,
    });
  });
});

// ---- 2 ---------------------------------------------------------------------------------------

describe('setPartnerContract', () => {
  let sett: TestPartner;

  beforeAll(async () => {
    sett = await hub.registerPartner('SETT', 'EdDSA');
  });

  it('makes a new version that changes only the named terms; the others carry over from the version in force', async () => {
    const first = await asOperator(SET_CONTRACT, { id: 'SETT', input: { issuePrice: '1.5', transfersAllowed: true } });
    expect(first).toEqual({
      ...DEFAULT_TERMS,
      __typename: 'PartnerContract',
      issuePrice: '1.5',
      transfersAllowed: true,
      id: expect.any(String),
      validFrom: expect.any(String),
      createdAt: expect.any(String),
    });

    const second = await asOperator(SET_CONTRACT, { id: 'SETT', input: { pendingDays: 14, breakageShare: '0.25' } });
    expect(second).toMatchObject({
      ...DEFAULT_TERMS,
      __typename: 'PartnerContract',
      issuePrice: '1.5',
      transfersAllowed: true,
      pendingDays: 14,
      reversalPolicy: 'refuse',
      breakageShare: '0.25',
    });
    expect(second.id).not.toBe(first.id);

    const read = await asOperator(PARTNER_CONTRACT, { id: 'SETT' });
    const { __typename, ...secondContract } = second;
    expect(read.partner.contract).toEqual(secondContract);
  });

  it('refuses reversalPolicy debt, which is not built yet, rather than accept a term it cannot honour', async () => {
    const result = await expectNoneWritten(() => asOperator(SET_CONTRACT, { id: 'SETT', input: { reversalPolicy: 'debt' } }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', message: expect.stringContaining('not supported') });
  });

  it('refuses a validFrom in the past as InvalidInput and writes nothing: history is not rewritten', async () => {
    const validFrom = new Date(hub.clock.now().getTime() - HOUR_MS).toISOString();
    const result = await expectNoneWritten(() => asOperator(SET_CONTRACT, { id: 'SETT', input: { issuePrice: '3' }, validFrom }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it('refuses a validFrom more than 366 days ahead as InvalidInput and writes nothing', async () => {
    const validFrom = new Date(hub.clock.now().getTime() + 367 * DAY_MS).toISOString();
    const result = await expectNoneWritten(() => asOperator(SET_CONTRACT, { id: 'SETT', input: { issuePrice: '3' }, validFrom }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it.each([
    ['a lot lifetime of 0 months', { lotLifetimeMonths: 0 }],
    ['a lot lifetime of 121 months', { lotLifetimeMonths: 121 }],
    ['a breakage share above 1', { breakageShare: '1.5' }],
    ['a currency that is not ISO 4217', { currency: 'eur' }],
    ['a currency the coalition does not settle in (one settlement currency)', { currency: 'USD' }],
    ['a return window of 366 days', { pendingDays: 366 }],
  ])('refuses %s as InvalidInput and writes nothing', async (_case, input) => {
    const result = await expectNoneWritten(() => asOperator(SET_CONTRACT, { id: 'SETT', input }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it('answers an unknown partner with NotFound and writes nothing', async () => {
    const result = await expectNoneWritten(() => asOperator(SET_CONTRACT, { id: 'GHOST', input: { issuePrice: '2' } }));
    expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
  });

  it('is refused to the partner itself, to a member and to finance as FORBIDDEN, and to no token as UNAUTHENTICATED', async () => {
    await enrol(sett, 'sett-member');
    const variables = { id: 'SETT', input: { redeemPrice: '5' } };
    for (const token of [await partnerToken(sett), await memberToken(sett, 'sett-member'), await hub.operatorToken('finance')]) {
      const response = await expectNoneWritten(() => hub.graphql(SET_CONTRACT, variables, token));
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.data?.result ?? null).toBeNull();
    }
    const anonymous = await expectNoneWritten(() => hub.graphql(SET_CONTRACT, variables));
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const read = await asOperator(PARTNER_CONTRACT, { id: 'SETT' });
    expect(read.partner.contract.redeemPrice).toBe('1');
  });

  it.each([
    ['two points', '1.5.2'],
    ['a minus sign', '-1'],
    ['an exponent', '1e3'],
    ['13 decimal places', '0.1234567890123'],
    ['13 digits before the point', '1234567890123'],
    ['a leading zero', '01.5'],
    ['an empty string', ''],
  ])('refuses a price with %s as BAD_USER_INPUT before anything runs, and writes nothing', async (_case, price) => {
    const response = await expectNoneWritten(async () =>
      hub.graphql(SET_CONTRACT, { id: 'SETT', input: { issuePrice: price } }, await hub.operatorToken()),
    );
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.[0]?.message).toMatch(/Decimal/);
    expect(response.data).toBeUndefined();
  });

  it('refuses a price written as a JSON number (a float) as BAD_USER_INPUT', async () => {
    const response = await expectNoneWritten(async () =>
      hub.graphql(SET_CONTRACT, { id: 'SETT', input: { issuePrice: 1.2 } }, await hub.operatorToken()),
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('stores decimals in canonical form: "1.50" reads back as "1.5" and "0.000000000001" exactly', async () => {
    const result = await asOperator(SET_CONTRACT, { id: 'SETT', input: { issuePrice: '1.50', redeemPrice: '0.000000000001' } });
    expect(result).toMatchObject({ __typename: 'PartnerContract', issuePrice: '1.5', redeemPrice: '0.000000000001' });
    const read = await asOperator(PARTNER_CONTRACT, { id: 'SETT' });
    expect(read.partner.contract).toMatchObject({ issuePrice: '1.5', redeemPrice: '0.000000000001' });
  });
});

// ---- 3 ---------------------------------------------------------------------------------------

describe('effective dating across a boundary', () => {
  let date: TestPartner;

  beforeAll(async () => {
    date = await hub.registerPartner('DATE', 'EdDSA');
    await enrol(date, 'date-1');
  });

  it('uses the old prices until validFrom and the new ones after it, and never changes the entries made before', async () => {
    const original = (await asOperator(PARTNER_CONTRACT, { id: 'DATE' })).partner.contract;
    const validFrom = new Date(hub.clock.now().getTime() + HOUR_MS);
    const future = await asOperator(SET_CONTRACT, { id: 'DATE', input: { redeemPrice: '0.8' }, validFrom: validFrom.toISOString() });
    expect(future).toMatchObject({
      __typename: 'PartnerContract',
      redeemPrice: '0.8',
      issuePrice: '1',
      validFrom: validFrom.toISOString(),
    });
    expect(future.id).not.toBe(original.id);

    // Before the boundary: the future version is listed in the history, but the original is in force, and entries use its prices.
    const listed = await asOperator(
      `query { partner(id: "DATE") { contract { id } contracts { edges { node { id redeemPrice } } } } }`,
      {},
    );
    expect(listed.partner.contract.id).toBe(original.id);
    expect(listed.partner.contracts.edges.map((edge: any) => edge.node)).toEqual([
      { id: future.id, redeemPrice: '0.8' },
      { id: original.id, redeemPrice: '1' },
    ]);
    const issuedBefore = await submitAtHubTime(date, 'issue', { member: 'date-1', amount: '100' });
    const redeemedBefore = await submitAtHubTime(date, 'redeem', { member: 'date-1', amount: '30' });
    const ratesBefore = await entryRates(date);
    expect(ratesBefore.get(issuedBefore.data.entryId)).toEqual({
      type: 'issue',
      rates: { contractId: original.id, currency: 'EUR', issuePrice: '1' },
    });
    expect(ratesBefore.get(redeemedBefore.data.entryId)).toEqual({
      type: 'redeem',
      rates: { contractId: original.id, currency: 'EUR', redeemPrice: '1' },
    });

    await withHubClockAdvanced(2 * HOUR_MS, async () => {
      const issuedAfter = await submitAtHubTime(date, 'issue', { member: 'date-1', amount: '50' });
      const redeemedAfter = await submitAtHubTime(date, 'redeem', { member: 'date-1', amount: '20' });
      const ratesAfter = await entryRates(date);
      expect(ratesAfter.get(issuedAfter.data.entryId)).toEqual({
        type: 'issue',
        rates: { contractId: future.id, currency: 'EUR', issuePrice: '1' },
      });
      expect(ratesAfter.get(redeemedAfter.data.entryId)).toEqual({
        type: 'redeem',
        rates: { contractId: future.id, currency: 'EUR', redeemPrice: '0.8' },
      });
      // The entries made before the boundary keep what they used.
      expect(ratesAfter.get(issuedBefore.data.entryId)).toEqual(ratesBefore.get(issuedBefore.data.entryId));
      expect(ratesAfter.get(redeemedBefore.data.entryId)).toEqual(ratesBefore.get(redeemedBefore.data.entryId));

      // The member's own history shows the same rates.
      const me = await readAs('{ me { history(first: 10) { edges { node { id rates } } } } }', {}, await memberToken(date, 'date-1'));
      const seen = new Map(me.me.history.edges.map((edge: any) => [edge.node.id, edge.node.rates]));
      expect(seen.get(redeemedAfter.data.entryId)).toEqual({ contractId: future.id, currency: 'EUR', redeemPrice: '0.8' });
      expect(seen.get(redeemedBefore.data.entryId)).toEqual({ contractId: original.id, currency: 'EUR', redeemPrice: '1' });

      const token = await partnerToken(date);
      const now = await readAs(PARTNER_CONTRACT, { id: 'DATE' }, token);
      expect(now.partner.contract).toMatchObject({ id: future.id, redeemPrice: '0.8', validFrom: validFrom.toISOString() });

      const all = await readAs(PARTNER_CONTRACTS, { id: 'DATE', first: 10 }, token);
      expect(all.partner.contracts.edges.map((edge: any) => edge.node.id)).toEqual([future.id, original.id]);
      expect(all.partner.contracts.pageInfo.hasNextPage).toBe(false);

      const page1 = await readAs(PARTNER_CONTRACTS, { id: 'DATE', first: 1 }, token);
      expect(page1.partner.contracts.edges.map((edge: any) => edge.node)).toEqual([
        expect.objectContaining({ id: future.id, redeemPrice: '0.8' }),
      ]);
      expect(page1.partner.contracts.pageInfo).toEqual({ hasNextPage: true, endCursor: expect.any(String) });
      const page2 = await readAs(PARTNER_CONTRACTS, { id: 'DATE', first: 1, after: page1.partner.contracts.pageInfo.endCursor }, token);
      expect(page2.partner.contracts.edges.map((edge: any) => edge.node)).toEqual([
        expect.objectContaining({ id: original.id, redeemPrice: '1' }),
      ]);
      expect(page2.partner.contracts.pageInfo.hasNextPage).toBe(false);
    });
  });
});

// ---- 4 ---------------------------------------------------------------------------------------

describe('lot lifetime', () => {
  let lots: TestPartner;

  beforeAll(async () => {
    lots = await hub.registerPartner('LOTS', 'EdDSA');
    await enrol(lots, 'lots-1');
  });

  it('comes from the contract in force at issue: 6 months after a new contract says so, while earlier lots keep 24', async () => {
    const early = await submitAtHubTime(lots, 'issue', { member: 'lots-1', amount: '10' });
    const changed = await asOperator(SET_CONTRACT, { id: 'LOTS', input: { lotLifetimeMonths: 6 } });
    expect(changed).toMatchObject({ __typename: 'PartnerContract', lotLifetimeMonths: 6 });
    const late = await submitAtHubTime(lots, 'issue', { member: 'lots-1', amount: '20' });

    const me = await readAs('{ me { lots { edges { node { amount issuedAt expiresAt } } } } }', {}, await memberToken(lots, 'lots-1'));
    const nodes = me.me.lots.edges.map((edge: any) => edge.node);
    // Soonest to expire first: the 6-month lot although it was issued last.
    expect(nodes.map((node: any) => node.amount)).toEqual(['20', '10']);
    const [shortLot, longLot] = nodes;
    expect(Date.parse(shortLot.issuedAt)).toBe(Date.parse(late.data.recordedAt));
    expect(Date.parse(longLot.issuedAt)).toBe(Date.parse(early.data.recordedAt));
    expect(shortLot.expiresAt).toBe(addMonthsUtc(new Date(shortLot.issuedAt), 6).toISOString());
    expect(longLot.expiresAt).toBe(addMonthsUtc(new Date(longLot.issuedAt), 24).toISOString());
  });
});

// ---- 5 ---------------------------------------------------------------------------------------

describe('the signed receipt', () => {
  it('signs the prices the entry used, with the contract id, for an issue and for a redemption', async () => {
    const contract = (await asOperator(PARTNER_CONTRACT, { id: 'DUNE' })).partner.contract;
    const partner = dune;
    await enrol(partner, 'dune-1');

    const issued = await submitAtHubTime(partner, 'issue', { member: 'dune-1', amount: '40' });
    const issueClaims = decodeJwt(issued.data.receipt);
    expect(issueClaims.rates).toEqual({ contractId: contract.id, currency: 'EUR', issuePrice: '1.2' });

    const redeemed = await submitAtHubTime(partner, 'redeem', { member: 'dune-1', amount: '15' });
    const redeemClaims = decodeJwt(redeemed.data.receipt);
    expect(redeemClaims.rates).toEqual({ contractId: contract.id, currency: 'EUR', redeemPrice: '0.9' });

    // What is signed is what the journal keeps.
    const stored = await entryRates(partner);
    expect(stored.get(issued.data.entryId)?.rates).toEqual(issueClaims.rates);
    expect(stored.get(redeemed.data.entryId)?.rates).toEqual(redeemClaims.rates);
  });
});

// ---- 7 ---------------------------------------------------------------------------------------

describe('program units and exchange rates', () => {
  beforeAll(async () => {
    await hub.registerPartner('BOLT', 'ES256');
  });

  it('refuses a rate for a partner that has no unit yet as NotFound, and writes nothing', async () => {
    const result = await expectNoneWritten(() => asOperator(SET_RATE, { id: 'ACME', rate: '0.5' }));
    expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
    const unknown = await expectNoneWritten(() => asOperator(SET_RATE, { id: 'GHOST', rate: '0.5' }));
    expect(unknown).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
  });

  it('gives a partner its unit: STARS becomes the asset ACME.STARS, without a rate yet', async () => {
    const result = await asOperator(SET_UNIT, { id: 'ACME', code: 'STARS' });
    expect(result).toEqual({ __typename: 'PartnerUnit', partnerId: 'ACME', code: 'STARS', asset: 'ACME.STARS' });
    const read = await asOperator(PARTNER_UNIT, { id: 'ACME' });
    expect(read.partner.unit).toEqual({ partnerId: 'ACME', code: 'STARS', asset: 'ACME.STARS', rate: null });
    expect((await asOperator(PARTNER_UNIT, { id: 'BOLT' })).partner.unit).toBeNull();
  });

  it('refuses a second unit for the same partner as InvalidInput, writes nothing, and keeps the first', async () => {
    const result = await expectNoneWritten(() => asOperator(SET_UNIT, { id: 'ACME', code: 'MOONS' }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
    const again = await expectNoneWritten(() => asOperator(SET_UNIT, { id: 'ACME', code: 'STARS' }));
    expect(again).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
    expect((await asOperator(PARTNER_UNIT, { id: 'ACME' })).partner.unit.asset).toBe('ACME.STARS');
  });

  it.each([
    ['lower case', 'stars'],
    ['a leading digit', '1X'],
    ['a dot', 'A.B'],
    ['an empty code', ''],
    ['33 characters', `S${'X'.repeat(32)}`],
  ])('refuses a unit code with %s as InvalidInput and writes nothing', async (_case, code) => {
    const result = await expectNoneWritten(() => asOperator(SET_UNIT, { id: 'BOLT', code }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it('answers a unit for an unknown partner with NotFound and writes nothing', async () => {
    const result = await expectNoneWritten(() => asOperator(SET_UNIT, { id: 'GHOST', code: 'STARS' }));
    expect(result).toMatchObject({ __typename: 'NotFound', errorCode: 'NOT_FOUND' });
  });

  it('refuses a rate of "0" as InvalidInput and writes nothing', async () => {
    for (const rate of ['0', '0.000000000000']) {
      const result = await expectNoneWritten(() => asOperator(SET_RATE, { id: 'ACME', rate }));
      expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
    }
  });

  it('refuses a rate that is not a decimal ("-0.5", "1e-3") as BAD_USER_INPUT and writes nothing', async () => {
    for (const rate of ['-0.5', '1e-3', '0.3333333333333']) {
      const response = await expectNoneWritten(async () => hub.graphql(SET_RATE, { id: 'ACME', rate }, await hub.operatorToken()));
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('refuses a rate dated in the past as InvalidInput and writes nothing', async () => {
    const validFrom = new Date(hub.clock.now().getTime() - HOUR_MS).toISOString();
    const result = await expectNoneWritten(() => asOperator(SET_RATE, { id: 'ACME', rate: '0.5', validFrom }));
    expect(result).toMatchObject({ __typename: 'InvalidInput', errorCode: 'INVALID_INPUT' });
  });

  it('lets only the operator set units and rates', async () => {
    for (const token of [await partnerToken(acme), await hub.operatorToken('finance')]) {
      expect(errorCodes(await expectNoneWritten(() => hub.graphql(SET_UNIT, { id: 'BOLT', code: 'BOLTS' }, token)))).toEqual(['FORBIDDEN']);
      expect(errorCodes(await expectNoneWritten(() => hub.graphql(SET_RATE, { id: 'ACME', rate: '2' }, token)))).toEqual(['FORBIDDEN']);
    }
  });

  it('stores "0.333333333333" exactly and reads it back as the rate in force', async () => {
    const result = await asOperator(SET_RATE, { id: 'ACME', rate: '0.333333333333' });
    expect(result).toMatchObject({ __typename: 'ExchangeRate', asset: 'ACME.STARS', cpPerPoint: '0.333333333333' });
    const read = await asOperator(PARTNER_UNIT, { id: 'ACME' });
    expect(read.partner.unit).toEqual({
      partnerId: 'ACME',
      code: 'STARS',
      asset: 'ACME.STARS',
      rate: { id: result.id, asset: 'ACME.STARS', cpPerPoint: '0.333333333333', validFrom: result.validFrom },
    });
    const [row] = await hub.hub.dataSource.query('SELECT cp_per_point::text AS rate FROM exchange_rate WHERE id = $1', [result.id]);
    expect(row.rate).toBe('0.333333333333');
    // The partner reads its own unit too.
    expect((await readAs(PARTNER_UNIT, { id: 'ACME' }, await partnerToken(acme))).partner.unit.rate.cpPerPoint).toBe('0.333333333333');
  });

  it('does not apply a future-dated rate until the hub clock passes its validFrom, then does', async () => {
    const validFrom = new Date(hub.clock.now().getTime() + HOUR_MS);
    const future = await asOperator(SET_RATE, { id: 'ACME', rate: '7.5', validFrom: validFrom.toISOString() });
    expect(future).toMatchObject({ __typename: 'ExchangeRate', cpPerPoint: '7.5', validFrom: validFrom.toISOString() });
    expect((await asOperator(PARTNER_UNIT, { id: 'ACME' })).partner.unit.rate.cpPerPoint).toBe('0.333333333333');

    await withHubClockAdvanced(2 * HOUR_MS, async () => {
      const read = await readAs(PARTNER_UNIT, { id: 'ACME' }, await partnerToken(acme));
      expect(read.partner.unit.rate).toEqual({ id: future.id, asset: 'ACME.STARS', cpPerPoint: '7.5', validFrom: validFrom.toISOString() });
    });
    // Back before the boundary, the earlier rate is in force again: nothing was overwritten.
    expect((await asOperator(PARTNER_UNIT, { id: 'ACME' })).partner.unit.rate.cpPerPoint).toBe('0.333333333333');
  });
});

// ---- 6 ---------------------------------------------------------------------------------------

describe('append-only in the database', () => {
  it.each([
    ['an UPDATE of a contract', "UPDATE partner_contract SET issue_price = 2 WHERE partner_id = 'ACME'"],
    ['a DELETE of a contract', "DELETE FROM partner_contract WHERE partner_id = 'ACME'"],
    ['an UPDATE of an exchange rate', "UPDATE exchange_rate SET cp_per_point = 1 WHERE asset = 'ACME.STARS'"],
    ['a DELETE of an exchange rate', "DELETE FROM exchange_rate WHERE asset = 'ACME.STARS'"],
  ])('refuses %s, even straight in SQL', async (_case, sql) => {
    const before = await hub.hub.dataSource.query(
      `SELECT (SELECT json_agg(c ORDER BY id) FROM partner_contract c) AS contracts, (SELECT json_agg(r ORDER BY id) FROM exchange_rate r) AS rates`,
    );
    // Rows to refuse must exist, or a row trigger would never fire.
    expect(before[0].contracts.length).toBeGreaterThan(0);
    expect(before[0].rates.length).toBeGreaterThan(0);
    await expect(hub.ownerQuery(sql)).rejects.toThrow(/append-only/);
    const after = await hub.hub.dataSource.query(
      `SELECT (SELECT json_agg(c ORDER BY id) FROM partner_contract c) AS contracts, (SELECT json_agg(r ORDER BY id) FROM exchange_rate r) AS rates`,
    );
    expect(after).toEqual(before);
  });
});

describe('history order and unit names', () => {
  it('lists contract versions by validFrom, newest first, even when they were set out of order', async () => {
    const token = await hub.operatorToken();
    const inDays = (days: number) => new Date(hub.clock.now().getTime() + days * 86_400_000).toISOString();
    await hub.registerPartner('ORDR');
    for (const [days, price] of [
      [10, '0.5'],
      [1, '0.7'],
    ] as const) {
      const set = await hub.graphql(
        'mutation($from: DateTimeISO) { setPartnerContract(partnerId: "ORDR", input: { redeemPrice: "' +
          price +
          '" }, validFrom: $from) { __typename } }',
        { from: inDays(days) },
        token,
      );
      expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
    }
    const history = await hub.graphql('{ partner(id: "ORDR") { contracts(first: 10) { edges { node { redeemPrice } } } } }', {}, token);
    expect(history.data?.partner.contracts.edges.map((edge: any) => edge.node.redeemPrice)).toEqual(['0.5', '0.7', '1']);
  });

  it('refuses to rename or delete a unit in the database (its balances are kept under the name)', async () => {
    await hub.graphql('mutation { setPartnerUnit(partnerId: "ORDR", code: "MILES") { __typename } }', {}, await hub.operatorToken());
    await expect(hub.ownerQuery(`UPDATE partner_unit SET code = 'KM', asset = 'ORDR.KM' WHERE partner_id = 'ORDR'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(hub.ownerQuery(`DELETE FROM partner_unit WHERE partner_id = 'ORDR'`)).rejects.toThrow(/append-only/);
  });
});

describe('contract history in the list of partners', () => {
  const HISTORY_PAGE = 'contracts(first: 2) { edges { node { id redeemPrice } } pageInfo { hasNextPage endCursor } }';
  const LIST = `query($first: Int!) { partners(first: $first) { edges { node { id ${HISTORY_PAGE} } } } }`;
  /** The statement that reads contract history: one per batch of partners. */
  const isHistoryQuery = (sql: string) => sql.includes('FROM partner_contract') && sql.includes('LATERAL');

  it("reads every listed partner's contract history with one query, each partner's own, a page each", async () => {
    const token = await hub.operatorToken();
    // Partners with one, two and three versions.
    for (const [id, prices] of [
      ['HIST1', []],
      ['HIST2', ['0.6']],
      ['HIST3', ['0.4', '0.3']],
    ] as const) {
      await hub.registerPartner(id);
      for (const [index, price] of prices.entries()) {
        const from = new Date(hub.clock.now().getTime() + (index + 1) * DAY_MS).toISOString();
        const set = await hub.graphql(
          'mutation($id: ID!, $price: Decimal!, $from: DateTimeISO) { setPartnerContract(partnerId: $id, input: { redeemPrice: $price }, validFrom: $from) { __typename } }',
          { id, price, from },
          token,
        );
        expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
      }
    }
    const small = await queriesDuring(hub, () => hub.graphql(LIST, { first: 2 }, token));
    const large = await queriesDuring(hub, () => hub.graphql(LIST, { first: 25 }, token));
    expect(large.result.errors).toBeUndefined();
    // A page size passed as a variable counts towards the query cost like one written in the query.
    const tooLarge = await hub.graphql(LIST, { first: 100 }, token);
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.errors?.[0]?.message).toMatch(/cost .* exceeds/);
    const listed = large.result.data?.partners.edges.map((edge: any) => edge.node);
    expect(listed.length).toBeGreaterThan(5);
    expect(small.result.data?.partners.edges).toHaveLength(2);

    // Each partner's page is what reading that partner alone gives.
    for (const partner of listed) {
      const alone = await hub.graphql(`{ partner(id: "${partner.id}") { ${HISTORY_PAGE} } }`, {}, token);
      expect({ id: partner.id, contracts: partner.contracts }).toEqual({ id: partner.id, contracts: alone.data?.partner.contracts });
    }
    const byId = Object.fromEntries(listed.map((partner: any) => [partner.id, partner.contracts]));
    expect(byId.HIST1.edges.map((edge: any) => edge.node.redeemPrice)).toEqual(['1']);
    expect(byId.HIST2.edges.map((edge: any) => edge.node.redeemPrice)).toEqual(['0.6', '1']);
    expect(byId.HIST3.edges.map((edge: any) => edge.node.redeemPrice)).toEqual(['0.3', '0.4']);
    expect(byId.HIST3.pageInfo.hasNextPage).toBe(true);

    expect(large.queries.filter(isHistoryQuery)).toHaveLength(1);
    expect(small.queries.filter(isHistoryQuery)).toHaveLength(1);
    expect(large.queries).toHaveLength(small.queries.length);
  });

  it('pages each partner on its own cursor, and refuses only the field with a foreign cursor', async () => {
    const token = await hub.operatorToken();
    const first = await hub.graphql(`{ partner(id: "HIST3") { ${HISTORY_PAGE} } }`, {}, token);
    const after = first.data?.partner.contracts.pageInfo.endCursor;
    const both = await hub.graphql(
      `query($after: String) {
        h3: partner(id: "HIST3") { contracts(first: 2, after: $after) { edges { node { redeemPrice } } pageInfo { hasNextPage } } }
        bad: partner(id: "HIST3") { contracts(after: "bm90LWEtY3Vyc29y") { edges { node { id } } } }
        h2: partner(id: "HIST2") { contracts(first: 1) { edges { node { redeemPrice } } } } }`,
      { after },
      token,
    );
    expect(both.data?.h3.contracts).toEqual({ edges: [{ node: { redeemPrice: '1' } }], pageInfo: { hasNextPage: false } });
    expect(both.data?.bad).toBeNull();
    expect(both.data?.h2.contracts.edges).toEqual([{ node: { redeemPrice: '0.6' } }]);
    expect(both.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['bad', 'contracts'], 'BAD_USER_INPUT']]);

    // One batch holding all three requests answers each on its own (what the loader relies on).
    const pages = await hub.hub.services.contracts.historyPages([
      { partnerId: 'HIST3', page: { first: 2, after } },
      { partnerId: 'HIST3', page: { first: 1, after: 'bm90LWEtY3Vyc29y' } },
      { partnerId: 'HIST2', page: { first: 1, after: null } },
      { partnerId: 'NOBODY', page: { first: 1, after: null } },
    ]);
    const shape = (page: (typeof pages)[number]) =>
      page instanceof Error
        ? page.message
        : { prices: page.edges.map((edge) => edge.node.redeemPrice), hasNextPage: page.pageInfo.hasNextPage };
    expect(pages.map(shape)).toEqual([
      { prices: ['1'], hasNextPage: false },
      'after is not a cursor from this list',
      { prices: ['0.6'], hasNextPage: true },
      { prices: [], hasNextPage: false },
    ]);
  });
});
