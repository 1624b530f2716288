import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/** Pending points (issue #3 item 10): a return window during which issued points show but cannot be spent. */
let hub: TestHub;
let shop: TestPartner;
let cafe: TestPartner;
const DAY_MS = 86_400_000;

async function me(ref: string) {
  return (await hub.graphql('{ me { balance pending available lots { edges { node { issuerPartnerId remaining vestsAt } } } } }', {}, await hub.memberToken(shop, ref))).data?.me;
}

beforeAll(async () => {
  hub = await TestHub.start();
  shop = await hub.registerPartner('SHOP');
  cafe = await hub.registerPartner('CAFE', 'ES256');
  const set = await hub.graphql('mutation { setPartnerContract(partnerId: "SHOP", input: { pendingDays: 14, transfersAllowed: true }) { __typename } }', {}, await hub.operatorToken());
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  for (const partner of [shop, cafe]) await partner.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
  await shop.client.enrollMember({ member: 'amy', emailHash: hashEmail('amy@example.com') });
});

afterAll(() => hub.stop());

describe('pending points', () => {
  let issueEntry: string;

  it('shows points issued inside a return window in the balance, as pending, not available', async () => {
    await cafe.client.issuePoints({ member: 'ann', amount: '50' }); // no window at CAFE
    const issued = await shop.client.issuePoints({ member: 'ann', amount: '100' });
    if (!issued.ok) throw new Error(JSON.stringify(issued));
    issueEntry = issued.data.entryId;
    const state = await me('ann');
    expect(state).toMatchObject({ balance: '150', pending: '100', available: '50' });
    const pendingLot = state.lots.edges.find((edge: any) => edge.node.issuerPartnerId === 'SHOP').node;
    expect(Date.parse(pendingLot.vestsAt) - Date.parse(issued.data.recordedAt)).toBe(14 * DAY_MS);
  });

  it('does not let pending points be redeemed, held, or given away', async () => {
    expect(await expectNothingWritten(hub, () => cafe.client.redeemPoints({ member: 'ann', amount: '51' }))).toMatchObject({ typename: 'InsufficientBalance' });
    expect(await expectNothingWritten(hub, () => cafe.client.authorizeRedemption({ member: 'ann', amount: '51' }))).toMatchObject({ typename: 'InsufficientBalance' });
    expect(await expectNothingWritten(hub, () => shop.client.transferPoints({ member: 'ann', to: 'amy', amount: '1' }))).toMatchObject({ typename: 'InsufficientBalance' });
    // What is vested can be spent, and the pending lot is left alone.
    expect(await cafe.client.redeemPoints({ member: 'ann', amount: '50' })).toMatchObject({ ok: true, data: { consumed: [{ issuerPartnerId: 'CAFE', amount: '50' }] } });
  });

  it('cancels pending points on a refund inside the window without touching what is spendable', async () => {
    await cafe.client.issuePoints({ member: 'ann', amount: '20' });
    expect(await shop.client.reversePoints({ entry: issueEntry, amount: '40' })).toMatchObject({ ok: true, data: { balance: '80' } });
    expect(await me('ann')).toMatchObject({ balance: '80', pending: '60', available: '20' });
  });

  it('vests by itself when the window ends: spendable, and spent like any lot', async () => {
    hub.clock.advance(14 * DAY_MS + 1000);
    expect(await me('ann')).toMatchObject({ balance: '80', pending: '0', available: '80' });
    const redeem = await signInstruction({ partnerId: 'CAFE', hubId: HUB_ID, key: cafe.key, op: 'redeem', now: hub.clock.now(), fields: { member: 'ann', amount: '70' } });
    expect(await cafe.client.submitSigned('redeem', redeem.jws)).toMatchObject({ ok: true, data: { balance: '10' } });
    expect((await hub.integrity()).ok).toBe(true);
  });
});
