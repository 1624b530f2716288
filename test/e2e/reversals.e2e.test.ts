import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/** Refunds: reversals linked to the original, never more than is left, lots restored exactly. */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let cafe: TestPartner;

async function member(ref: string): Promise<void> {
  for (const partner of [acme, bolt, cafe]) {
    const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  }
}

async function entryId(outcome: { ok: boolean; data?: unknown }): Promise<string> {
  if (!outcome.ok) throw new Error(JSON.stringify(outcome));
  return (outcome.data as { entryId: string }).entryId;
}

async function lotsOf(ref: string): Promise<Array<{ issuerPartnerId: string; amount: string; remaining: string }>> {
  const me = await hub.graphql(
    '{ me { lots(includeSpent: true) { edges { node { issuerPartnerId amount remaining } } } } }',
    {},
    await hub.memberToken(acme, ref),
  );
  return me.data?.me.lots.edges.map((edge: any) => edge.node);
}

/** What each issuer's points redeemed at each partner add up to, net of reversals (the obligation matrix). */
async function obligations(): Promise<Record<string, string>> {
  const rows = await hub.hub.dataSource.query(
    `SELECT issuer_partner_id || '→' || consumer_partner_id AS pair, sum(amount)::text AS total FROM lot_consumption
     WHERE kind IN ('redeem', 'reversal') AND consumer_partner_id <> issuer_partner_id GROUP BY 1 HAVING sum(amount) <> 0 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((row: { pair: string; total: string }) => [row.pair, row.total]));
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  cafe = await hub.registerPartner('CAFE');
});

afterAll(() => hub.stop());

describe('reversing a redemption (a refund of a purchase paid with points)', () => {
  it('gives the points back to the very lots it took them from, latest-expiring first, and undoes the obligations', async () => {
    await member('ann');
    await acme.client.issuePoints({ member: 'ann', amount: '1000' });
    await bolt.client.issuePoints({ member: 'ann', amount: '500' });
    const redemption = await entryId(await cafe.client.redeemPoints({ member: 'ann', amount: '1200' }));
    expect(await obligations()).toEqual({ 'ACME→CAFE': '1000', 'BOLT→CAFE': '200' });

    const partly = await cafe.client.reversePoints({ entry: redemption, amount: '300' });
    expect(partly).toMatchObject({ ok: true, data: { amount: '300', balance: '600', reversesEntryId: redemption } });
    // BOLT's lot was taken last, so it is given back first: BOLT 200, then ACME 100.
    expect(await lotsOf('ann')).toEqual([
      { issuerPartnerId: 'ACME', amount: '1000', remaining: '100' },
      { issuerPartnerId: 'BOLT', amount: '500', remaining: '500' },
    ]);
    expect(await obligations()).toEqual({ 'ACME→CAFE': '900' });

    const rest = await cafe.client.reversePoints({ entry: redemption, amount: '900' });
    expect(rest).toMatchObject({ ok: true, data: { balance: '1500' } });
    expect(await obligations()).toEqual({});
  });

  it('refuses to reverse more than is left of the original, and writes nothing', async () => {
    await member('ben');
    await acme.client.issuePoints({ member: 'ben', amount: '100' });
    const redemption = await entryId(await acme.client.redeemPoints({ member: 'ben', amount: '100' }));
    expect((await acme.client.reversePoints({ entry: redemption, amount: '60' })).ok).toBe(true);
    const over = await expectNothingWritten(hub, () => acme.client.reversePoints({ entry: redemption, amount: '41' }));
    expect(over).toMatchObject({ ok: false, typename: 'ReversalExceedsRemaining' });
    expect((over as { message: string }).message).toContain('40');
  });

  it('reverses a captured redemption like any other', async () => {
    await member('cid');
    await acme.client.issuePoints({ member: 'cid', amount: '50' });
    const held = await cafe.client.authorizeRedemption({ member: 'cid', amount: '50' });
    if (!held.ok) throw new Error(JSON.stringify(held));
    const capture = await entryId(await cafe.client.captureRedemption({ hold: held.data.holdId, amount: '50' }));
    expect(await cafe.client.reversePoints({ entry: capture, amount: '50' })).toMatchObject({ ok: true, data: { balance: '50' } });
  });
});

describe('reversing an issue (a refunded purchase takes its points back)', () => {
  it("takes the points out of the lot that issue made, back to the issuer, at the original's prices", async () => {
    await member('dee');
    const issue = await entryId(await acme.client.issuePoints({ member: 'dee', amount: '80' }));
    await bolt.client.issuePoints({ member: 'dee', amount: '20' });
    const reversed = await acme.client.reversePoints({ entry: issue, amount: '30', orderRef: 'refund-1' });
    expect(reversed).toMatchObject({ ok: true, data: { balance: '70', reversesEntryId: issue } });
    expect(await lotsOf('dee')).toEqual([
      { issuerPartnerId: 'ACME', amount: '80', remaining: '50' },
      { issuerPartnerId: 'BOLT', amount: '20', remaining: '20' },
    ]);
    const history = await hub.graphql(
      '{ me { history(first: 1) { edges { node { type reversesEntryId rates orderRef } } } } }',
      {},
      await hub.memberToken(acme, 'dee'),
    );
    expect(history.data?.me.history.edges[0].node).toMatchObject({
      type: 'reversal',
      reversesEntryId: issue,
      orderRef: 'refund-1',
      rates: { issuePrice: '1' },
    });
  });

  it('refuses to take back points already spent, says how many can be, and writes nothing', async () => {
    await member('eve');
    const issue = await entryId(await acme.client.issuePoints({ member: 'eve', amount: '100' }));
    await cafe.client.redeemPoints({ member: 'eve', amount: '70' });
    const outcome = await expectNothingWritten(hub, () => acme.client.reversePoints({ entry: issue, amount: '40' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'PointsAlreadySpent' });
    expect(await acme.client.reversePoints({ entry: issue, amount: '30' })).toMatchObject({ ok: true, data: { balance: '0' } });
  });

  it('refuses to take back points on hold for a pending authorization', async () => {
    await member('fay');
    const issue = await entryId(await acme.client.issuePoints({ member: 'fay', amount: '100' }));
    await cafe.client.authorizeRedemption({ member: 'fay', amount: '90' });
    const outcome = await expectNothingWritten(hub, () => acme.client.reversePoints({ entry: issue, amount: '11' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'PointsAlreadySpent' });
  });
});

describe('what can be reversed', () => {
  it("answers EntryNotFound for another partner's entry and for a reversal, and writes nothing", async () => {
    await member('gus');
    const issue = await entryId(await acme.client.issuePoints({ member: 'gus', amount: '10' }));
    expect(await expectNothingWritten(hub, () => bolt.client.reversePoints({ entry: issue, amount: '1' }))).toMatchObject({
      typename: 'EntryNotFound',
    });
    const reversal = await entryId(await acme.client.reversePoints({ entry: issue, amount: '1' }));
    expect(await expectNothingWritten(hub, () => acme.client.reversePoints({ entry: reversal, amount: '1' }))).toMatchObject({
      typename: 'EntryNotFound',
    });
  });

  it('is idempotent: the same signed reversal twice reverses once', async () => {
    await member('hal');
    const issue = await entryId(await acme.client.issuePoints({ member: 'hal', amount: '10' }));
    const signed = await signInstruction({
      partnerId: 'ACME',
      hubId: HUB_ID,
      key: acme.key,
      op: 'reverse',
      fields: { entry: issue, amount: '10' },
    });
    const [first, second] = [await acme.client.submitSigned('reverse', signed.jws), await acme.client.submitSigned('reverse', signed.jws)];
    expect(first.ok && second.ok && second.data.replayed && first.data.entryId === second.data.entryId).toBe(true);
  });

  it('lets racing refunds of one entry take exactly what there is: 10 × 20 of 100 → 5 win', async () => {
    await member('ivy');
    await acme.client.issuePoints({ member: 'ivy', amount: '100' });
    const redemption = await entryId(await cafe.client.redeemPoints({ member: 'ivy', amount: '100' }));
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => cafe.client.reversePoints({ entry: redemption, amount: '20' })));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(5);
    expect(
      outcomes.filter((outcome) => !outcome.ok).every((outcome) => !outcome.ok && outcome.typename === 'ReversalExceedsRemaining'),
    ).toBe(true);
    expect((await hub.integrity()).ok).toBe(true);
  });
});

describe('refunding points whose lot has expired since (policy)', () => {
  it('gives them back to their lot with its original expiry: not spendable, and the next expiry run takes them as breakage', async () => {
    const short = await hub.registerPartner('SHORTLIFE');
    await hub.graphql(
      'mutation { setPartnerContract(partnerId: "SHORTLIFE", input: { lotLifetimeMonths: 1 }) { __typename } }',
      {},
      await hub.operatorToken(),
    );
    const send = async (op: 'enroll' | 'issue' | 'redeem' | 'reverse', fields: Record<string, unknown>) => {
      const signed = await signInstruction({
        partnerId: short.id,
        hubId: HUB_ID,
        key: short.key,
        op,
        now: hub.clock.now(),
        fields: fields as never,
      });
      const response = await hub.graphql(
        `mutation($i: String!) { r: ${{ enroll: 'enrollMember', issue: 'issuePoints', redeem: 'redeemPoints', reverse: 'reversePoints' }[op]}(instruction: $i) {
          __typename ${op === 'enroll' ? '' : '... on MovementReceipt { entryId balance }'} ... on ErrorResult { errorCode } } }`,
        { i: signed.jws },
      );
      return response.data?.r;
    };
    expect(await send('enroll', { member: 'zed' })).toEqual({ __typename: 'EnrollReceipt' });
    expect(await send('issue', { member: 'zed', amount: '100' })).toMatchObject({ __typename: 'IssueReceipt', balance: '100' });
    const redemption = await send('redeem', { member: 'zed', amount: '60' });
    hub.clock.advance(40 * 86_400_000);
    const run = 'mutation { runExpiry { pointsExpired } }';
    expect((await hub.graphql(run, {}, await hub.operatorToken())).data?.runExpiry.pointsExpired).toBe('40');
    // Points don't get younger by being spent and refunded: they return to the expired lot.
    expect(await send('reverse', { entry: redemption.entryId, amount: '60' })).toMatchObject({
      __typename: 'ReversalReceipt',
      balance: '60',
    });
    const me = await hub.graphql('{ me { balance available } }', {}, await hub.memberToken(short, 'zed'));
    expect(me.data?.me).toEqual({ balance: '60', available: '0' });
    expect(await send('redeem', { member: 'zed', amount: '1' })).toMatchObject({ errorCode: 'INSUFFICIENT_BALANCE' });
    expect((await hub.graphql(run, {}, await hub.operatorToken())).data?.runExpiry.pointsExpired).toBe('60');
  });
});
