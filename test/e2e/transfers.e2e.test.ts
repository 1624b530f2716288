import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { instructionClaims, sendInstruction, signRaw } from './support/instructions';

/** Transfers between members: when contracts allow, lots move with their issuer and expiry. */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

async function member(ref: string): Promise<void> {
  for (const partner of [acme, bolt]) {
    const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  }
}

async function lotsOf(ref: string) {
  const me = await hub.graphql(
    '{ me { balance lots { edges { node { issuerPartnerId remaining issuedAt expiresAt } } } } }',
    {},
    await hub.memberToken(acme, ref),
  );
  return me.data?.me;
}

async function allowTransfers(partnerId: string): Promise<void> {
  const set = await hub.graphql(
    `mutation { setPartnerContract(partnerId: "${partnerId}", input: { transfersAllowed: true }) { __typename } }`,
    {},
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
});

afterAll(() => hub.stop());

describe('transfers', () => {
  it("refuses a transfer when the requesting partner's contract does not allow it, and writes nothing", async () => {
    await member('ann');
    await member('amy');
    await acme.client.issuePoints({ member: 'ann', amount: '100' });
    const outcome = await expectNothingWritten(hub, () => acme.client.transferPoints({ member: 'ann', to: 'amy', amount: '10' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'TransferNotAllowed' });
  });

  it('moves only points whose issuer allows transfers, lot by lot, keeping issuer, issue time and expiry', async () => {
    await allowTransfers('ACME');
    await bolt.client.issuePoints({ member: 'ann', amount: '50' }); // BOLT does not allow transfers
    const tooMuch = await expectNothingWritten(hub, () => acme.client.transferPoints({ member: 'ann', to: 'amy', amount: '101' }));
    expect(tooMuch).toMatchObject({ ok: false, typename: 'InsufficientBalance' });
    const before = await lotsOf('ann');
    const moved = await acme.client.transferPoints({ member: 'ann', to: 'amy', amount: '80', orderRef: 'gift-1' });
    expect(moved).toMatchObject({ ok: true, data: { amount: '80', balance: '70', moved: [{ issuerPartnerId: 'ACME', amount: '80' }] } });
    const source = before.lots.edges.find((edge: any) => edge.node.issuerPartnerId === 'ACME').node;
    const amy = await lotsOf('amy');
    expect(amy.balance).toBe('80');
    expect(amy.lots.edges.map((edge: any) => edge.node)).toEqual([{ ...source, remaining: '80' }]);
  });

  it('lets the recipient spend the gift anywhere, attributed to the original issuer', async () => {
    const redeemed = await bolt.client.redeemPoints({ member: 'amy', amount: '30' });
    expect(redeemed).toMatchObject({ ok: true, data: { consumed: [{ issuerPartnerId: 'ACME', amount: '30' }] } });
  });

  it('refuses an unknown recipient, and a transfer to oneself (the SDK will not sign it; the hub refuses it too)', async () => {
    expect(await expectNothingWritten(hub, () => acme.client.transferPoints({ member: 'ann', to: 'nobody', amount: '1' }))).toMatchObject({
      ok: false,
      typename: 'UnknownMember',
    });
    await expect(acme.client.transferPoints({ member: 'ann', to: 'ann', amount: '1' })).rejects.toThrow(TypeError);
    const jws = await signRaw(instructionClaims('ACME', 'transfer', { member: 'ann', to: 'ann', amount: '1' }), acme.key);
    expect(await expectNothingWritten(hub, () => sendInstruction(hub, 'transfer', jws))).toMatchObject({
      __typename: 'InvalidInstruction',
      claim: 'to',
    });
  });

  it('cannot move points on hold', async () => {
    await member('bea');
    await member('bob');
    await acme.client.issuePoints({ member: 'bea', amount: '40' });
    await acme.client.authorizeRedemption({ member: 'bea', amount: '30' });
    expect(await expectNothingWritten(hub, () => acme.client.transferPoints({ member: 'bea', to: 'bob', amount: '11' }))).toMatchObject({
      ok: false,
      typename: 'InsufficientBalance',
    });
  });
});

describe('races', () => {
  it('decides a transfer racing a redemption for the same points: exactly one wins', async () => {
    for (let round = 0; round < 5; round += 1) {
      await member(`cat-${round}`);
      await member(`cal-${round}`);
      await acme.client.issuePoints({ member: `cat-${round}`, amount: '100' });
      const [transfer, redemption] = await Promise.all([
        acme.client.transferPoints({ member: `cat-${round}`, to: `cal-${round}`, amount: '100' }),
        bolt.client.redeemPoints({ member: `cat-${round}`, amount: '100' }),
      ]);
      expect([transfer.ok, redemption.ok].filter(Boolean)).toHaveLength(1);
    }
    expect((await hub.integrity()).ok).toBe(true);
  });

  it('never deadlocks when two members transfer to each other at the same time, and keeps every point', async () => {
    await member('dan');
    await member('dot');
    await acme.client.issuePoints({ member: 'dan', amount: '500' });
    await acme.client.issuePoints({ member: 'dot', amount: '500' });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0
          ? acme.client.transferPoints({ member: 'dan', to: 'dot', amount: '7' })
          : acme.client.transferPoints({ member: 'dot', to: 'dan', amount: '5' }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const [dan, dot] = [await lotsOf('dan'), await lotsOf('dot')];
    expect(BigInt(dan.balance) + BigInt(dot.balance)).toBe(1000n);
    expect(dan.balance).toBe(String(500 - 15 * 7 + 15 * 5));
  });
});
