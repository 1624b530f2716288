import { eventsAfter, lastEventSeq } from './support/events';
import { PartnerClient, signAccessToken, signInstruction, type ActivityFields, type ActivityLine } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Stamp cards (docs/stamp-cards.md) through GraphQL and the partner SDK: buy 10 coffees, the
 * reward; carry-over to the next card; categories that do not match; returns; replays; concurrent
 * purchases of one member; settlement of the reward like issued points.
 */
let hub: TestHub;
let cafe: TestPartner;
let shop: TestPartner;
let coffeeCard: string;

const RESULT = '__typename ... on ErrorResult { errorCode message }';
const CARD = 'id partnerId name category stampsRequired reward { kind points } startsAt endsAt';

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

async function createCard(token: string, input: Record<string, unknown>, partnerId?: string) {
  const response = await hub.graphql(
    `mutation($input: StampCardInput!, $partnerId: ID) { result: createStampCard(input: $input, partnerId: $partnerId) { ${RESULT} ... on StampCard { ${CARD} } } }`,
    { input, partnerId },
    token,
  );
  return response;
}

async function buy(partner: TestPartner, member: string, lines: ActivityLine[], extra: Partial<ActivityFields> = {}) {
  const total = lines.reduce((sum, line) => sum + BigInt(line.amount as string), 0n).toString();
  const outcome = await partner.client.submitActivity({
    activity: 'purchase',
    member,
    total,
    currency: 'EUR',
    lines,
    ...extra,
  } as ActivityFields);
  if (!outcome.ok) throw new Error(`${outcome.errorCode}: ${outcome.message}`);
  return outcome.data;
}

const coffees = (quantity: number) => ({ category: 'coffee', quantity, amount: String(250 * quantity) });

