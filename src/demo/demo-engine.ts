import { hashEmail, type PartnerClient } from '@coalition-hub/partner-sdk';
import { processTime } from '../common/clock';
import type { Must } from './demo-sandbox';

const line = (text = '') => console.error(text);
const RESULT = '__typename ... on ErrorResult { errorCode message }';

/** Local wall-clock text of a moment in UTC, for a campaign window in the UTC time zone. */
const local = (ms: number) => new Date(ms).toISOString().slice(0, 16);

interface Clients {
  acme: PartnerClient;
  bolt: PartnerClient;
  cafe: PartnerClient;
}

/**
 * The demo's loyalty-engine step (docs/loyalty-engine.md, stamp-cards.md, grants-and-referrals.md,
 * rewards.md): CAFE earns by rules and a campaign instead of sending amounts, a stamp card
 * completes, a referral pays both members once, and Alice redeems a reward BOLT publishes with
 * points other partners issued, which BOLT then marks used. Every call must succeed; the demo stops
 * loudly otherwise.
 */
export async function showLoyaltyEngine(must: Must, operatorToken: string, clients: Clients, n: number): Promise<void> {
  const { acme, bolt, cafe } = clients;
  line(`\n${n}. The loyalty engine: CAFE describes how members earn, and sends what they bought instead of amounts:`);
  const ok = (what: string, typename: string, result: any) => {
    if (result?.__typename !== typename) throw new Error(`demo: ${what}: ${JSON.stringify(result)}`);
    return result;
  };
  ok(
    'setEarnCategories',
    'EarnCategories',
    (
      await must(
        'setEarnCategories',
        `mutation { result: setEarnCategories(partnerId: "CAFE", categories: ["coffee", "food"]) { ${RESULT} } }`,
        {},
        operatorToken,
      )
    ).result,
  );
  const rules = [
    { ruleId: 'base', name: 'Base', kind: 'spend', pointsPerUnit: '1', unitMinor: '100' },
    { ruleId: 'coffee', name: 'Coffee double', kind: 'spend', pointsPerUnit: '1', unitMinor: '100', category: 'coffee' },
  ];
  for (const input of rules)
    ok(
      'setEarnRule',
      'EarnRule',
      (
        await must(
          'setEarnRule',
          `mutation($input: EarnRuleInput!) { result: setEarnRule(partnerId: "CAFE", input: $input) { ${RESULT} } }`,
          { input },
          operatorToken,
        )
      ).result,
    );
  const now = processTime.ms();
  ok(
    'createCampaign',
    'Campaign',
    (
      await must(
        'createCampaign',
        `mutation($input: CampaignInput!) { result: createCampaign(input: $input) { ${RESULT} } }`,
        {
          input: {
            name: 'Autumn week',
            kind: 'multiplier',
            multiplier: '1.5',
            startsLocal: local(now - 3_600_000),
            endsLocal: local(now + 7 * 86_400_000),
            timeZone: 'UTC',
            funders: [{ partnerId: 'CAFE', share: '1' }],
            pointsCap: '100000',
          },
        },
        operatorToken,
      )
    ).result,
  );
  ok(
    'createStampCard',
    'StampCard',
    (
      await must(
        'createStampCard',
        `mutation($input: StampCardInput!) { result: createStampCard(partnerId: "CAFE", input: $input) { ${RESULT} } }`,
        { input: { name: 'Coffee card', category: 'coffee', stampsRequired: 10, reward: { kind: 'points', points: '300' } } },
        operatorToken,
      )
    ).result,
  );
  line(
    '   rules: Base 1 CP per 1.00 spent; Coffee double +1 CP per 1.00 on coffee; campaign Autumn week ×1.5; stamp card: 10 coffees → 300 CP',
  );
  const buy = async (orderRef: string, coffees: number) => {
    const bought = await cafe.submitActivity({
      activity: 'purchase',
      member: 'c-alice',
      total: String(coffees * 350 + 420),
      currency: 'EUR',
      orderRef,
      lines: [
        { category: 'coffee', sku: 'FLAT-WHITE', quantity: coffees, amount: String(coffees * 350) },
        { category: 'food', sku: 'CROISSANT', quantity: 1, amount: '420' },
      ],
    });
    if (!bought.ok) throw new Error(`demo: purchase refused: ${JSON.stringify(bought)}`);
    const data = bought.data as any;
    line(`   ${orderRef}: ${coffees} coffees and a croissant → +${data.amount} CP, balance ${data.balance} CP, receipt verified`);
    for (const c of data.contributions) line(`      ${String(c.points).padStart(4)} CP  ${c.reason}`);
    for (const s of data.stamps ?? [])
      line(
        `      stamps: ${s.name} +${s.stamps}, now ${s.stampsNow}/${s.stampsRequired}${Number(s.completed) > 0 ? `; completed ×${s.completed}: +${s.rewardPoints} CP` : ''}`,
      );
  };
  await buy('cafe-order-21', 4);
  await buy('cafe-order-22', 6);

  line(`\n${n + 1}. A referral: Alice's code brings Carol in; Carol's first purchase pays both, once (ACME funds the programme):`);
  ok(
    'setReferralProgramme',
    'ReferralProgramme',
    (
      await must(
        'setReferralProgramme',
        `mutation($input: ReferralProgrammeInput!) { result: setReferralProgramme(input: $input) { ${RESULT} } }`,
        { input: { partnerId: 'ACME', referrerBonus: '200', refereeBonus: '100', capPerReferrer: 5 } },
        operatorToken,
      )
    ).result,
  );
  const aliceToken = await acme.memberToken('alice-1');
  const code = (await must('referralCode', '{ me { referralCode } }', {}, aliceToken)).me.referralCode;
  const carol = await bolt.enrollMember({ member: 'B-carol', emailHash: hashEmail('carol@example.com'), referralCode: code });
  if (!carol.ok) throw new Error(`demo: referral enrolment refused: ${JSON.stringify(carol)}`);
  line(`   Alice's code ${code}; BOLT enrolls Carol with it`);
  for (const orderRef of ['bolt-fill-31', 'bolt-fill-32']) {
    const bought = await bolt.submitActivity({ activity: 'purchase', member: 'B-carol', total: '4000', currency: 'EUR', orderRef });
    if (!bought.ok) throw new Error(`demo: purchase refused: ${JSON.stringify(bought)}`);
    const data = bought.data as any;
    line(
      `   Carol buys fuel (${orderRef}): balance ${data.balance} CP${data.notes?.length ? ` — ${data.notes.join('; ')}` : ' — no bonus again'}`,
    );
  }

  line(`\n${n + 2}. BOLT publishes a reward; Alice redeems it in her app with her coalition points, and BOLT marks the voucher used:`);
  const reward = ok(
    'createReward',
    'Reward',
    (
      await must(
        'createReward',
        `mutation($input: CreateRewardInput!) { result: createReward(input: $input) { ${RESULT} ... on Reward { id title pricePoints } } }`,
        {
          input: {
            kind: 'service',
            title: 'Free car wash',
            pricePoints: '150',
            stock: '20',
            coalitionWide: true,
            costMinor: '400',
            costCurrency: 'EUR',
            entitlementDays: 30,
            refundPolicy: 'full',
          },
        },
        await bolt.accessToken(),
      )
    ).result,
  );
  const redeemed = ok(
    'redeemReward',
    'RewardRedemption',
    (
      await must(
        'redeemReward',
        `mutation($id: ID!) { result: redeemReward(rewardId: $id, idempotencyKey: "demo-car-wash") { ${RESULT}
          ... on RewardRedemption { amount balance entitlement { code status expiresAt } } } }`,
        { id: reward.id },
        aliceToken,
      )
    ).result,
  );
  line(
    `   ${reward.title} for ${reward.pricePoints} CP: balance now ${redeemed.balance} CP; voucher ${redeemed.entitlement.code} (${redeemed.entitlement.status})`,
  );
  const used = await bolt.useEntitlement({ code: redeemed.entitlement.code });
  if (!used.ok) throw new Error(`demo: useEntitlement refused: ${JSON.stringify(used)}`);
  const again = await bolt.useEntitlement({ code: redeemed.entitlement.code });
  line(`   BOLT uses the voucher: accepted; a second use: ${again.ok ? 'accepted?!' : `refused (${again.typename})`}`);

  const explained = (
    await must('explain', '{ me { explain(first: 4) { summary { sentence } edges { node { sentence } } } } }', {}, aliceToken)
  ).me.explain;
  line(`   Alice's balance explained (me.explain): ${explained.summary.sentence}`);
  for (const edge of explained.edges) line(`      ${edge.node.sentence}`);
  void acme;
}
