import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';
import { queriesDuring } from './support/query-log';

/**
 * Coalition tiers: earned across all partners over a rolling window
 * (test config: Base 0, Silver 1000, Gold 5000, 365 days); a partner may apply its multiplier.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
const DAY_MS = 86_400_000;

async function tierOf(ref: string) {
  return (await hub.graphql('{ me { tier { name earnedInWindow windowDays next toNext } } }', {}, await hub.memberToken(acme, ref))).data
    ?.me.tier;
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  const set = await hub.graphql(
    'mutation { setPartnerContract(partnerId: "ACME", input: { tierMultipliers: { Silver: "1.5", Gold: "2" } }) { __typename ... on PartnerContract { tierMultipliers } } }',
    {},
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract).toEqual({ __typename: 'PartnerContract', tierMultipliers: { Silver: '1.5', Gold: '2' } });
  for (const partner of [acme, bolt]) await partner.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
});

afterAll(() => hub.stop());

describe('tiers', () => {
  it('starts every member at Base', async () => {
    expect(await tierOf('ann')).toEqual({ name: 'Base', earnedInWindow: '0', windowDays: 365, next: 'Silver', toNext: '1000' });
  });

  it('counts CP earned at every partner, less refunds of issues, and not redemptions', async () => {
    await acme.client.issuePoints({ member: 'ann', amount: '700' });
    const refunded = await bolt.client.issuePoints({ member: 'ann', amount: '400' });
    if (!refunded.ok) throw new Error('issue failed');
    await bolt.client.reversePoints({ entry: refunded.data.entryId, amount: '50' });
    await acme.client.redeemPoints({ member: 'ann', amount: '300' });
    expect(await tierOf('ann')).toMatchObject({ name: 'Silver', earnedInWindow: '1050', next: 'Gold', toNext: '3950' });
  });

  it("applies the partner's multiplier for the tier when asked, and records tier, multiplier and base on the entry", async () => {
    const outcome = await acme.client.issuePoints({ member: 'ann', amount: '15', applyTierMultiplier: true });
    expect(outcome).toMatchObject({ ok: true, data: { amount: '22' } }); // 15 × 1.5 = 22.5 → 22 (half-even)
    const history = await hub.graphql('{ me { history(first: 1) { edges { node { rates } } } } }', {}, await hub.memberToken(acme, 'ann'));
    expect(history.data?.me.history.edges[0].node.rates).toMatchObject({ tier: 'Silver', tierMultiplier: '1.5', baseAmount: '15' });
    // A partner without multipliers credits the base amount, and says so.
    expect(await bolt.client.issuePoints({ member: 'ann', amount: '15', applyTierMultiplier: true })).toMatchObject({
      ok: true,
      data: { amount: '15' },
    });
  });

  it('forgets earnings that leave the rolling window', async () => {
    hub.clock.advance(366 * DAY_MS);
    try {
      expect(await tierOf('ann')).toMatchObject({ name: 'Base', earnedInWindow: '0' });
      const signed = await signInstruction({
        partnerId: 'ACME',
        hubId: HUB_ID,
        key: acme.key,
        op: 'issue',
        now: hub.clock.now(),
        fields: { member: 'ann', amount: '10', applyTierMultiplier: true },
      });
      expect(await acme.client.submitSigned('issue', signed.jws)).toMatchObject({ ok: true, data: { amount: '10' } });
    } finally {
      hub.clock.advance(-366 * DAY_MS);
    }
  });

  it('refuses multipliers for tiers that do not exist, or out of range, and writes nothing', async () => {
    for (const input of ['{ Platinum: "3" }', '{ Gold: "0.5" }', '{ Gold: "11" }', '{ Gold: "x" }']) {
      const result = await hub.graphql(
        `mutation { setPartnerContract(partnerId: "BOLT", input: { tierMultipliers: ${input} }) { __typename } }`,
        {},
        await hub.operatorToken(),
      );
      expect(result.data?.setPartnerContract.__typename).toBe('InvalidInput');
    }
  });

  it('refuses applyTierMultiplier on a redemption, as an invalid instruction that writes nothing', async () => {
    const jws = await signRaw(instructionClaims('ACME', 'redeem', { member: 'ann', amount: '1', applyTierMultiplier: true }), acme.key);
    expect(await expectNothingWritten(hub, () => sendInstruction(hub, 'redeem', jws))).toMatchObject({
      __typename: 'InvalidInstruction',
      claim: 'applyTierMultiplier',
    });
  });
});

describe('tiers of many members', () => {
  const PAGE = 'query($first: Int!) { members(first: $first) { edges { node { id tier { name earnedInWindow } } } } }';
  /** The statement that sums what members earned: one per batch of members. */
  const isTierQuery = (sql: string) => sql.includes("e.rates ? 'baseAmount'");

  it('reads the tiers of a whole page of members with one query, whatever the page size', async () => {
    const earned: Record<string, string> = {};
    for (const [index, amount] of [0, 999, 1000, 4999, 5000, 20].entries()) {
      const ref = `page-${index}`;
      const enrolled = await bolt.client.enrollMember({ member: ref });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
      if (amount > 0) await bolt.client.issuePoints({ member: ref, amount: String(amount) });
      earned[enrolled.data.memberId] = String(amount);
    }
    const token = await hub.operatorToken();
    // The receipts of the issues above are stored in the background: not during the reads counted here.
    await hub.hub.services.instructions.flushReceipts();
    const small = await queriesDuring(hub, () => hub.graphql(PAGE, { first: 2 }, token));
    const large = await queriesDuring(hub, () => hub.graphql(PAGE, { first: 100 }, token));
    const nodes = large.result.data?.members.edges.map((edge: any) => edge.node);
    expect(small.result.data?.members.edges).toHaveLength(2);
    expect(nodes).toHaveLength(7); // ann and the six above

    // Every tier is the member's own, in the right order.
    const expected = (id: string) => {
      const amount = BigInt(earned[id] ?? '0');
      return { name: amount >= 5000n ? 'Gold' : amount >= 1000n ? 'Silver' : 'Base', earnedInWindow: earned[id] ?? '0' };
    };
    for (const node of nodes.filter((n: any) => n.id in earned)) expect(node.tier).toEqual(expected(node.id));
    expect(large.queries.filter(isTierQuery)).toHaveLength(1);
    expect(small.queries.filter(isTierQuery)).toHaveLength(1);
    expect(large.queries).toHaveLength(small.queries.length);
  });

  it('hides what was earned from a partner listing its members, as for one member', async () => {
    const page = await hub.graphql(PAGE, { first: 100 }, await acme.client.accessToken());
    expect(page.data?.members.edges.map((edge: any) => edge.node.tier)).toEqual([{ name: 'Silver', earnedInWindow: null }]); // ann only
  });
});