async function myCards(member: string, partner: TestPartner = cafe) {
  const response = await hub.graphql(
    `{ me { balance stampCards(first: 10) { edges { node { card { name stampsRequired } stamps completedCount } } } } }`,
    {},
    await hub.memberToken(partner, member),
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.me as { balance: string; stampCards: { edges: Array<{ node: any }> } };
}

const coffeeProgress = async (member: string) =>
  (await myCards(member)).stampCards.edges.map((edge) => edge.node).find((node) => node.card.name === 'Coffee card');

beforeAll(async () => {
  hub = await TestHub.start();
  cafe = await hub.registerPartner('CAFE');
  shop = await hub.registerPartner('SHOP');
  for (const member of ['ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus']) await cafe.client.enrollMember({ member });
  const own = await partnerToken(cafe);
  const categories = await hub.graphql(`mutation { setEarnCategories(categories: ["coffee", "pastry"]) { __typename } }`, {}, own);
  expect(categories.data?.setEarnCategories.__typename).toBe('EarnCategories');
});

afterAll(() => hub.stop());

describe('stamp cards', () => {
  it('are defined by the partner for its own categories, or by the operator for any partner', async () => {
    const own = await partnerToken(cafe);
    const made = await createCard(own, {
      name: 'Coffee card',
      category: 'coffee',
      stampsRequired: 10,
      reward: { kind: 'points', points: '300' },
    });
    expect(made.data!.result).toMatchObject({
      __typename: 'StampCard',
      partnerId: 'CAFE',
      name: 'Coffee card',
      category: 'coffee',
      stampsRequired: 10,
      reward: { kind: 'points', points: '300' },
      endsAt: null,
    });
    coffeeCard = made.data!.result.id;
    // A category the partner did not declare, a card needing no stamps, a reward of nothing: typed refusals.
    for (const input of [
      { name: 'Tea card', category: 'tea', stampsRequired: 5, reward: { kind: 'points', points: '10' } },
      { name: 'Zero', category: 'coffee', stampsRequired: 0, reward: { kind: 'points', points: '10' } },
      { name: 'Nothing', category: 'coffee', stampsRequired: 5, reward: { kind: 'points' } },
    ]) {
      expect((await createCard(own, input)).data!.result.__typename).toBe('InvalidInput');
    }
    // A partner manages only its own cards; the operator names the partner.
    expect(
      (await createCard(own, { name: 'X', category: 'coffee', stampsRequired: 5, reward: { kind: 'points', points: '1' } }, 'SHOP'))
        .errors?.[0]?.extensions?.code,
    ).toBe('FORBIDDEN');
    const operator = await hub.operatorToken();
    expect(
      (await createCard(operator, { name: 'X', category: 'x', stampsRequired: 5, reward: { kind: 'points', points: '1' } })).errors?.[0]
        ?.extensions?.code,
    ).toBe('FORBIDDEN');
    const shops = await createCard(
      operator,
      { name: 'Shop card', category: 'coffee', stampsRequired: 3, reward: { kind: 'points', points: '5' } },
      'SHOP',
    );
    expect(shops.data!.result).toMatchObject({ __typename: 'StampCard', partnerId: 'SHOP' });
    const listed = await hub.graphql('{ stampCards { id name } }', {}, own);
    expect(listed.data!.stampCards).toEqual([{ id: coffeeCard, name: 'Coffee card' }]);
    // An ended card counts nothing more.
    const pastry = await createCard(own, {
      name: 'Pastry card',
      category: 'pastry',
      stampsRequired: 2,
      reward: { kind: 'points', points: '1' },
    });
    const ended = await hub.graphql(
      `mutation($id: ID!) { endStampCard(id: $id) { ${RESULT} ... on StampCard { endsAt } } }`,
      { id: pastry.data!.result.id },
      own,
    );
    expect(ended.data!.endStampCard.endsAt).not.toBeNull();
    const notMine = await hub.graphql(
      `mutation($id: ID!) { endStampCard(id: $id) { __typename } }`,
      { id: coffeeCard },
      await partnerToken(shop),
    );
    expect(notMine.data!.endStampCard.__typename).toBe('NotFound');
  });

  it('buy 10 coffees (3 + 3 + 4): the 10th stamp completes the card and grants the reward; the 11th starts a new card', async () => {
    const first = await buy(cafe, 'ann', [coffees(3)]);
    expect(first.stamps).toEqual([
      expect.objectContaining({ cardId: coffeeCard, stamps: '3', stampsNow: '3', stampsRequired: 10, completed: '0', rewardEntryId: null }),
    ]);
    expect(first.stamps[0]!.reason).toBe('Coffee card: +3 stamps (3 of 10)');
    // Two coffee lines (1 + 2) and pastries, which the coffee card does not count (and the ended pastry card no longer does).
    const second = await buy(cafe, 'ann', [coffees(1), coffees(2), { category: 'pastry', quantity: 5, amount: '1000' }]);
    expect(second.stamps.map((s) => [s.name, s.stamps, s.stampsNow])).toEqual([['Coffee card', '3', '6']]);
    expect(await coffeeProgress('ann')).toEqual({ card: { name: 'Coffee card', stampsRequired: 10 }, stamps: 6, completedCount: '0' });

    const eventsBefore = await lastEventSeq(hub);
    const third = await buy(cafe, 'ann', [coffees(4)], { orderRef: 'ann-third' });
    // The card's partner hears of the completion (docs/events.md), beside the purchase's own points.issued.
    const completedEvents = (await eventsAfter(hub, eventsBefore)).filter((event) => event.type === 'stamps.card_completed');
    expect(completedEvents.map((event) => [event.partnerId, event.data])).toEqual([
      [
        'CAFE',
        expect.objectContaining({ cardId: coffeeCard, completions: '1', completedCount: '1', asset: 'CP', amount: '300', balance: '300' }),
      ],
    ]);
    expect(third.stamps).toEqual([
      expect.objectContaining({
        stamps: '4',
        stampsNow: '0',
        completed: '1',
        rewardPoints: '300',
        reason: 'Coffee card: +4 stamps (0 of 10); completed, reward 300 points',
      }),
    ]);
    expect(third.balance).toBe('300');
    const me = await myCards('ann');
    expect(me.balance).toBe('300');
    expect(me.stampCards.edges.map((edge) => edge.node)).toEqual([
      { card: { name: 'Coffee card', stampsRequired: 10 }, stamps: 0, completedCount: '1' },
    ]);
    // The reward is its own entry: bonus points from CAFE, issued like any points, naming the card.
    const history = await hub.graphql(
      `{ me { history(first: 10) { edges { node { id type partnerId rates } } } } }`,
      {},
      await hub.memberToken(cafe, 'ann'),
    );
    const reward = history
      .data!.me.history.edges.map((edge: any) => edge.node)
      .find((node: any) => node.id === third.stamps[0]!.rewardEntryId);
    expect(reward).toMatchObject({
      type: 'stamp_reward',
      partnerId: 'CAFE',
      rates: { reason: 'stamp card Coffee card completed', stampCard: coffeeCard, issuePrice: '1' },
    });

    const eleventh = await buy(cafe, 'ann', [coffees(1)]);
    expect(eleventh.stamps.map((s) => [s.stamps, s.stampsNow, s.completed])).toEqual([['1', '1', '0']]);
    expect(await coffeeProgress('ann')).toMatchObject({ stamps: 1, completedCount: '1' });
  });

  it('carries extra stamps over to the next card, and completes a card more than once in one purchase', async () => {
    const twelve = await buy(cafe, 'bob', [coffees(12)]);
    expect(twelve.stamps.map((s) => [s.stampsNow, s.completed, s.rewardPoints])).toEqual([['2', '1', '300']]);
    const twenty = await buy(cafe, 'bob', [coffees(20)]);
    expect(twenty.stamps.map((s) => [s.stampsNow, s.completed, s.rewardPoints, s.reason])).toEqual([
      ['2', '2', '600', 'Coffee card: +20 stamps (2 of 10); completed ×2, reward 600 points'],
    ]);
    expect(await coffeeProgress('bob')).toMatchObject({ stamps: 2, completedCount: '3' });
    expect((await myCards('bob')).balance).toBe('900');
  });

  it('counts nothing for lines of other categories or none', async () => {
    const none = await buy(cafe, 'fay', [
      { category: 'pastry', quantity: 3, amount: '900' },
      { quantity: 2, amount: '500' },
    ]);
    expect(none.stamps).toEqual([]);
    expect((await myCards('fay')).stampCards.edges).toEqual([]);
    // Coffee bought at another partner counts on that partner's cards, not CAFE's.
    await shop.client.enrollMember({ member: 'fay' });
    const elsewhere = await buy(shop, 'fay', [coffees(2)]);
    expect(elsewhere.stamps.map((s) => [s.name, s.stampsNow])).toEqual([['Shop card', '2']]);
    expect(await coffeeProgress('fay')).toBeUndefined();
    // A partner sees only its own cards on a member.
    const shopView = await hub.graphql(
      `{ memberByRef(ref: "fay") { stampCards { edges { node { card { name } } } } } }`,
      {},
      await partnerToken(cafe),
    );
    expect(shopView.data!.memberByRef.stampCards.edges).toEqual([]);
  });

  it('a return takes back its purchase’s stamps still on the card; stamps a completion used stay used, and so does the reward', async () => {
    await buy(cafe, 'cat', [coffees(4)], { orderRef: 'cat-1' });
    const half = await cafe.client.submitActivity({ activity: 'return', member: 'cat', purchase: 'cat-1', amount: '500' });
    if (!half.ok) throw new Error(half.message);
    expect(half.data.stamps.map((s) => [s.stamps, s.stampsNow])).toEqual([['-2', '2']]);
    // 2 left of cat-1 and 8 of cat-2 complete the card.
    const completing = await buy(cafe, 'cat', [coffees(8)], { orderRef: 'cat-2' });
    expect(completing.stamps.map((s) => [s.stampsNow, s.completed])).toEqual([['0', '1']]);
    await buy(cafe, 'cat', [coffees(3)], { orderRef: 'cat-3' });
    const used = await cafe.client.submitActivity({ activity: 'return', member: 'cat', purchase: 'cat-2', amount: '2000' });
    if (!used.ok) throw new Error(used.message);
    expect(used.data.stamps.map((s) => [s.stamps, s.stampsNow])).toEqual([['0', '3']]);
    expect(used.data.notes).toContain('Coffee card: 8 of the returned stamps were used by a completed card; they stay used');
    expect(used.data.balance).toBe('300');
    // The rest of cat-1: its last 2 stamps were used by the completion too.
    const rest = await cafe.client.submitActivity({ activity: 'return', member: 'cat', purchase: 'cat-1', amount: '500' });
    if (!rest.ok) throw new Error(rest.message);
    expect(rest.data.stamps.map((s) => s.stampsNow)).toEqual(['3']);
    const last = await cafe.client.submitActivity({ activity: 'return', member: 'cat', purchase: 'cat-3', amount: '750' });
    if (!last.ok) throw new Error(last.message);
    expect(last.data.stamps.map((s) => [s.stamps, s.stampsNow])).toEqual([['-3', '0']]);
    expect(await coffeeProgress('cat')).toMatchObject({ stamps: 0, completedCount: '1' });

    // Carried-over stamps belong to the purchase that brought them: its return takes them back.
    await buy(cafe, 'dan', [coffees(12)], { orderRef: 'dan-1' });
    const carried = await cafe.client.submitActivity({ activity: 'return', member: 'dan', purchase: 'dan-1', amount: '3000' });
    if (!carried.ok) throw new Error(carried.message);
    expect(carried.data.stamps.map((s) => [s.stamps, s.stampsNow])).toEqual([['-2', '0']]);
    expect(carried.data.notes).toContain('Coffee card: 10 of the returned stamps were used by a completed card; they stay used');
  });

  it('counts a re-sent (replayed) purchase once: the same receipt, no new stamps', async () => {
    const signed = await signInstruction({
      partnerId: 'CAFE',
      hubId: HUB_ID,
      key: cafe.key,
      op: 'activity',
      now: hub.clock.now(),
      fields: { activity: 'purchase', member: 'gus', total: '750', currency: 'EUR', lines: [coffees(3)], orderRef: 'gus-1' },
    });
    const first = await cafe.client.submitSigned('activity', signed.jws);
    const second = await cafe.client.submitSigned('activity', signed.jws);
    if (!first.ok || !second.ok) throw new Error('activity refused');
    expect(second.data).toEqual({ ...first.data, replayed: true });
    expect(first.data.stamps.map((s) => s.stampsNow)).toEqual(['3']);
    expect(await coffeeProgress('gus')).toMatchObject({ stamps: 3, completedCount: '0' });
  });

  it('counts concurrent purchases of one member exactly (each under the wallet lock)', async () => {
    const patient = new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'CAFE', key: cafe.key, timeoutMs: 120_000 });
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, () =>
        patient.submitActivity({ activity: 'purchase', member: 'eve', total: '250', currency: 'EUR', lines: [coffees(1)] }),
      ),
    );
    const now: string[] = [];
    for (const outcome of outcomes) {
      if (!outcome.ok) throw new Error(outcome.message);
      now.push(outcome.data.stamps[0]!.stampsNow);
    }
    // Each purchase saw the one before it: 1…9, 0 (completed), 1…9, 0, 1…5.
    expect(now.sort()).toEqual(
      [
        ...['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
        ...['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
        '1',
        '2',
        '3',
        '4',
        '5',
      ].sort(),
    );
    expect(outcomes.filter((outcome) => outcome.ok && outcome.data.stamps[0]!.completed === '1')).toHaveLength(2);
    expect(await coffeeProgress('eve')).toMatchObject({ stamps: 5, completedCount: '2' });
    expect((await myCards('eve')).balance).toBe('600');
  });

  it('settles rewards like issued points: the reconciliation identity holds', async () => {
    const { currentSettlementPeriod } = await hub.asStaff('{ currentSettlementPeriod { id } }');
    hub.clock.advance(1000);
    const closed = await hub.asStaff(`mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }`, {
      id: currentSettlementPeriod.id,
    });
    expect(closed.closeSettlementPeriod.__typename).toBe('SettlementPeriod');
    const { settlementPeriod } = await hub.asStaff(
      `query($id: ID!) { settlementPeriod(id: $id) { positions(first: 10) { edges { node { partnerId issued { points moneyMinor } } } } } }`,
      { id: currentSettlementPeriod.id },
    );
    const positions = Object.fromEntries(settlementPeriod.positions.edges.map((edge: any) => [edge.node.partnerId, edge.node]));
    // ann 300, bob 900, cat 300, dan 300, eve 600: 2,400 points of CAFE's rewards (no earn rules), at its issue price 1.
    expect(positions.CAFE.issued).toEqual({ points: '2400', moneyMinor: '2400' });
    const { reconciliation } = await hub.asStaff(`query($id: ID!) { reconciliation(periodId: $id) { ok differences } }`, {
      id: currentSettlementPeriod.id,
    });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
  });

  it('keeps the ledger whole', async () => {
    expect((await hub.integrity()).ok).toBe(true);
  });
});
