import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/** Pending points: a return window during which issued points show but cannot be spent. */
let hub: TestHub;
let shop: TestPartner;
let cafe: TestPartner;
let deli: TestPartner;
const DAY_MS = 86_400_000;

async function me(ref: string) {
  return (
    await hub.graphql(
      '{ me { balance pending available lots { edges { node { issuerPartnerId remaining vestsAt } } } } }',
      {},
      await hub.memberToken(shop, ref),
    )
  ).data?.me;
}

beforeAll(async () => {
  hub = await TestHub.start();
  shop = await hub.registerPartner('SHOP');
  cafe = await hub.registerPartner('CAFE', 'ES256');
  deli = await hub.registerPartner('DELI');
  for (const [partnerId, input] of [
    ['SHOP', '{ pendingDays: 14, transfersAllowed: true }'],
    ['DELI', '{ pendingDays: 7 }'],
  ]) {
    const set = await hub.graphql(
      `mutation { setPartnerContract(partnerId: "${partnerId}", input: ${input}) { __typename } }`,
      {},
      await hub.operatorToken(),
    );
    expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  }
  for (const partner of [shop, cafe]) await partner.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
  await shop.client.enrollMember({ member: 'amy', emailHash: hashEmail('amy@example.com') });
});

afterAll(() => hub.stop());

describe('who sees which pending points', () => {
  const PENDING_BY_REF = 'query($ref: String!) { memberByRef(ref: $ref) { balance pending available } }';
  const PENDING_BY_ID = 'query($id: ID!) { member(id: $id) { balance pending available } }';

  it('shows a partner only the pending points it issued itself, and the member, operator and finance all of them', async () => {
    let memberId = '';
    for (const partner of [shop, cafe, deli]) {
      const enrolled = await partner.client.enrollMember({ member: 'bea', emailHash: hashEmail('bea@example.com') });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
      memberId = enrolled.data.memberId;
    }
    await shop.client.issuePoints({ member: 'bea', amount: '30' }); // pending for 14 days
    await deli.client.issuePoints({ member: 'bea', amount: '12' }); // pending for 7 days
    await cafe.client.issuePoints({ member: 'bea', amount: '5' }); // spendable at once

    const all = { balance: '47', pending: '42', available: '5' };
    expect(await me('bea')).toMatchObject(all);
    for (const scope of ['operator', 'finance'] as const) {
      const staff = await hub.graphql(PENDING_BY_ID, { id: memberId }, await hub.operatorToken(scope));
      expect(staff.data?.member).toEqual(all);
    }
    const seenBy = async (partner: TestPartner) =>
      (await hub.graphql(PENDING_BY_REF, { ref: 'bea' }, await partner.client.accessToken())).data?.memberByRef.pending;
    expect({ SHOP: await seenBy(shop), DELI: await seenBy(deli), CAFE: await seenBy(cafe) }).toEqual({ SHOP: '30', DELI: '12', CAFE: '0' });

    // One request, two members: each keeps its own scope (the loader batches without mixing them up).
    const both = await hub.graphql(
      `query($a: ID!) { bea: memberByRef(ref: "bea") { pending } ann: memberByRef(ref: "ann") { pending } byId: member(id: $a) { pending } }`,
      { a: memberId },
      await shop.client.accessToken(),
    );
    expect(both.data).toEqual({ bea: { pending: '30' }, ann: { pending: '0' }, byId: { pending: '30' } });
  });
});

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
    expect(await expectNothingWritten(hub, () => cafe.client.redeemPoints({ member: 'ann', amount: '51' }))).toMatchObject({
      typename: 'InsufficientBalance',
    });
    expect(await expectNothingWritten(hub, () => cafe.client.authorizeRedemption({ member: 'ann', amount: '51' }))).toMatchObject({
      typename: 'InsufficientBalance',
    });
    expect(await expectNothingWritten(hub, () => shop.client.transferPoints({ member: 'ann', to: 'amy', amount: '1' }))).toMatchObject({
      typename: 'InsufficientBalance',
    });
    // What is vested can be spent, and the pending lot is left alone.
    expect(await cafe.client.redeemPoints({ member: 'ann', amount: '50' })).toMatchObject({
      ok: true,
      data: { consumed: [{ issuerPartnerId: 'CAFE', amount: '50' }] },
    });
  });

  it('cancels pending points on a refund inside the window without touching what is spendable', async () => {
    await cafe.client.issuePoints({ member: 'ann', amount: '20' });
    expect(await shop.client.reversePoints({ entry: issueEntry, amount: '40' })).toMatchObject({ ok: true, data: { balance: '80' } });
    expect(await me('ann')).toMatchObject({ balance: '80', pending: '60', available: '20' });
  });

  it('vests by itself when the window ends: spendable, and spent like any lot', async () => {
    hub.clock.advance(14 * DAY_MS + 1000);
    expect(await me('ann')).toMatchObject({ balance: '80', pending: '0', available: '80' });
    const redeem = await signInstruction({
      partnerId: 'CAFE',
      hubId: HUB_ID,
      key: cafe.key,
      op: 'redeem',
      now: hub.clock.now(),
      fields: { member: 'ann', amount: '70' },
    });
    expect(await cafe.client.submitSigned('redeem', redeem.jws)).toMatchObject({ ok: true, data: { balance: '10' } });
    expect((await hub.integrity()).ok).toBe(true);
  });
});
