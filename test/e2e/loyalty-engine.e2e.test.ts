import { PartnerClient, signAccessToken, signInstruction, type ActivityFields } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';
import type { EvaluatedPurchase, PurchaseListener } from '../../src/engine/purchase-listeners';

/**
 * The loyalty engine (docs/loyalty-engine.md) through GraphQL and the partner SDK: earn rules,
 * the tier multiplier, campaigns and their budgets, returns, typed refusals, replays, and what
 * campaign points do in settlement. Test tiers: Base 0, Silver 1000, Gold 5000.
 */
let hub: TestHub;
let cafe: TestPartner;
let bank: TestPartner;
let shop: TestPartner;
/** What the purchase listener heard, and whether it saw the purchase's own activity row (the same transaction). */
const heard: Array<EvaluatedPurchase & { sawOwnRow: boolean }> = [];
const listener: PurchaseListener = {
  name: 'test',
  async onPurchase(tx, purchase) {
    const rows: unknown[] = await tx.query('SELECT 1 FROM activity WHERE id = $1', [purchase.activityId]);
    heard.push({ ...purchase, sawOwnRow: rows.length === 1 });
  },
};

const RESULT = '__typename ... on ErrorResult { errorCode message }';

async function partnerToken(partner: TestPartner): Promise<string> {
  return signAccessToken({
    issuer: partner.id,
    subject: partner.id,
    scope: 'partner',
    audience: HUB_ID,
    key: partner.key,
    now: hub.clock.now(),
  });
}

