import { hashEmail, signAccessToken, signInstruction, type FieldsByOp } from '@coalition-hub/partner-sdk';
import { randomUUID } from 'node:crypto';
import { expectNothingWritten } from './support/ledger-snapshot';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The rewards catalogue (docs/rewards.md) through GraphQL and the partner SDK: publishing and
 * listing, a tier perk of one partner redeemed by another partner's member, member and
 * partner-on-behalf redemptions, single use, refusals that write nothing, the expiry refund
 * (exactly once), stock under concurrent redemptions, and the reward lines of settlement with
 * the reconciliation identity.
 */
let hub: TestHub;
let air: TestPartner;
let shop: TestPartner;
let cafe: TestPartner;

const DAY_MS = 86_400_000;
const RESULT = '__typename ... on ErrorResult { errorCode message }';
const REWARD_FIELDS = 'id partnerId kind title pricePoints stock minTier coalitionWide costMinor costCurrency eligible active';
const ENTITLEMENT_FIELDS = 'id code rewardId partnerId memberId status expiresAt usedAt';
const REDEEM = `mutation($reward: ID!, $key: String!) { result: redeemReward(rewardId: $reward, idempotencyKey: $key) { ${RESULT}
  ... on RewardRedemption { entryId memberId amount balance replayed consumed { issuerPartnerId amount } entitlement { ${ENTITLEMENT_FIELDS} } } } }`;

