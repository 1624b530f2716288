import type { EntityManager } from 'typeorm';
import { productHalfEven } from '../common/decimal';
import type { Viewer } from '../common/viewer';
import type { TierRule } from '../config/tiers';
import { recordEvents } from '../outbox/outbox';

/**
 * Coalition-wide member tiers (docs/ledger.md, "Tiers"): from CP earned through issues at every partner
 * (less refunds of those issues) over a rolling window, against thresholds from config.
 */
export interface MemberTier {
  name: string;
  earnedInWindow: bigint;
  windowDays: number;
  next: string | null;
  toNext: bigint | null;
}

/** A tier as a viewer may see it: without the amounts for a partner. */
export type VisibleTier = Omit<MemberTier, 'earnedInWindow' | 'toNext'> & { earnedInWindow: bigint | null; toNext: bigint | null };

/** Pure: the tier for an amount earned. */
export function tierFor(rules: readonly TierRule[], earned: bigint, windowDays: number): MemberTier {
  let index = 0;
  for (const [i, rule] of rules.entries()) if (earned >= rule.threshold) index = i;
  const next = rules[index + 1];
  return {
    name: rules[index]!.name,
    earnedInWindow: earned,
    windowDays,
    next: next?.name ?? null,
    toNext: next ? next.threshold - earned : null,
  };
}

/** Pure: base × multiplier, rounded half-even to whole CP. */
export function applyMultiplier(base: bigint, multiplier: string): bigint {
  return productHalfEven(base, multiplier);
}

/**
 * What one row of member_earned_day `d` counts in the window ($2, $3] (start excluded, end included, as
 * recorded_at; $2 and $3 are timestamptz parameters): all of it when every entry it counts lies inside, nothing when none does, and for a day the
 * window's edge cuts through, the entries of that day inside the window, summed from the journal (issues count
 * their base amount: a multiplier must not feed the tier that earns it; reversals of issues their wallet posting).
 */
export const DAY_IN_WINDOW = `CASE
  WHEN d.first_at > $2 AND d.last_at <= $3 THEN d.earned
  WHEN d.last_at <= $2 OR d.first_at > $3 THEN 0
  ELSE ${earnedInJournal('d.member_id', '$2', '$3', "e.recorded_at >= d.day::timestamp AT TIME ZONE 'UTC' AND e.recorded_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'")}
END`;

/**
 * A scalar subquery: the CP `member` (an SQL expression) earned for its tier from the journal entries
 * recorded in (`after`, `upTo`] (SQL expressions), and `also` if given: issues count their base amount
 * (a multiplier must not feed the tier that earns it), reversals of issues their wallet posting.
 */
export function earnedInJournal(member: string, after: string, upTo: string, also?: string): string {
  return `(SELECT coalesce(sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE p.amount END), 0)
        FROM journal_entry e
        JOIN posting p ON p.entry_id = e.id
        JOIN account a ON a.id = p.account_id AND a.owner_kind = 'member' AND a.owner_id = e.member_id::text AND a.asset = 'CP' AND a.kind = 'wallet'
        WHERE e.member_id = ${member} AND e.type IN ('issue', 'reversal')${
          also
            ? `
          AND ${also}`
            : ''
        }
          AND e.recorded_at > ${after} AND e.recorded_at <= ${upTo}
          AND (e.type = 'issue' OR EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue')))`;
}

export class TierService {
  constructor(
    readonly rules: readonly TierRule[],
    readonly windowDays: number,
  ) {}

  /** CP a member earned through issues in the window ending at `at`, net of refunds of issues. */
  async earned(manager: Pick<EntityManager, 'query'>, memberId: string, at: Date): Promise<bigint> {
    const [earned] = await this.earnedByMember(manager, [memberId], at);
    return earned!;
  }

