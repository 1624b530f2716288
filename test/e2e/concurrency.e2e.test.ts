import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

let hub: TestHub;
let acme: TestPartner;
let cafe: TestPartner;

const count = async (table: string): Promise<number> => (await hub.hub.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

/** One member known to both partners (linked by e-mail hash), under the same reference. */
async function enrollEverywhere(ref: string): Promise<void> {
  const memberIds = new Set<string>();
  for (const partner of [acme, cafe]) {
    const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
    memberIds.add(enrolled.data.memberId);
  }
  expect(memberIds.size).toBe(1);
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  cafe = await hub.registerPartner('CAFE', 'ES256');
});

afterAll(() => hub.stop());

describe('concurrency', () => {
  it('lets exactly the affordable number of 60 racing redemptions win, and never goes below zero', async () => {
    await enrollEverywhere('racer');
    await acme.client.issuePoints({ member: 'racer', amount: '1000' });
    const attempts = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? acme : cafe).client.redeemPoints({ member: 'racer', amount: '50' })),
    );
    const won = attempts.filter((outcome) => outcome.ok);
    const refused = attempts.filter((outcome) => !outcome.ok);
    expect(won).toHaveLength(20);
    expect(refused.every((outcome) => !outcome.ok && outcome.errorCode === 'INSUFFICIENT_BALANCE')).toBe(true);
    const balances = won.map((outcome) => (outcome.ok ? BigInt(outcome.data.balance) : -1n)).sort((a, b) => (a < b ? -1 : 1));
    // Every winner saw a distinct balance after its own debit: 0, 50, …, 950.
    expect(balances).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i * 50)));
    const token = await acme.client.memberToken('racer');
    expect((await hub.graphql('{ me { balance } }', {}, token)).data?.me.balance).toBe('0');
    expect((await hub.integrity()).ok).toBe(true);
  });

  it('decides random-sized races exactly: the sum of winners never exceeds what was there', async () => {
    await enrollEverywhere('random-racer');
    await acme.client.issuePoints({ member: 'random-racer', amount: '777' });
    const amounts = Array.from({ length: 50 }, (_, i) => 1 + ((i * 37) % 90));
    const attempts = await Promise.all(
      amounts.map((amount) => cafe.client.redeemPoints({ member: 'random-racer', amount: String(amount) })),
    );
    const spent = attempts.reduce((sum, outcome, i) => (outcome.ok ? sum + BigInt(amounts[i]!) : sum), 0n);
    const token = await cafe.client.memberToken('random-racer');
    const balance = BigInt((await hub.graphql('{ me { balance } }', {}, token)).data?.me.balance);
    expect(balance).toBe(777n - spent);
    expect(balance).toBeGreaterThanOrEqual(0n);
    // Each refusal was right when it was decided: the amount exceeded the balance then.
    for (const outcome of attempts) if (!outcome.ok) expect(outcome.errorCode).toBe('INSUFFICIENT_BALANCE');
  });

  it('applies one jti once when 30 copies of the same signed redemption arrive together', async () => {
    await enrollEverywhere('dup');
    await acme.client.issuePoints({ member: 'dup', amount: '100' });
    const entriesBefore = await count('journal_entry');
    const signed = await signInstruction({
      partnerId: 'CAFE',
      hubId: HUB_ID,
      key: cafe.key,
      op: 'redeem',
      fields: { member: 'dup', amount: '60' },
    });
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => cafe.client.submitSigned('redeem', signed.jws)));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const entryIds = new Set(outcomes.map((outcome) => (outcome.ok ? outcome.data.entryId : null)));
    expect(entryIds.size).toBe(1);
    expect(outcomes.filter((outcome) => outcome.ok && !outcome.data.replayed)).toHaveLength(1);
    expect(await count('journal_entry')).toBe(entriesBefore + 1);
    const token = await cafe.client.memberToken('dup');
    expect((await hub.graphql('{ me { balance } }', {}, token)).data?.me.balance).toBe('40');
  });

  it('applies one jti once when copies of an issue race, even re-signed with new timestamps', async () => {
    await enrollEverywhere('dup-issue');
    const jti = 'issue-race-1';
    const copies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        signInstruction({
          partnerId: 'ACME',
          hubId: HUB_ID,
          key: acme.key,
          op: 'issue',
          jti,
          fields: { member: 'dup-issue', amount: '25' },
          now: new Date(Date.now() - i * 1000),
        }),
      ),
    );
    const outcomes = await Promise.all(copies.map((copy) => acme.client.submitSigned('issue', copy.jws)));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const token = await acme.client.memberToken('dup-issue');
    expect((await hub.graphql('{ me { balance } }', {}, token)).data?.me.balance).toBe('25');
  });

  it('keeps every point when one busy partner issues to many members at once (sharded counter-account)', async () => {
    const members = Array.from({ length: 10 }, (_, i) => `busy-${i}`);
    await Promise.all(members.map((ref) => acme.client.enrollMember({ member: ref })));
    const outcomes = await Promise.all(
      Array.from({ length: 80 }, (_, i) => acme.client.issuePoints({ member: members[i % members.length]!, amount: String(i + 1) })),
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const [{ issued }] = await hub.hub.dataSource.query(
      `SELECT sum(-p.amount)::text AS issued FROM posting p JOIN journal_entry e ON e.id = p.entry_id
       JOIN account a ON a.id = p.account_id WHERE a.kind = 'issuance' AND e.member_id IN (
         SELECT member_id FROM member_link WHERE partner_id = 'ACME' AND member_ref LIKE 'busy-%')`,
    );
    expect(issued).toBe(String((80 * 81) / 2));
    expect((await hub.integrity()).ok).toBe(true);
  });

  it('links one member when the same reference is enrolled 20 times at once', async () => {
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => acme.client.enrollMember({ member: 'same-ref' })));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(new Set(outcomes.map((outcome) => (outcome.ok ? outcome.data.memberId : '')))).toHaveProperty('size', 1);
  });

  it('never deadlocks when issues and redemptions hit one wallet from two partners at once', async () => {
    await enrollEverywhere('mixed');
    await acme.client.issuePoints({ member: 'mixed', amount: '500' });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? acme.client.issuePoints({ member: 'mixed', amount: '10' })
          : cafe.client.redeemPoints({ member: 'mixed', amount: '10' }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const token = await acme.client.memberToken('mixed');
    expect((await hub.graphql('{ me { balance } }', {}, token)).data?.me.balance).toBe('500');
  });
});