async function setRule(token: string, input: Record<string, unknown>, partnerId?: string) {
  const response = await hub.graphql(
    `mutation($input: EarnRuleInput!, $partnerId: ID) { result: setEarnRule(input: $input, partnerId: $partnerId) {
       ${RESULT} ... on EarnRule { ruleId version kind pointsPerUnit action points } } }`,
    { input, partnerId },
    token,
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.result;
}

async function createCampaign(input: Record<string, unknown>, token?: string) {
  const response = await hub.graphql(
    `mutation($input: CampaignInput!) { result: createCampaign(input: $input) { ${RESULT}
       ... on Campaign { id version name pointsUsed moneyUsedMinor funders { partnerId share } startsAt endsAt } } }`,
    { input },
    token ?? (await hub.operatorToken()),
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.result;
}

async function campaign(partnerId: string, id: string) {
  const { campaigns } = await hub.asStaff(
    `query($p: ID) { campaigns(partnerId: $p) { id pointsUsed moneyUsedMinor } }`,
    { p: partnerId },
    'operator',
  );
  return campaigns.find((c: { id: string }) => c.id === id);
}

/** The local window around the hub's now, in Europe/Paris (the campaign's own zone). */
function window(): { startsLocal: string; endsLocal: string; timeZone: string } {
  const now = hub.clock.now().getTime();
  const local = (ms: number) => new Date(ms + 3_600_000).toISOString().slice(0, 16); // Paris in winter: UTC+1
  return { startsLocal: local(now - 86_400_000), endsLocal: local(now + 30 * 86_400_000), timeZone: 'Europe/Paris' };
}

async function activity(partner: TestPartner, fields: ActivityFields) {
  const outcome = await partner.client.submitActivity(fields);
  if (!outcome.ok) throw new Error(`${outcome.errorCode}: ${outcome.message}`);
  return outcome.data;
}

async function sendRaw(partner: TestPartner, fields: Record<string, unknown>) {
  return sendInstruction(
    hub,
    'activity',
    await signRaw(instructionClaims(partner.id, 'activity', fields, { now: hub.clock.now() }), partner.key),
  );
}

beforeAll(async () => {
  hub = await TestHub.start({ purchaseListeners: [listener] });
  cafe = await hub.registerPartner('CAFE');
  bank = await hub.registerPartner('BANK', 'ES256');
  shop = await hub.registerPartner('SHOP');
  const operator = await hub.operatorToken();
  const contracts = [
    ['CAFE', '{ tierMultipliers: { Gold: "2" } }'],
    ['BANK', '{ issuePrice: "0.5" }'],
  ];
  for (const [id, input] of contracts) {
    const set = await hub.graphql(`mutation { setPartnerContract(partnerId: "${id}", input: ${input}) { __typename } }`, {}, operator);
    expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  }
  for (const member of ['ann', 'bob', 'gil', 'ret']) await cafe.client.enrollMember({ member });
  // CAFE sets its own rules with its partner token; the operator sets SHOP's.
  const own = await partnerToken(cafe);
  expect(await setRule(own, { ruleId: 'base', name: 'Base', kind: 'spend', pointsPerUnit: '1', unitMinor: '100' })).toMatchObject({
    __typename: 'EarnRule',
    version: 1,
  });
  await setRule(own, { ruleId: 'coffee', name: 'Coffee', kind: 'spend', pointsPerUnit: '2', category: 'coffee' });
  await setRule(own, { ruleId: 'welcome', name: 'Welcome', kind: 'action', action: 'signup', points: '100' });
  expect(await setRule(own, { ruleId: 'app', name: 'App', kind: 'action', action: 'engagement', points: '5' })).toMatchObject({
    __typename: 'InvalidInput',
  });
  expect(
    (
      await hub.graphql(
        'mutation { setEarnRule(partnerId: "SHOP", input: { ruleId: "x", name: "X", kind: spend, pointsPerUnit: "1" }) { __typename } }',
        {},
        own,
      )
    ).errors?.[0]?.extensions?.code,
  ).toBe('FORBIDDEN');
  await setRule(operator, { ruleId: 'base', name: 'Shop base', kind: 'spend', pointsPerUnit: '1' }, 'SHOP');
});

afterAll(() => hub.stop());

describe('the loyalty engine', () => {
  let coffeeWeek: string;

  it('gives a welcome bonus for a sign-up, once', async () => {
    const welcome = await createCampaign({
      name: 'Welcome',
      kind: 'bonus',
      bonusPoints: '50',
      trigger: 'signup',
      ...window(),
      funders: [{ partnerId: 'CAFE', share: '1' }],
    });
    expect(welcome.__typename).toBe('Campaign');
    const first = await activity(cafe, { activity: 'action', member: 'ann', action: 'signup' });
    expect(first).toMatchObject({ amount: '150', balance: '150', activity: 'action' });
    expect(first.contributions.map((c) => [c.source, c.points, c.reason])).toEqual([
      ['rule', '100', 'Welcome: 100 for signup'],
      ['campaign', '50', 'Welcome campaign +50'],
    ]);
    const again = await activity(cafe, { activity: 'action', member: 'ann', action: 'signup' });
    expect(again).toMatchObject({ amount: '0', balance: '150', entryId: null, notes: ['signup was recorded before: it earns once'] });
  });

  it('earns on a purchase by category rule and a campaign, each contribution floored on its own, and lists them on the receipt', async () => {
    const made = await createCampaign({
      name: 'Coffee week',
      kind: 'multiplier',
      multiplier: '1.5',
      ...window(),
      funders: [{ partnerId: 'CAFE', share: '1' }],
    });
    coffeeWeek = made.id;
    const lines = [
      { category: 'coffee', sku: 'ESP', quantity: 2, amount: '650' },
      { category: 'food', sku: 'CRO', quantity: 1, amount: '401' },
    ];
    const bought = await activity(cafe, {
      activity: 'purchase',
      member: 'bob',
      total: '1051',
      currency: 'EUR',
      lines,
      orderRef: 'order-1',
    });
    // Base 10.51 → 10; coffee 13 → 13; Coffee week (10.51 + 13) × 0.5 = 11.755 → 11.
    expect(bought.contributions.map((c) => [c.source, c.sourceId, c.version, c.points, c.reason])).toEqual([
      ['rule', 'base', 1, '10', 'Base: 1 per 100 spent'],
      ['rule', 'coffee', 1, '13', 'Coffee: 2 per 100 spent on coffee'],
      ['campaign', coffeeWeek, 1, '11', 'Coffee week campaign ×1.5'],
    ]);
    expect(bought).toMatchObject({ amount: '34', balance: '34' });
    const history = await hub.graphql(
      '{ me { history(first: 1) { edges { node { id type rates } } } } }',
      {},
      await hub.memberToken(cafe, 'bob'),
    );
    expect(history.data?.me.history.edges[0].node).toMatchObject({
      id: bought.entryId,
      type: 'issue',
      rates: { rules: 'base@1,coffee@1,welcome@1', activity: 'purchase', 'campaignPoints:CAFE': '11' },
    });
    expect((await campaign('CAFE', coffeeWeek)).pointsUsed).toBe('11');
  });

  it('tells the purchase listeners of each purchase, in its transaction, and of nothing else', async () => {
    const before = heard.length;
    await activity(cafe, { activity: 'action', member: 'bob', action: 'review' });
    expect(heard.length).toBe(before);
    const bought = await activity(cafe, { activity: 'purchase', member: 'bob', total: '100', currency: 'EUR', orderRef: 'order-heard' });
    expect(heard.length).toBe(before + 1);
    expect(heard.at(-1)).toMatchObject({
      activityId: bought.activityId,
      entryId: bought.entryId,
      partnerId: 'CAFE',
      orderRef: 'order-heard',
      totalMinor: 100n,
      firstAtPartner: false,
      sawOwnRow: true,
    });
  });

  it('gives Gold members double (the contract multiplier for Gold)', async () => {
    await cafe.client.issuePoints({ member: 'gil', amount: '5000' });
    const bought = await activity(cafe, { activity: 'purchase', member: 'gil', total: '1000', currency: 'EUR' });
    expect(bought.contributions.map((c) => [c.source, c.points, c.reason])).toEqual([
      ['rule', '10', 'Base: 1 per 100 spent'],
      ['tier', '10', 'Gold tier +100 %'],
      ['campaign', '5', 'Coffee week campaign ×1.5'],
    ]);
  });

  it('gives back exactly what a purchase earned over partial and full returns, and never more', async () => {
    const bought = await activity(cafe, {
      activity: 'purchase',
      member: 'ret',
      total: '1000',
      currency: 'EUR',
      lines: [{ category: 'coffee', amount: '1000' }],
      orderRef: 'order-r',
    });
    expect(bought.amount).toBe('45'); // 10 + 20 + 15
    const part = await activity(cafe, { activity: 'return', member: 'ret', purchase: 'order-r', amount: '333' });
    // Lots: CAFE rules 30 → 9; CAFE campaign 15 → 4.
    expect(part).toMatchObject({ amount: '13', balance: '32', reversesEntryId: bought.entryId });
    const rest = await activity(cafe, { activity: 'return', member: 'ret', entry: bought.entryId!, amount: '667' });
    expect(rest).toMatchObject({ amount: '32', balance: '0' });
    await expectNothingWritten(hub, async () => {
      expect(await sendRaw(cafe, { member: 'ret', activity: 'return', purchase: 'order-r', amount: '1' })).toMatchObject({
        __typename: 'ReturnExceedsPurchase',
        remaining: '0',
      });
      expect(await sendRaw(cafe, { member: 'ret', activity: 'return', purchase: 'no-such-order', amount: '1' })).toMatchObject({
        __typename: 'PurchaseNotFound',
      });
    });
  });

  it('refuses bad activities with a typed result and writes nothing', async () => {
    const own = await partnerToken(cafe);
    const set = await hub.graphql(
      'mutation { setEarnCategories(categories: ["coffee", "food"]) { __typename ... on EarnCategories { categories } } }',
      {},
      own,
    );
    expect(set.data?.setEarnCategories).toEqual({ __typename: 'EarnCategories', categories: ['coffee', 'food'] });
    await expectNothingWritten(hub, async () => {
      const purchase = { member: 'bob', activity: 'purchase', currency: 'EUR' };
      expect(await sendRaw(cafe, { ...purchase, total: '-5' })).toMatchObject({ __typename: 'InvalidAmount' });
      expect(await sendRaw(cafe, { ...purchase, total: '12.5' })).toMatchObject({ __typename: 'InvalidAmount' });
      expect(await sendRaw(cafe, { ...purchase, total: '500', lines: [{ category: 'tea', quantity: '1', amount: '500' }] })).toMatchObject({
        __typename: 'UnknownCategory',
        category: 'tea',
      });
      expect(await sendRaw(cafe, { ...purchase, total: '500', member: 'nobody' })).toMatchObject({ __typename: 'UnknownMember' });
      expect(await sendRaw(cafe, { ...purchase, total: '500', currency: 'USD' })).toMatchObject({ __typename: 'InvalidInstruction' });
      expect(await sendRaw(cafe, { ...purchase, total: '500', orderRef: 'order-1' })).toMatchObject({ __typename: 'InvalidInstruction' });
    });
    await hub.graphql('mutation { setEarnCategories(categories: []) { __typename } }', {}, own);
  });

  it('answers a replayed activity with the same receipt, without evaluating again', async () => {
    const signed = await signInstruction({
      partnerId: 'CAFE',
      hubId: HUB_ID,
      key: cafe.key,
      op: 'activity',
      now: hub.clock.now(),
      fields: { activity: 'purchase', member: 'ann', total: '200', currency: 'EUR', orderRef: 'order-replay' },
    });
    const first = await cafe.client.submitSigned('activity', signed.jws);
    const second = await cafe.client.submitSigned('activity', signed.jws);
    if (!first.ok || !second.ok) throw new Error('activity refused');
    expect(second.data).toEqual({ ...first.data, replayed: true });
    expect(second.data.receipt).toBe(first.data.receipt);
  });

  it('stops a campaign exactly at its points budget under 200 concurrent activities', async () => {
    const made = await createCampaign({
      name: 'Launch',
      kind: 'bonus',
      bonusPoints: '7',
      pointsCap: '1000',
      ...window(),
      funders: [{ partnerId: 'SHOP', share: '1' }],
    });
    const members = Array.from({ length: 40 }, (_, index) => `m${index}`);
    for (const member of members) await shop.client.enrollMember({ member });
    // One budget row: the 200 wait for it one after the other, so the client waits longer than its default.
    const patient = new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'SHOP', key: shop.key, timeoutMs: 120_000 });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        patient.submitActivity({ activity: 'purchase', member: members[index % 40]!, total: '100', currency: 'EUR' }),
      ),
    );
    let bonus = 0n;
    for (const outcome of outcomes) {
      if (!outcome.ok) throw new Error(`${outcome.errorCode}: ${outcome.message}`);
      for (const c of outcome.data.contributions) if (c.source === 'campaign') bonus += BigInt(c.points);
    }
    expect(bonus).toBe(1000n);
    expect((await campaign('SHOP', made.id)).pointsUsed).toBe('1000');
    const after = await activity(shop, { activity: 'purchase', member: 'm0', total: '100', currency: 'EUR' });
    expect(after.contributions.map((c) => c.source)).toEqual(['rule']);
    expect(after.notes).toEqual(['Launch: budget exhausted, not applied']);
  });

  it('counts a campaign without a budget over many members on its usage rows, never on one locked row, and reports it exactly', async () => {
    const made = await createCampaign({
      name: 'Open',
      kind: 'bonus',
      bonusPoints: '3',
      ...window(),
      funders: [{ partnerId: 'SHOP', share: '1' }],
    });
    const members = Array.from({ length: 40 }, (_, index) => `open${index}`);
    for (const member of members) await shop.client.enrollMember({ member });
    const outcomes = await Promise.all(
      Array.from({ length: 80 }, (_, index) =>
        shop.client.submitActivity({ activity: 'purchase', member: members[index % 40]!, total: '100', currency: 'EUR' }),
      ),
    );
    let bonus = 0n;
    for (const outcome of outcomes) {
      if (!outcome.ok) throw new Error(`${outcome.errorCode}: ${outcome.message}`);
      for (const c of outcome.data.contributions) if (c.sourceId === made.id) bonus += BigInt(c.points);
    }
    expect(bonus).toBe(240n);
    expect(await campaign('SHOP', made.id)).toMatchObject({ pointsUsed: '240' });
    const rows: Array<{ row_points: string; shards: number; shard_points: string; members: number; member_points: string }> =
      await hub.hub.dataSource.query(
        `SELECT c.points_used::text AS row_points,
                (SELECT count(*)::int FROM campaign_usage u WHERE u.campaign_id = c.id) AS shards,
                (SELECT sum(points)::text FROM campaign_usage u WHERE u.campaign_id = c.id) AS shard_points,
                (SELECT count(*)::int FROM campaign_member m WHERE m.campaign_id = c.id) AS members,
                (SELECT sum(points)::text FROM campaign_member m WHERE m.campaign_id = c.id) AS member_points
         FROM campaign c WHERE c.id = $1`,
        [made.id],
      );
    // The campaign's own row is untouched; forty members spread over several of the sixteen usage rows.
    expect(rows[0]).toMatchObject({ row_points: '0', shard_points: '240', members: 40, member_points: '240' });
    expect(rows[0]!.shards).toBeGreaterThan(4);
  });

  it('refuses an activity a strict campaign cannot pay for (CampaignBudgetExhausted), writing nothing', async () => {
    await shop.client.enrollMember({ member: 'strict' });
    await createCampaign({
      name: 'Strict',
      kind: 'bonus',
      bonusPoints: '7',
      pointsCap: '10',
      strict: true,
      trigger: 'review',
      ...window(),
      funders: [{ partnerId: 'SHOP', share: '1' }],
    });
    expect(await activity(shop, { activity: 'action', member: 'strict', action: 'review' })).toMatchObject({ amount: '7' });
    await expectNothingWritten(hub, async () => {
      expect(await sendRaw(shop, { member: 'strict', activity: 'action', action: 'review' })).toMatchObject({
        __typename: 'CampaignBudgetExhausted',
      });
    });
  });

  it('charges a coalition campaign to each funder at its issue price, on its own statement line kind, and reconciles', async () => {
    await bank.client.enrollMember({ member: 'ann' });
    const made = await createCampaign({
      name: 'Card',
      kind: 'bonus',
      bonusPoints: '40',
      moneyCapMinor: '1000',
      ...window(),
      funders: [
        { partnerId: 'CAFE', share: '0.25' },
        { partnerId: 'BANK', share: '0.75' },
      ],
    });
    const bought = await activity(cafe, { activity: 'purchase', member: 'ann', total: '300', currency: 'EUR', orderRef: 'order-card' });
    expect(bought.contributions.filter((c) => c.sourceId === made.id).map((c) => [c.fundingPartnerId, c.points, c.reason])).toEqual([
      ['BANK', '30', "Card campaign +40 (BANK's share 0.75)"],
      ['CAFE', '10', "Card campaign +40 (CAFE's share 0.25)"],
    ]);
    // Money: BANK 30 × 0.5 = 15, CAFE 10 × 1 = 10.
    expect(await campaign('BANK', made.id)).toMatchObject({ pointsUsed: '40', moneyUsedMinor: '25' });
    const { currentSettlementPeriod } = await hub.asStaff('{ currentSettlementPeriod { id } }');
    hub.clock.advance(1000);
    const closed = await hub.asStaff(`mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }`, {
      id: currentSettlementPeriod.id,
    });
    expect(closed.closeSettlementPeriod.__typename).toBe('SettlementPeriod');
    const { settlementPeriod } = await hub.asStaff(
      `query($id: ID!) { settlementPeriod(id: $id) { positions(first: 10) { edges { node { partnerId issued { points moneyMinor } campaign { lines points moneyMinor } issueReversals { points moneyMinor } } } } } }`,
      { id: currentSettlementPeriod.id },
    );
    const positions = Object.fromEntries(settlementPeriod.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));
    expect(positions.BANK.campaign).toEqual({ lines: 1, points: '30', moneyMinor: '15' });
    expect(positions.BANK.issued).toEqual({ points: '0', moneyMinor: '0' });
    expect(BigInt(positions.CAFE.campaign.points)).toBeGreaterThan(0n);
    const { reconciliation } = await hub.asStaff(`query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`, {
      id: currentSettlementPeriod.id,
    });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
  });

  it('keeps the ledger whole', async () => {
    expect((await hub.integrity()).ok).toBe(true);
  });
});
