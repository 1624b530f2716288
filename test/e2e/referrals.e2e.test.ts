import { eventsAfter } from './support/events';
import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';
import { queriesDuring } from './support/query-log';

/**
 * Referrals (docs/grants-and-referrals.md): a member's code, a referee enrolling with it, and the
 * bonuses the programme's paying partner funds on the referee's first qualifying purchase at any
 * partner, once, even when purchases race.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;

const email = (ref: string) => hashEmail(`${ref}@example.com`);

async function codeOf(partner: TestPartner, ref: string): Promise<string> {
  const me = await hub.graphql('{ me { referralCode } }', {}, await hub.memberToken(partner, ref));
  if (me.errors) throw new Error(JSON.stringify(me.errors));
  return me.data!.me.referralCode;
}

async function balanceOf(partner: TestPartner, ref: string): Promise<string> {
  return (await hub.graphql('{ me { balance } }', {}, await hub.memberToken(partner, ref))).data!.me.balance;
}

const referralEntries = async (): Promise<Array<{ member_id: string; partner_id: string; amount: string }>> =>
  hub.hub.dataSource.query(
    `SELECT e.member_id, e.partner_id, p.amount::text FROM journal_entry e JOIN posting p ON p.entry_id = e.id
     JOIN account a ON a.id = p.account_id AND a.kind = 'wallet' WHERE e.type = 'referral' ORDER BY e.seq`,
  );

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  await hub.registerPartner('PAYER');
  await hub.asStaff('mutation { setPartnerContract(partnerId: "PAYER", input: { issuePrice: "0.8" }) { __typename } }', {}, 'operator');
  await acme.client.enrollMember({ member: 'ann', emailHash: email('ann') });
});

afterAll(() => hub.stop());

describe('referrals', () => {
  it('gives every member one stable, unguessable code', async () => {
    const code = await codeOf(acme, 'ann');
    expect(code).toMatch(/^[0-9A-Z]{12}$/);
    expect(await codeOf(acme, 'ann')).toBe(code);
  });

  it('refuses a referral code while no programme runs, and lets only the operator set one', async () => {
    const outcome = await expectNothingWritten(hub, () => acme.client.enrollMember({ member: 'bob', referralCode: 'NOSUCHCODE00' }));
    expect(outcome).toMatchObject({ ok: false, typename: 'UnknownReferralCode' });
    const SET = `mutation { setReferralProgramme(input: { partnerId: "PAYER", referrerBonus: "100", refereeBonus: "50", capPerReferrer: 2 }) {
      __typename ... on ReferralProgramme { partnerId referrerBonus refereeBonus capPerReferrer } } }`;
    expect((await hub.graphql(SET, {}, await acme.client.accessToken())).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const set = await hub.asStaff(SET, {}, 'operator');
    expect(set.setReferralProgramme).toEqual({
      __typename: 'ReferralProgramme',
      partnerId: 'PAYER',
      referrerBonus: '100',
      refereeBonus: '50',
      capPerReferrer: 2,
    });
  });

  it('links a new member to the member whose code they enrolled with', async () => {
    const enrolled = await acme.client.enrollMember({ member: 'bob', emailHash: email('bob'), referralCode: await codeOf(acme, 'ann') });
    expect(enrolled).toMatchObject({ ok: true, data: { memberRef: 'bob', linkedExisting: false } });
    // Sent again with a new jti: the same member, the same referral.
    expect(await acme.client.enrollMember({ member: 'bob', referralCode: await codeOf(acme, 'ann') })).toMatchObject({ ok: true });
  });

  it('refuses self-referral (the same member, or the same person linked through another partner) and writes nothing', async () => {
    const code = await codeOf(acme, 'ann');
    expect(await expectNothingWritten(hub, () => acme.client.enrollMember({ member: 'ann', referralCode: code }))).toMatchObject({
      ok: false,
      typename: 'SelfReferral',
    });
    // BOLT's customer "ann-at-bolt" has ann's e-mail: the enrolment links to ann, who cannot refer herself.
    expect(
      await expectNothingWritten(hub, () =>
        bolt.client.enrollMember({ member: 'ann-at-bolt', emailHash: email('ann'), referralCode: code }),
      ),
    ).toMatchObject({ ok: false, typename: 'SelfReferral' });
  });

  it('refuses a circular referral: ann referred bob, so bob cannot refer ann', async () => {
    const bobsCode = await codeOf(acme, 'bob');
    expect(
      await expectNothingWritten(hub, () => bolt.client.enrollMember({ member: 'ann-b', emailHash: email('ann'), referralCode: bobsCode })),
    ).toMatchObject({ ok: false, typename: 'CircularReferral' });
  });

  it('stops at the cap per referrer', async () => {
    const code = await codeOf(acme, 'ann');
    expect(await acme.client.enrollMember({ member: 'cat', emailHash: email('cat'), referralCode: code })).toMatchObject({ ok: true });
    expect(
      await expectNothingWritten(hub, () => acme.client.enrollMember({ member: 'dan', emailHash: email('dan'), referralCode: code })),
    ).toMatchObject({ ok: false, typename: 'ReferralCapReached' });
  });

  it('pays both bonuses once, at the paying partner, when the referee first buys at any partner, even when purchases race', async () => {
    await bolt.client.enrollMember({ member: 'bob-b', emailHash: email('bob') });
    // An issue without an order reference is not a purchase: no bonus yet.
    expect(await bolt.client.issuePoints({ member: 'bob-b', amount: '5' })).toMatchObject({ ok: true, data: { balance: '5' } });
    expect(await referralEntries()).toEqual([]);
    const purchases = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? acme : bolt).client.issuePoints({ member: i % 2 ? 'bob' : 'bob-b', amount: '10', orderRef: `order-${i}` }),
      ),
    );
    expect(purchases.every((purchase) => purchase.ok)).toBe(true);
    const ann = (await acme.client.enrollMember({ member: 'ann' })) as any;
    const bob = (await acme.client.enrollMember({ member: 'bob' })) as any;
    const paid = await referralEntries();
    expect(paid).toHaveLength(2);
    expect(paid).toEqual(
      expect.arrayContaining([
        { member_id: bob.data.memberId, partner_id: 'PAYER', amount: '50' },
        { member_id: ann.data.memberId, partner_id: 'PAYER', amount: '100' },
      ]),
    );
    expect(await balanceOf(acme, 'ann')).toBe('100');
    expect(await balanceOf(acme, 'bob')).toBe(String(5 + 8 * 10 + 50));
    // More purchases pay nothing more.
    await acme.client.issuePoints({ member: 'bob', amount: '10', orderRef: 'order-later' });
    expect(await referralEntries()).toHaveLength(2);
    // The paying partner hears of each bonus once (docs/events.md), with the member it went to.
    const bonusEvents = (await eventsAfter(hub)).filter((event) => event.type === 'referral.bonus_paid');
    expect(bonusEvents.map((event) => [event.partnerId, event.memberId, event.data.role, event.data.amount]).sort()).toEqual(
      [
        ['PAYER', ann.data.memberId, 'referrer', '100'],
        ['PAYER', bob.data.memberId, 'referee', '50'],
      ].sort(),
    );
    // The member sees the bonus in their history as an entry of type referral, from the paying partner.
    const history = await hub.graphql(
      '{ me { history(first: 20) { edges { node { type partnerId } } } } }',
      {},
      await hub.memberToken(acme, 'ann'),
    );
    expect(history.data?.me.history.edges.map((edge: any) => edge.node)).toContainEqual({ type: 'referral', partnerId: 'PAYER' });
  });

  it('refuses to refer a member who is not new', async () => {
    // bob-c links to bob, who has entries already; dan has not been referred and can be referred by bob.
    const bobsCode = await codeOf(acme, 'bob');
    expect(
      await expectNothingWritten(hub, () => bolt.client.enrollMember({ member: 'cat-b', emailHash: email('cat'), referralCode: bobsCode })),
    ).toMatchObject({ ok: false, typename: 'ReferralNotEligible' });
    expect(await bolt.client.enrollMember({ member: 'dan', emailHash: email('dan'), referralCode: bobsCode })).toMatchObject({ ok: true });
  });

  it('keeps purchases of members with no pending referral on the one-statement path; a pending referee goes the TypeScript way', async () => {
    await acme.client.enrollMember({ member: 'eve', emailHash: email('eve') });
    const ordinary = await queriesDuring(hub, () => acme.client.issuePoints({ member: 'eve', amount: '10', orderRef: 'eve-1' }));
    expect(ordinary.result.ok).toBe(true);
    expect(ordinary.queries.filter((sql) => !sql.startsWith('INSERT INTO instruction_receipt'))).toEqual([
      expect.stringContaining('apply_cp_movement('),
    ]);
    // dan (referred by bob, no purchase yet): an issue without an order reference is no purchase and stays one statement;
    // a purchase is handed back by the function and pays the bonuses through the TypeScript path.
    const notAPurchase = await queriesDuring(hub, () => bolt.client.issuePoints({ member: 'dan', amount: '1' }));
    expect(notAPurchase.queries.filter((sql) => !sql.startsWith('INSERT INTO instruction_receipt'))).toHaveLength(1);
    const purchase = await queriesDuring(hub, () => bolt.client.issuePoints({ member: 'dan', amount: '1', orderRef: 'dan-1' }));
    expect(purchase.result.ok).toBe(true);
    expect(purchase.queries.some((sql) => sql.includes('FROM referral WHERE referee_id'))).toBe(true);
    expect(await referralEntries()).toHaveLength(4);
  });

  it('settles the bonuses at the paying partner as their own line kind, and the period reconciles', async () => {
    const { currentSettlementPeriod } = await hub.asStaff('{ currentSettlementPeriod { id } }');
    await hub.asStaff('mutation($id: ID!) { closeSettlementPeriod(id: $id) { __typename } }', { id: currentSettlementPeriod.id });
    const { reconciliation } = await hub.asStaff('query($id: ID!) { reconciliation(periodId: $id) { ok differences } }', {
      id: currentSettlementPeriod.id,
    });
    expect(reconciliation).toEqual({ ok: true, differences: [] });
    const period = await hub.asStaff(
      `query($id: ID!) { settlementPeriod(id: $id) { positions(first: 10) { edges { node { partnerId netMinor referralBonuses { lines points moneyMinor } } } } } }`,
      { id: currentSettlementPeriod.id },
    );
    const payerPosition = period.settlementPeriod.positions.edges
      .map((edge: any) => edge.node)
      .find((node: any) => node.partnerId === 'PAYER');
    // Two referrals paid (ann → bob, bob → dan): 2 × (100 + 50) points at PAYER's 0.8.
    expect(payerPosition).toEqual({ partnerId: 'PAYER', netMinor: '240', referralBonuses: { lines: 4, points: '300', moneyMinor: '240' } });
  });

  it('pays the bonuses on a purchase activity too, and the activity receipt says so', async () => {
    await bolt.client.enrollMember({ member: 'eve', emailHash: email('eve-referrer') });
    const code = await codeOf(bolt, 'eve');
    const eveBefore = BigInt(await balanceOf(bolt, 'eve'));
    const enrolled = await bolt.client.enrollMember({ member: 'fay', emailHash: email('fay'), referralCode: code });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
    await acme.client.enrollMember({ member: 'fay-a', emailHash: email('fay') });
    const before = (await referralEntries()).length;
    const bought = await acme.client.submitActivity({ activity: 'purchase', member: 'fay-a', total: '1200', currency: 'EUR' });
    expect(bought).toMatchObject({ ok: true, data: { balance: '50' } });
    if (!bought.ok) return;
    expect(bought.data.notes).toContain('referral bonus: 50 CP to this member, 100 CP to the member who referred them');
    expect(await referralEntries()).toHaveLength(before + 2);
    expect(await balanceOf(bolt, 'eve')).toBe(String(eveBefore + 100n));
    // A second purchase pays nothing more.
    await acme.client.submitActivity({ activity: 'purchase', member: 'fay-a', total: '300', currency: 'EUR' });
    expect(await referralEntries()).toHaveLength(before + 2);
  });

  it('keeps the ledger whole', async () => {
    expect((await hub.integrity()).ok).toBe(true);
  });
});