/** Tokens and instructions signed on the hub's clock, which the tests move. */
const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });
const memberToken = (partner: TestPartner, memberRef: string) =>
  signAccessToken({ issuer: partner.id, subject: memberRef, scope: 'member', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

async function submit<O extends 'redeem_reward' | 'use_entitlement' | 'issue'>(partner: TestPartner, op: O, fields: FieldsByOp[O]) {
  const signed = await signInstruction({ partnerId: partner.id, hubId: HUB_ID, key: partner.key, op, fields, now: hub.clock.now() });
  return partner.client.submitSigned(op, signed.jws);
}

async function ok<T extends { ok: boolean }>(outcome: Promise<T>): Promise<Extract<T, { ok: true }>> {
  const result = await outcome;
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result as Extract<T, { ok: true }>;
}

async function createReward(partner: TestPartner, input: Record<string, unknown>): Promise<any> {
  const response = await hub.graphql(
    `mutation($input: CreateRewardInput!) { result: createReward(input: $input) { ${RESULT} ... on Reward { ${REWARD_FIELDS} } } }`,
    { input: { costCurrency: 'EUR', entitlementDays: 30, refundPolicy: 'full', ...input } },
    await partnerToken(partner),
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.result;
}

async function redeemAsMember(partner: TestPartner, memberRef: string, rewardId: string, key: string): Promise<any> {
  const response = await hub.graphql(REDEEM, { reward: rewardId, key }, await memberToken(partner, memberRef));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.result;
}

async function balanceOf(partner: TestPartner, memberRef: string): Promise<string> {
  return (await hub.graphql('{ me { balance } }', {}, await memberToken(partner, memberRef))).data!.me.balance;
}

async function entitlementCount(): Promise<number> {
  const [row] = await hub.ownerQuery<{ n: number }>('SELECT count(*)::int AS n FROM entitlement');
  return row!.n;
}

/** A refusal: the typed result, and not a row written anywhere (ledger, entitlements, stock). */
async function refusedWithNothingWritten(action: () => Promise<any>): Promise<any> {
  const entitlementsBefore = await entitlementCount();
  const stockBefore = await hub.ownerQuery('SELECT id, stock::text FROM reward ORDER BY id');
  const result = await expectNothingWritten(hub, action);
  expect(await entitlementCount()).toBe(entitlementsBefore);
  expect(await hub.ownerQuery('SELECT id, stock::text FROM reward ORDER BY id')).toEqual(stockBefore);
  return result;
}

let lounge: any;
let mug: any;
let periodId: string;

beforeAll(async () => {
  hub = await TestHub.start();
  air = await hub.registerPartner('AIR');
  shop = await hub.registerPartner('SHOP', 'ES256');
  cafe = await hub.registerPartner('CAFE');
  periodId = (await hub.asStaff('{ currentSettlementPeriod { id } }')).currentSettlementPeriod.id;
  // gold: a Gold member of SHOP only; basic: a Base member of SHOP and AIR; poor: 10 CP.
  await ok(shop.client.enrollMember({ member: 'gold' }));
  await ok(shop.client.issuePoints({ member: 'gold', amount: '6000' }));
  await ok(shop.client.enrollMember({ member: 'basic', emailHash: hashEmail('basic@example.com') }));
  await ok(air.client.enrollMember({ member: 'b-1', emailHash: hashEmail('basic@example.com') }));
  await ok(shop.client.issuePoints({ member: 'basic', amount: '800' }));
  await ok(shop.client.enrollMember({ member: 'poor' }));
  await ok(shop.client.issuePoints({ member: 'poor', amount: '10' }));
});

afterAll(() => hub.stop());

describe('publishing and listing', () => {
  it('lets a partner publish rewards through GraphQL and refuses bad ones as InvalidInput', async () => {
    lounge = await createReward(air, {
      kind: 'tier_perk',
      title: 'Lounge visit',
      pricePoints: '500',
      stock: '5',
      minTier: 'Gold',
      costMinor: '2000',
    });
    expect(lounge).toMatchObject({ __typename: 'Reward', partnerId: 'AIR', coalitionWide: true, stock: '5', costMinor: '2000' });
    mug = await createReward(shop, { kind: 'product', title: 'Mug', pricePoints: '100', costMinor: '300', refundPolicy: 'none' });
    expect(mug).toMatchObject({ coalitionWide: false, stock: null });

    expect(await createReward(air, { kind: 'product', title: 'x', pricePoints: '1', costMinor: '1', minTier: 'Platinum' })).toMatchObject({
      __typename: 'InvalidInput',
    });
    expect(await createReward(air, { kind: 'product', title: 'x', pricePoints: '1', costMinor: '1', costCurrency: 'USD' })).toMatchObject({
      __typename: 'InvalidInput',
    });
    const asMember = await hub.graphql(
      'mutation { createReward(input: { kind: product, title: "x", pricePoints: "1", costMinor: "1", costCurrency: "EUR", entitlementDays: 1, refundPolicy: full }) { __typename } }',
      {},
      await memberToken(shop, 'gold'),
    );
    expect(asMember.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('shows members the rewards they may redeem (flagged), and partners their own and coalition-wide ones', async () => {
    const list = async (token: string, extra = '') =>
      (await hub.graphql(`{ rewards(first: 10${extra}) { edges { node { ${REWARD_FIELDS} } } } }`, {}, token)).data!.rewards.edges.map(
        (edge: any) => edge.node,
      );
    const gold = await list(await memberToken(shop, 'gold'));
    expect(gold.map((reward: any) => [reward.title, reward.eligible])).toEqual([
      ['Lounge visit', true],
      ['Mug', true],
    ]);
    expect(gold[0].costMinor).toBeNull();
    const basic = await list(await memberToken(shop, 'basic'));
    expect(basic.map((reward: any) => reward.title)).toEqual(['Mug']);
    const basicAll = await list(await memberToken(shop, 'basic'), ', eligibleOnly: false');
    expect(basicAll.map((reward: any) => [reward.title, reward.eligible])).toEqual([
      ['Lounge visit', false],
      ['Mug', true],
    ]);
    const cafeSees = await list(await partnerToken(cafe));
    expect(cafeSees.map((reward: any) => [reward.title, reward.costMinor])).toEqual([['Lounge visit', null]]);
    const airSees = await list(await partnerToken(air));
    expect(airSees.map((reward: any) => [reward.title, reward.costMinor])).toEqual([['Lounge visit', '2000']]);
  });
});

describe('redeeming', () => {
  let code: string;

  it("redeems another partner's tier perk with a member token, once per idempotency key", async () => {
    const redeemed = await redeemAsMember(shop, 'gold', lounge.id, 'app-1');
    expect(redeemed).toMatchObject({ __typename: 'RewardRedemption', amount: '500', balance: '5500', replayed: false });
    expect(redeemed.consumed).toEqual([{ issuerPartnerId: 'SHOP', amount: '500' }]);
    expect(redeemed.entitlement).toMatchObject({ rewardId: lounge.id, partnerId: 'AIR', status: 'issued', usedAt: null });
    expect(redeemed.entitlement.code).toMatch(/^[A-Z2-7]{26}$/);
    code = redeemed.entitlement.code;

    // A retry with the same key answers the original and writes nothing.
    const again = await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', lounge.id, 'app-1'));
    expect(again).toMatchObject({ replayed: true, entryId: redeemed.entryId, entitlement: { code } });
    const conflict = await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', mug.id, 'app-1'));
    expect(conflict.__typename).toBe('IdempotencyConflict');
    expect(await balanceOf(shop, 'gold')).toBe('5500');

    const stock = await hub.graphql(`query($id: ID!) { reward(id: $id) { stock } }`, { id: lounge.id }, await partnerToken(air));
    expect(stock.data!.reward.stock).toBe('4');
    const history = await hub.graphql(
      '{ me { history(first: 1) { edges { node { type partnerId } } } } }',
      {},
      await memberToken(shop, 'gold'),
    );
    expect(history.data!.me.history.edges[0].node).toEqual({ type: 'reward', partnerId: 'AIR' });
  });

  it('redeems on the member’s behalf with a signed redeem_reward instruction (jti idempotent)', async () => {
    const jti = randomUUID();
    const signed = await signInstruction({
      partnerId: shop.id,
      hubId: HUB_ID,
      key: shop.key,
      op: 'redeem_reward',
      fields: { member: 'basic', reward: mug.id },
      jti,
      now: hub.clock.now(),
    });
    const outcome = await ok(shop.client.submitSigned('redeem_reward', signed.jws));
    expect(outcome.data).toMatchObject({ amount: '100', balance: '700', replayed: false });
    expect(outcome.receipt.entitlement).toMatchObject({ partnerId: 'SHOP', status: 'issued', rewardId: mug.id });
    const replay = await ok(shop.client.submitSigned('redeem_reward', signed.jws));
    expect(replay.data).toMatchObject({ replayed: true, entryId: outcome.data.entryId });
    expect(replay.receipt.entitlement.code).toBe(outcome.receipt.entitlement.code);
    // The SDK method signs and sends in one call.
    const viaSdk = await ok(shop.client.redeemReward({ member: 'gold', reward: mug.id }));
    expect(viaSdk.data.entitlement.partnerId).toBe('SHOP');
  });

  it('lets the providing partner look an entitlement up and use it once; another partner cannot', async () => {
    const lookup = async (partner: TestPartner) =>
      hub.graphql(
        `query($code: String!) { entitlementByCode(code: $code) { ${ENTITLEMENT_FIELDS} rewardTitle } }`,
        { code },
        await partnerToken(partner),
      );
    expect((await lookup(air)).data!.entitlementByCode).toMatchObject({ code, status: 'issued', rewardTitle: 'Lounge visit' });
    expect((await lookup(shop)).data!.entitlementByCode).toBeNull();

    const byShop = await refusedWithNothingWritten(() => submit(shop, 'use_entitlement', { code }));
    expect(byShop).toMatchObject({ ok: false, errorCode: 'ENTITLEMENT_NOT_FOUND' });
    const used = await ok(air.client.useEntitlement({ code }));
    expect(used.receipt.entitlement).toMatchObject({ code, status: 'used' });
    const twice = await submit(air, 'use_entitlement', { code });
    expect(twice).toMatchObject({ ok: false, errorCode: 'ENTITLEMENT_ALREADY_USED' });
    expect((await lookup(air)).data!.entitlementByCode.status).toBe('used');
  });

  it('refuses with a typed result and writes nothing: unknown reward, not eligible, outside validity, out of stock, insufficient balance, unknown member', async () => {
    expect((await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', randomUUID(), 'k-1'))).__typename).toBe('RewardNotFound');
    expect((await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', 'not-an-id', 'k-1'))).__typename).toBe('RewardNotFound');
    expect((await refusedWithNothingWritten(() => redeemAsMember(shop, 'basic', lounge.id, 'k-1'))).__typename).toBe('RewardNotEligible');
    // A SHOP-only product is not for a member of AIR alone.
    await ok(air.client.enrollMember({ member: 'flyer' }));
    await ok(air.client.issuePoints({ member: 'flyer', amount: '1000' }));
    expect((await refusedWithNothingWritten(() => redeemAsMember(air, 'flyer', mug.id, 'k-1'))).__typename).toBe('RewardNotEligible');

    const later = await createReward(shop, {
      kind: 'experience',
      title: 'Next season',
      pricePoints: '10',
      costMinor: '0',
      validFrom: new Date(hub.clock.now().getTime() + 10 * DAY_MS).toISOString(),
    });
    expect((await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', later.id, 'k-1'))).__typename).toBe('RewardNotAvailable');
    const soldOut = await createReward(shop, { kind: 'discount', title: 'Gone', pricePoints: '10', costMinor: '0', stock: '0' });
    expect((await refusedWithNothingWritten(() => redeemAsMember(shop, 'gold', soldOut.id, 'k-1'))).__typename).toBe('RewardOutOfStock');
    const poor = await refusedWithNothingWritten(() => redeemAsMember(shop, 'poor', mug.id, 'k-1'));
    expect(poor).toMatchObject({ __typename: 'InsufficientBalance', errorCode: 'INSUFFICIENT_BALANCE' });
    const nobody = await refusedWithNothingWritten(() => submit(shop, 'redeem_reward', { member: 'nobody', reward: mug.id }));
    expect(nobody).toMatchObject({ ok: false, errorCode: 'UNKNOWN_MEMBER' });
    const withdrawn = await hub.graphql(
      `mutation($id: ID!) { result: updateReward(id: $id, input: { active: false }) { ${RESULT} ... on Reward { active } } }`,
      { id: later.id },
      await partnerToken(shop),
    );
    expect(withdrawn.data!.result).toEqual({ __typename: 'Reward', active: false });
    const notHers = await hub.graphql(
      `mutation($id: ID!) { result: updateReward(id: $id, input: { active: false }) { ${RESULT} } }`,
      { id: lounge.id },
      await partnerToken(shop),
    );
    expect(notHers.data!.result.__typename).toBe('NotFound');
  });

  it('shows the member its entitlements with code, status and expiry', async () => {
    const me = await hub.graphql(
      `{ me { entitlements(first: 10) { edges { node { code status expiresAt rewardTitle partnerId } } } } }`,
      {},
      await memberToken(shop, 'gold'),
    );
    const nodes = me.data!.me.entitlements.edges.map((edge: any) => edge.node);
    expect(nodes.map((node: any) => [node.rewardTitle, node.status])).toEqual([
      ['Mug', 'issued'],
      ['Lounge visit', 'used'],
    ]);
    expect(new Date(nodes[1].expiresAt).getTime()).toBeGreaterThan(hub.clock.now().getTime() + 29 * DAY_MS);
  });
});

describe('settlement', () => {
  it('settles a reward to the providing partner at its declared cost, and the identity holds', async () => {
    const closed = await hub.asStaff(
      `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { ${RESULT} ... on SettlementPeriod { id
        positions(first: 10) { edges { node { partnerId netMinor rewards { lines points moneyMinor } rewardRefunds { lines } } } } } } }`,
      { id: periodId },
    );
    const positions = Object.fromEntries(closed.result.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));
    expect(positions.AIR.rewards).toEqual({ lines: 1, points: '500', moneyMinor: '-2000' });
    expect(positions.SHOP.rewards).toEqual({ lines: 2, points: '200', moneyMinor: '-600' });
    const { reconciliation } = await hub.asStaff(`query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`, { id: periodId });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
  });
});

describe('expiry', () => {
  it('refunds unused expired entitlements per policy, exactly once, and refuses to use them after', async () => {
    const refundable = await redeemAsMember(shop, 'gold', lounge.id, 'app-2');
    expect(refundable.balance).toBe('4900');
    const period = (await hub.asStaff('{ currentSettlementPeriod { id } }')).currentSettlementPeriod.id;
    hub.clock.advance(31 * DAY_MS);
    try {
      const expired = await submit(air, 'use_entitlement', { code: refundable.entitlement.code });
      expect(expired).toMatchObject({ ok: false, errorCode: 'ENTITLEMENT_EXPIRED' });
      // Two runs at once and one after: each entitlement is closed once.
      const runs = await Promise.all([hub.hub.jobs.rewardExpiry.run(), hub.hub.jobs.rewardExpiry.run()]);
      expect(runs.reduce((sum, run) => sum + run.refunded, 0)).toBe(1);
      // The two mugs (policy none) expire without a refund.
      expect(runs.reduce((sum, run) => sum + run.expired, 0)).toBe(2);
      expect(await hub.hub.jobs.rewardExpiry.run()).toEqual({ expired: 0, refunded: 0, pointsRefunded: 0n });
      expect(await balanceOf(shop, 'gold')).toBe('5400');
      expect(await balanceOf(shop, 'basic')).toBe('700');
      const statuses = await hub.ownerQuery<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM entitlement GROUP BY status ORDER BY status',
      );
      expect(statuses).toEqual([
        { status: 'expired', n: 2 },
        { status: 'refunded', n: 1 },
        { status: 'used', n: 1 },
      ]);
      const [refund] = await hub.ownerQuery('SELECT type, partner_id FROM journal_entry WHERE type = $1', ['reward_refund']);
      expect(refund).toEqual({ type: 'reward_refund', partner_id: 'AIR' });

      const closed = await hub.asStaff(
        `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { ${RESULT} ... on SettlementPeriod { id
          positions(first: 10) { edges { node { partnerId rewards { moneyMinor } rewardRefunds { lines points moneyMinor } } } } } } }`,
        { id: period },
      );
      const airPosition = closed.result.positions.edges.find((edge: any) => edge.node.partnerId === 'AIR').node;
      expect(airPosition).toMatchObject({
        rewards: { moneyMinor: '-2000' },
        rewardRefunds: { lines: 1, points: '500', moneyMinor: '2000' },
      });
      const { reconciliation } = await hub.asStaff(`query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`, { id: period });
      expect(reconciliation).toEqual({ ok: true, differences: [] });
    } finally {
      hub.clock.advance(-31 * DAY_MS);
    }
  });
});

describe('stock under concurrency', () => {
  it('gives exactly 10 of 50 concurrent redemptions of a stock of 10, and never goes below zero', async () => {
    const limited = await createReward(cafe, { kind: 'product', title: 'Ten cakes', pricePoints: '50', costMinor: '100', stock: '10' });
    const refs = Array.from({ length: 50 }, (_, i) => `cake-${i}`);
    for (const ref of refs) {
      await ok(cafe.client.enrollMember({ member: ref }));
      await ok(cafe.client.issuePoints({ member: ref, amount: '100' }));
    }
    const tokens = await Promise.all(refs.map((ref) => memberToken(cafe, ref)));
    const results = await Promise.all(
      tokens.map(
        async (token, i) => (await hub.graphql(REDEEM, { reward: limited.id, key: `cake-key-${i}` }, token)).data!.result.__typename,
      ),
    );
    expect(results.filter((name) => name === 'RewardRedemption')).toHaveLength(10);
    expect(results.filter((name) => name === 'RewardOutOfStock')).toHaveLength(40);
    const [row] = await hub.ownerQuery<{ stock: string; n: number }>(
      'SELECT r.stock::text, (SELECT count(*)::int FROM entitlement e WHERE e.reward_id = r.id) AS n FROM reward r WHERE r.id = $1',
      [limited.id],
    );
    expect(row).toEqual({ stock: '0', n: 10 });
    // The stock can never be set below zero either: the database refuses it.
    await expect(hub.ownerQuery('UPDATE reward SET stock = -1 WHERE id = $1', [limited.id])).rejects.toThrow(/check/);
  });
});