  /**
   * The same for many members at once, in one query (a page of members asks for all its tiers together):
   * the sum of the member's days in the window (at most windowDays + 1 rows however long its history).
   */
  async earnedByMember(manager: Pick<EntityManager, 'query'>, memberIds: readonly string[], at: Date): Promise<bigint[]> {
    const since = this.windowStart(at);
    const rows: Array<{ member_id: string; earned: string }> = await manager.query(
      `SELECT d.member_id::text AS member_id, sum(${DAY_IN_WINDOW})::text AS earned
       FROM member_earned_day d
       WHERE d.member_id = ANY($1::uuid[]) AND d.day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND d.day <= ($3::timestamptz AT TIME ZONE 'UTC')::date
       GROUP BY d.member_id`,
      [memberIds, since, at],
    );
    const byMember = new Map(rows.map((row) => [row.member_id, BigInt(row.earned)]));
    return memberIds.map((id) => byMember.get(id) ?? 0n);
  }

  /** Where the tier window ending at `at` starts (excluded). */
  windowStart(at: Date): Date {
    return new Date(at.getTime() - this.windowDays * 86_400_000);
  }

  async tierOf(manager: Pick<EntityManager, 'query'>, memberId: string, at: Date): Promise<MemberTier> {
    return tierFor(this.rules, await this.earned(manager, memberId, at), this.windowDays);
  }

  async tiersOf(manager: Pick<EntityManager, 'query'>, memberIds: readonly string[], at: Date): Promise<MemberTier[]> {
    const earned = await this.earnedByMember(manager, memberIds, at);
    return earned.map((amount) => tierFor(this.rules, amount, this.windowDays));
  }

  /**
   * Inside the transaction of an entry that changed what the member earned by `delta` (an issue, or
   * the reversal of one): a `tier.changed` event for every partner the member is enrolled at, when
   * that entry moved the member across a threshold (docs/events.md). The entry has locked the
   * member's wallet, so concurrent entries of the member are counted one after the other.
   */
  async recordChange(tx: EntityManager, memberId: string, delta: bigint, now: Date): Promise<void> {
    // The day's row counts the entry, and the window is summed with that row as it now is (one statement).
    const counted: Array<{ earned: string }> = await tx.query(
      `WITH counted AS (
         INSERT INTO member_earned_day AS d (member_id, day, earned, first_at, last_at)
         VALUES ($1, ($3::timestamptz AT TIME ZONE 'UTC')::date, $4, $3, $3)
         ON CONFLICT (member_id, day) DO UPDATE
           SET earned = d.earned + EXCLUDED.earned, first_at = least(d.first_at, EXCLUDED.first_at), last_at = greatest(d.last_at, EXCLUDED.last_at)
         RETURNING d.member_id, d.day, d.earned, d.first_at, d.last_at
       ), days AS (
         SELECT member_id, day, earned, first_at, last_at FROM member_earned_day
         WHERE member_id = $1 AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day <= ($3::timestamptz AT TIME ZONE 'UTC')::date
           AND day <> ($3::timestamptz AT TIME ZONE 'UTC')::date
         UNION ALL SELECT member_id, day, earned, first_at, last_at FROM counted
       )
       SELECT coalesce(sum(${DAY_IN_WINDOW}), 0)::text AS earned FROM days d`,
      [memberId, this.windowStart(now), now, delta.toString()],
    );
    const after = tierFor(this.rules, BigInt(counted[0]!.earned), this.windowDays);
    const before = tierFor(this.rules, after.earnedInWindow - delta, this.windowDays);
    if (before.name === after.name) return;
    const links: Array<{ partner_id: string }> = await tx.query(
      'SELECT partner_id FROM member_link WHERE member_id = $1 ORDER BY partner_id',
      [memberId],
    );
    await recordEvents(
      tx,
      links.map(({ partner_id: partnerId }) => ({
        type: 'tier.changed' as const,
        partnerId,
        memberId,
        occurredAt: now,
        data: { previousTier: before.name, tier: after.name },
      })),
    );
  }

  /** A partner sees the tier's name; what was earned (at other partners too) is for the member and staff. */
  forViewer(viewer: Viewer, tier: MemberTier): VisibleTier {
    return viewer.kind === 'partner' ? { ...tier, earnedInWindow: null, toNext: null } : tier;
  }
}
