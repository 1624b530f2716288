import { hashEmail, signAccessToken, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/** Two-phase redemption: authorize → capture (≤ held, once) or void; holds expire by themselves. */
let hub: TestHub;
let shop: TestPartner;
let fuel: TestPartner;

async function spendable(ref: string): Promise<{ balance: string; available: string }> {
  return (await hub.graphql('{ me { balance available } }', {}, await hub.memberToken(shop, ref))).data?.me;
}

async function member(ref: string, points: number): Promise<void> {
  for (const partner of [shop, fuel]) {
    const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  }
  if (points > 0) await shop.client.issuePoints({ member: ref, amount: String(points) });
}

async function authorize(ref: string, amount: number, holdSeconds?: number): Promise<string> {
  const held = await shop.client.authorizeRedemption({ member: ref, amount: String(amount), holdSeconds });
  if (!held.ok) throw new Error(JSON.stringify(held));
  return held.data.holdId;
}

beforeAll(async () => {
  hub = await TestHub.start();
  shop = await hub.registerPartner('SHOP');
  fuel = await hub.registerPartner('FUEL', 'ES256');
});

afterAll(() => hub.stop());

describe('authorize', () => {
  it('holds points: the balance stays, what can be spent drops, and nobody else can spend them', async () => {
    await member('ann', 100);
    const held = await shop.client.authorizeRedemption({ member: 'ann', amount: '80', orderRef: 'basket-1' });
    expect(held).toMatchObject({ ok: true, data: { amount: '80', status: 'pending', available: '20' } });
    expect(await spendable('ann')).toEqual({ balance: '100', available: '20' });
    const elsewhere = await expectNothingWritten(hub, () => fuel.client.redeemPoints({ member: 'ann', amount: '30' }));
    expect(elsewhere).toMatchObject({ ok: false, typename: 'InsufficientBalance' });
    expect((await fuel.client.redeemPoints({ member: 'ann', amount: '20' })).ok).toBe(true);
  });

  it('refuses a hold larger than what can be spent, and writes nothing', async () => {
    await member('bob', 50);
    await authorize('bob', 30);
    const outcome = await expectNothingWritten(hub, () => shop.client.authorizeRedemption({ member: 'bob', amount: '21' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'InsufficientBalance' });
  });

  it('is idempotent: the same signed authorize twice is one hold', async () => {
    await member('cid', 40);
    const signed = await signInstruction({
      partnerId: 'SHOP',
      hubId: HUB_ID,
      key: shop.key,
      op: 'authorize',
      fields: { member: 'cid', amount: '40' },
    });
    const [first, second] = [
      await shop.client.submitSigned('authorize', signed.jws),
      await shop.client.submitSigned('authorize', signed.jws),
    ];
    expect(first.ok && second.ok && second.data.replayed && first.data.holdId === second.data.holdId).toBe(true);
    expect(await spendable('cid')).toEqual({ balance: '40', available: '0' });
  });
});

describe('capture and void', () => {
  it('captures part of a hold once: a redemption entry, lots consumed, the rest released', async () => {
    await member('dee', 100);
    const holdId = await authorize('dee', 60);
    const captured = await shop.client.captureRedemption({ hold: holdId, amount: '45', orderRef: 'till-7' });
    expect(captured).toMatchObject({
      ok: true,
      data: { amount: '45', balance: '55', consumed: [{ issuerPartnerId: 'SHOP', amount: '45' }] },
    });
    expect(await spendable('dee')).toEqual({ balance: '55', available: '55' });
    const again = await expectNothingWritten(hub, () => shop.client.captureRedemption({ hold: holdId, amount: '10' }));
    expect(again).toMatchObject({ ok: false, typename: 'HoldClosed' });
    const voided = await expectNothingWritten(hub, () => shop.client.voidRedemption({ hold: holdId }));
    expect(voided).toMatchObject({ ok: false, typename: 'HoldClosed' });
    const hold = await hub.graphql(
      'query($id: ID!) { hold(id: $id) { status amount captured orderRef } }',
      { id: holdId },
      await shop.client.accessToken(),
    );
    expect(hold.data?.hold).toEqual({ status: 'captured', amount: '60', captured: '45', orderRef: null });
  });

  it('refuses to capture more than was held, and writes nothing', async () => {
    await member('eve', 100);
    const holdId = await authorize('eve', 30);
    const outcome = await expectNothingWritten(hub, () => shop.client.captureRedemption({ hold: holdId, amount: '31' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'AmountExceedsHold' });
  });

  it('voids a hold: everything is spendable again and it can no longer be captured', async () => {
    await member('fay', 70);
    const holdId = await authorize('fay', 70);
    expect(await shop.client.voidRedemption({ hold: holdId })).toMatchObject({ ok: true, data: { status: 'voided', available: '70' } });
    expect(await spendable('fay')).toEqual({ balance: '70', available: '70' });
    expect(await shop.client.captureRedemption({ hold: holdId, amount: '1' })).toMatchObject({ ok: false, typename: 'HoldClosed' });
  });

  it("answers HoldNotFound for another partner's hold, as for one that does not exist", async () => {
    await member('gus', 10);
    const holdId = await authorize('gus', 10);
    const attempts: Array<() => Promise<unknown>> = [
      () => fuel.client.captureRedemption({ hold: holdId, amount: '10' }),
      () => fuel.client.voidRedemption({ hold: holdId }),
    ];
    for (const attempt of attempts) {
      expect(await expectNothingWritten(hub, attempt)).toMatchObject({ ok: false, typename: 'HoldNotFound' });
    }
    const peek = await hub.graphql('query($id: ID!) { hold(id: $id) { status } }', { id: holdId }, await fuel.client.accessToken());
    expect(peek.data?.hold).toBeNull();
  });
});

describe('expiry of holds', () => {
  it('releases an expired hold by itself: spendable again, and no longer capturable', async () => {
    await member('hal', 50);
    const holdId = await authorize('hal', 50, 60);
    expect((await spendable('hal')).available).toBe('0');
    hub.clock.advance(61_000);
    expect(await spendable('hal')).toEqual({ balance: '50', available: '50' });
    const now = hub.clock.now();
    const capture = await signInstruction({
      partnerId: 'SHOP',
      hubId: HUB_ID,
      key: shop.key,
      op: 'capture',
      now,
      fields: { hold: holdId, amount: '50' },
    });
    expect(await expectNothingWritten(hub, () => shop.client.submitSigned('capture', capture.jws))).toMatchObject({
      ok: false,
      typename: 'HoldExpired',
    });
    const peek = await hub.graphql('query($id: ID!) { hold(id: $id) { status } }', { id: holdId }, await signPartnerToken());
    expect(peek.data?.hold).toEqual({ status: 'expired' });
  });
});

describe('races', () => {
  it('lets exactly one of a capture and a void win, every time', async () => {
    await member('ivy', 1000);
    for (let round = 0; round < 10; round += 1) {
      const holdId = await authorize('ivy', 10);
      const [captured, voided] = await Promise.all([
        shop.client.captureRedemption({ hold: holdId, amount: '10' }),
        shop.client.voidRedemption({ hold: holdId }),
      ]);
      expect([captured.ok, voided.ok].filter(Boolean)).toHaveLength(1);
      const loser = captured.ok ? voided : captured;
      expect(loser).toMatchObject({ ok: false, typename: 'HoldClosed' });
    }
    expect((await hub.integrity()).ok).toBe(true);
  });

  it('keeps held points from racing redemptions: only what is not held can be taken', async () => {
    await member('jon', 100);
    const holdId = await authorize('jon', 80);
    const redemptions = await Promise.all(Array.from({ length: 10 }, () => fuel.client.redeemPoints({ member: 'jon', amount: '10' })));
    expect(redemptions.filter((outcome) => outcome.ok)).toHaveLength(2);
    expect(await shop.client.captureRedemption({ hold: holdId, amount: '80' })).toMatchObject({ ok: true, data: { balance: '0' } });
  });

  it('never lets an authorize and a redemption racing for the same points both win', async () => {
    for (let round = 0; round < 8; round += 1) {
      await member(`race-${round}`, 0);
      await shop.client.issuePoints({ member: `race-${round}`, amount: '100' });
      const [held, redeemed] = await Promise.all([
        shop.client.authorizeRedemption({ member: `race-${round}`, amount: '100' }),
        fuel.client.redeemPoints({ member: `race-${round}`, amount: '100' }),
      ]);
      expect([held.ok, redeemed.ok].filter(Boolean)).toHaveLength(1);
      expect(BigInt((await spendable(`race-${round}`)).available)).toBeGreaterThanOrEqual(0n);
    }
  });

  it('never holds more than there is when two authorizes race', async () => {
    for (let round = 0; round < 8; round += 1) {
      await member(`twin-${round}`, 0);
      await shop.client.issuePoints({ member: `twin-${round}`, amount: '100' });
      const outcomes = await Promise.all([
        shop.client.authorizeRedemption({ member: `twin-${round}`, amount: '100' }),
        fuel.client.authorizeRedemption({ member: `twin-${round}`, amount: '100' }),
      ]);
      expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
    }
  });

  it('decides a capture racing its hold running out by the hub clock alone: captured or expired, never both', async () => {
    await member('kim', 30);
    const holdId = await authorize('kim', 30, 60);
    hub.clock.advance(59_990);
    const now = hub.clock.now();
    const capture = await signInstruction({
      partnerId: 'SHOP',
      hubId: HUB_ID,
      key: shop.key,
      op: 'capture',
      now,
      fields: { hold: holdId, amount: '30' },
    });
    const outcome = await shop.client.submitSigned('capture', capture.jws);
    const { balance, available } = await spendable('kim');
    if (outcome.ok) expect({ balance, available }).toEqual({ balance: '0', available: '0' });
    else expect({ typename: outcome.typename, balance, available }).toEqual({ typename: 'HoldExpired', balance: '30', available: '30' });
  });
});

/** A SHOP partner token signed on the hub's clock (the clock has moved in these tests). */
function signPartnerToken(): Promise<string> {
  return signAccessToken({ issuer: 'SHOP', subject: 'SHOP', scope: 'partner', audience: HUB_ID, key: shop.key, now: hub.clock.now() });
}
