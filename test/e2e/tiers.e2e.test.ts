import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';

/**
 * Coalition tiers (issue #3 item 9): earned across all partners over a rolling window
 * (test config: Base 0, Silver 1000, Gold 5000, 365 days); a partner may apply its multiplier.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
const DAY_MS = 86_400_000;

async function tierOf(ref: string) {
  return (await hub.graphql('{ me { tier { name earnedInWindow windowDays next toNext } } }', {}, await hub.memberToken(acme, ref))).data?.me.tier;
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
    expect(await bolt.client.issuePoints({ member: 'ann', amount: '15', applyTierMultiplier: true })).toMatchObject({ ok: true, data: { amount: '15' } });
  });

  it('forgets earnings that leave the rolling window', async () => {
    hub.clock.advance(366 * DAY_MS);
    try {
      expect(await tierOf('ann')).toMatchObject({ name: 'Base', earnedInWindow: '0' });
      const signed = await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'issue', now: hub.clock.now(), fields: { member: 'ann', amount: '10', applyTierMultiplier: true } });
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
    expect(await expectNothingWritten(hub, () => sendInstruction(hub, 'redeem', jws))).toMatchObject({ __typename: 'InvalidInstruction', claim: 'applyTierMultiplier' });
  });
});
