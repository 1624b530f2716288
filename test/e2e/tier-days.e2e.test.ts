import fc from 'fast-check';
import { TierService } from '../../src/members/tiers';
import { parseTiers } from '../../src/config/tiers';
import { signInstruction } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * A tier is summed from the member's earned days (docs/ledger.md, "Tiers"); it must be exactly what a sum
 * over the member's journal entries in the window gives, whatever the history, at any moment, the
 * moments where the window's edges fall on an entry included.
 */
let hub: TestHub;
let acme: TestPartner;
const DAY_MS = 86_400_000;
const WINDOW_DAYS = 365;

/** The tier's amount as a sum over the journal (issues at their base amount, reversals of issues), as it was computed before days were kept. */
async function earnedFromJournal(memberId: string, at: Date): Promise<bigint> {
  const [row] = await hub.hub.dataSource.query(
    `SELECT coalesce(sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE p.amount END), 0)::text AS earned
     FROM journal_entry e
     JOIN posting p ON p.entry_id = e.id
     JOIN account a ON a.id = p.account_id AND a.owner_kind = 'member' AND a.owner_id = e.member_id::text AND a.asset = 'CP' AND a.kind = 'wallet'
     WHERE e.member_id = $1 AND e.recorded_at > $2 AND e.recorded_at <= $3
       AND (e.type = 'issue' OR (e.type = 'reversal' AND EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue')))`,
    [memberId, new Date(at.getTime() - WINDOW_DAYS * DAY_MS), at],
  );
  return BigInt(row.earned);
}

/** Signed on the hub's clock, which the test moves ahead. */
async function send<O extends 'enroll' | 'issue' | 'reverse'>(op: O, fields: Record<string, unknown>) {
  const signed = await signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op, now: hub.clock.now(), fields } as never);
  const outcome = await acme.client.submitSigned(op, (signed as { jws: string }).jws);
  if (!outcome.ok) throw new Error(JSON.stringify(outcome));
  return outcome.data as unknown as { memberId: string; entryId: string; recordedAt: string };
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  const set = await hub.graphql(
    'mutation { setPartnerContract(partnerId: "ACME", input: { tierMultipliers: { Silver: "1.5", Gold: "2" } }) { __typename } }',
    {},
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
});

afterAll(() => hub.stop());

const step = fc.record({
  /** How long after the previous step (up to 200 days, often within the same day). */
  afterMs: fc.oneof(fc.integer({ min: 0, max: 6 * 3_600_000 }), fc.integer({ min: 0, max: 200 * DAY_MS })),
  amount: fc.integer({ min: 1, max: 900 }),
  multiplied: fc.boolean(),
  /** Part of this issue refunded right away (0: none). */
  refund: fc.integer({ min: 0, max: 3 }),
});

it('sums the same from days as from the journal, at every moment around every entry', async () => {
  const tiers = new TierService(parseTiers('Base:0,Silver:1000,Gold:5000'), WINDOW_DAYS);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
      const member = `prop-${run++}`;
      const { memberId } = await send('enroll', { member });
      const moments: Date[] = [];
      for (const { afterMs, amount, multiplied, refund } of steps) {
        hub.clock.advance(afterMs);
        const issued = await send('issue', { member, amount: String(amount), applyTierMultiplier: multiplied });
        moments.push(new Date(issued.recordedAt));
        if (refund > 0) {
          const refunded = await send('reverse', { entry: issued.entryId, amount: String(Math.max(1, Math.floor(amount / (refund + 1)))) });
          moments.push(new Date(refunded.recordedAt));
        }
      }
      const windowMs = WINDOW_DAYS * DAY_MS;
      const probes = moments.flatMap((t) =>
        [0, windowMs].flatMap((shift) => [-DAY_MS, -1, 0, 1, DAY_MS].map((d) => new Date(t.getTime() + shift + d))),
      );
      probes.push(hub.clock.now());
      for (const at of probes) {
        const fromDays = await tiers.earned(hub.hub.dataSource.manager, memberId, at);
        expect({ at: at.toISOString(), earned: fromDays }).toEqual({ at: at.toISOString(), earned: await earnedFromJournal(memberId, at) });
      }
    }),
    { numRuns: 8 },
  );
});
