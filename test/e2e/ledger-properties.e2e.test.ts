import fc from 'fast-check';
import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Property: any sequence of issues and redemptions, at any partners for any members, leaves the
 * hub agreeing with a simple model — balances, first-expiring-first-out attribution of every
 * redeemed point to its issuer — and invariants 1–3 of docs/ledger.md holding.
 */
let hub: TestHub;
let partners: TestPartner[];
let run = 0;

beforeAll(async () => {
  hub = await TestHub.start();
  partners = [await hub.registerPartner('PA'), await hub.registerPartner('PB', 'ES256'), await hub.registerPartner('PC')];
});

afterAll(() => hub.stop());

type Step = { kind: 'issue' | 'redeem'; partner: number; member: number; amount: number };

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('issue' as const, 'redeem' as const),
  partner: fc.integer({ min: 0, max: 2 }),
  member: fc.integer({ min: 0, max: 2 }),
  amount: fc.integer({ min: 1, max: 400 }),
});

interface ModelLot {
  issuer: string;
  remaining: number;
}

it('agrees with a model of balances and lot attribution for random issue/redeem sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      run += 1;
      const refs = [0, 1, 2].map((m) => `r${run}-m${m}`);
      for (const ref of refs) {
        for (const partner of partners) {
          const enrolled = await partner.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
          if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
        }
      }
      // Lots issued in one run share a lifetime, so FIFO by expiry is FIFO by issue order.
      const lots: ModelLot[][] = [[], [], []];
      const consumedByIssuer = new Map<string, number>();
      for (const { kind, partner, member, amount } of steps) {
        const client = partners[partner]!.client;
        const wallet = lots[member]!;
        const balance = wallet.reduce((sum, lot) => sum + lot.remaining, 0);
        if (kind === 'issue') {
          const outcome = await client.issuePoints({ member: refs[member]!, amount: String(amount) });
          expect(outcome.ok && outcome.data.balance).toBe(String(balance + amount));
          wallet.push({ issuer: partners[partner]!.id, remaining: amount });
          continue;
        }
        const outcome = await client.redeemPoints({ member: refs[member]!, amount: String(amount) });
        if (amount > balance) {
          expect(outcome.ok ? 'accepted' : outcome.errorCode).toBe('INSUFFICIENT_BALANCE');
          continue;
        }
        expect(outcome.ok && outcome.data.balance).toBe(String(balance - amount));
        const expected = new Map<string, number>();
        let left = amount;
        for (const lot of wallet) {
          const take = Math.min(lot.remaining, left);
          if (take === 0) continue;
          lot.remaining -= take;
          left -= take;
          expected.set(lot.issuer, (expected.get(lot.issuer) ?? 0) + take);
          consumedByIssuer.set(lot.issuer, (consumedByIssuer.get(lot.issuer) ?? 0) + take);
        }
        const consumed = outcome.ok ? outcome.data.consumed : [];
        expect(new Map(consumed.map((c) => [c.issuerPartnerId, Number(c.amount)]))).toEqual(expected);
      }
      const report = await hub.integrity();
      expect(report).toEqual({ ok: true, differences: [] });
    }),
    { numRuns: 12, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
});
