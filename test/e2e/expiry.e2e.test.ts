import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Expiry: lots past expires_at go to the hub's breakage account, exactly,
 * once, per issuer, even when runs overlap or race redemptions.
 */
let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
const DAY_MS = 86_400_000;

const RUN = 'mutation { runExpiry { ran walletsTouched lotsExpired pointsExpired entriesMade } }';

async function balanceOf(partner: TestPartner, ref: string): Promise<string> {
  return (await hub.graphql('{ me { balance } }', {}, await hub.memberToken(partner, ref))).data?.me.balance;
}

async function breakage(): Promise<string> {
  const [row] = await hub.hub.dataSource.query(
    `SELECT coalesce(sum(b.balance), 0)::text AS total FROM account a JOIN account_balance b ON b.account_id = a.id WHERE a.kind = 'breakage'`,
  );
  return row.total;
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
  // BOLT's points live one month; ACME's the default 24. BOLT shares 40 % of its breakage.
  await hub.graphql(
    'mutation { setPartnerContract(partnerId: "BOLT", input: { lotLifetimeMonths: 1, breakageShare: "0.4" }) { __typename } }',
    {},
    await hub.operatorToken(),
  );
  for (const ref of ['ann', 'ben', 'cat']) {
    await acme.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    await bolt.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
  }
  await acme.client.issuePoints({ member: 'ann', amount: '100' });
  await bolt.client.issuePoints({ member: 'ann', amount: '50' });
  await bolt.client.issuePoints({ member: 'ben', amount: '100' });
  await bolt.client.redeemPoints({ member: 'ben', amount: '30' });
  for (let i = 0; i < 10; i += 1) await bolt.client.issuePoints({ member: 'cat', amount: '7' });
});

afterAll(() => hub.stop());

describe('expiry', () => {
  it('does nothing before any lot is due', async () => {
    const run = await hub.graphql(RUN, {}, await hub.operatorToken());
    expect(run.data?.runExpiry).toEqual({ ran: true, walletsTouched: 0, lotsExpired: 0, pointsExpired: '0', entriesMade: 0 });
  });

  it("expires exactly what is left of the due lots, per issuer, into breakage, and records the issuer's breakage share", async () => {
    hub.clock.advance(40 * DAY_MS);
    const run = await hub.graphql(RUN, {}, await hub.operatorToken());
    // ann: BOLT 50; ben: BOLT 100 − 30 spent = 70; cat: 10 × 7 = 70. ACME's lots have 23 months to go.
    expect(run.data?.runExpiry).toEqual({ ran: true, walletsTouched: 3, lotsExpired: 12, pointsExpired: '190', entriesMade: 3 });
    expect(await breakage()).toBe('190');
    const ann = await hub.graphql(
      '{ me { balance lots { edges { node { issuerPartnerId remaining } } } history { edges { node { type partnerId jti rates postings { amount account { kind } } } } } } }',
      {},
      await hub.memberToken(acme, 'ann'),
    );
    expect(ann.data?.me.balance).toBe('100');
    expect(ann.data?.me.lots.edges.map((edge: any) => edge.node)).toEqual([{ issuerPartnerId: 'ACME', remaining: '100' }]);
    const expired = ann.data?.me.history.edges[0].node;
    expect(expired).toMatchObject({ type: 'expire', partnerId: 'BOLT', jti: null, rates: { breakageShare: '0.4' } });
    expect(expired.postings).toEqual(
      expect.arrayContaining([
        { amount: '-50', account: { kind: 'wallet' } },
        { amount: '50', account: { kind: 'breakage' } },
      ]),
    );
    expect(await balanceOf(bolt, 'ben')).toBe('0');
  });

  it('is idempotent: a second run finds nothing more', async () => {
    const run = await hub.graphql(RUN, {}, await hub.operatorToken());
    expect(run.data?.runExpiry).toMatchObject({ ran: true, lotsExpired: 0, pointsExpired: '0' });
    expect(await breakage()).toBe('190');
  });

  it('expires each point once when two runs start together', async () => {
    const now = hub.clock.now();
    for (const ref of ['ann', 'ben']) {
      for (let i = 0; i < 5; i += 1) {
        const signed = await signInstruction({
          partnerId: 'BOLT',
          hubId: HUB_ID,
          key: bolt.key,
          op: 'issue',
          now,
          fields: { member: ref, amount: '3' },
        });
        expect((await bolt.client.submitSigned('issue', signed.jws)).ok).toBe(true);
      }
    }
    hub.clock.advance(40 * DAY_MS);
    const runs = await Promise.all([hub.hub.services.expiry.run(), hub.hub.services.expiry.run()]);
    expect(runs.reduce((sum, run) => sum + run.pointsExpired, 0n)).toBe(30n);
    expect(await breakage()).toBe('220');
  });

  it('decides a redemption racing expiry exactly: points are spent or expired, never both', async () => {
    const now = hub.clock.now();
    for (let i = 0; i < 20; i += 1) {
      const signed = await signInstruction({
        partnerId: 'BOLT',
        hubId: HUB_ID,
        key: bolt.key,
        op: 'issue',
        now,
        fields: { member: 'cat', amount: '5' },
      });
      await bolt.client.submitSigned('issue', signed.jws);
    }
    hub.clock.advance(40 * DAY_MS);
    const later = hub.clock.now();
    const redemptions = Array.from({ length: 10 }, () =>
      signInstruction({
        partnerId: 'BOLT',
        hubId: HUB_ID,
        key: bolt.key,
        op: 'redeem',
        now: later,
        fields: { member: 'cat', amount: '5' },
      }).then((signed) => bolt.client.submitSigned('redeem', signed.jws)),
    );
    const [run, ...outcomes] = await Promise.all([hub.hub.services.expiry.run(), ...redemptions]);
    const spent = outcomes.filter((outcome) => outcome.ok).length * 5;
    expect(BigInt(spent) + run.pointsExpired).toBe(100n);
    expect(await balanceOf(bolt, 'cat')).toBe('0');
    expect((await hub.integrity()).ok).toBe(true);
  });
});
