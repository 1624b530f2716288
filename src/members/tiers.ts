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

  /** The same for many members at once, in one query (a page of members asks for all its tiers together). */
  async earnedByMember(manager: Pick<EntityManager, 'query'>, memberIds: readonly string[], at: Date): Promise<bigint[]> {
    const since = new Date(at.getTime() - this.windowDays * 86_400_000);
    const rows: Array<{ member_id: string; earned: string }> = await manager.query(
      // A multiplied issue counts its base amount: a multiplier must not feed the tier that earns it.
      `SELECT e.member_id::text AS member_id,
              sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE p.amount END)::text AS earned
       FROM journal_entry e
       JOIN posting p ON p.entry_id = e.id
       JOIN account a ON a.id = p.account_id AND a.owner_kind = 'member' AND a.owner_id = e.member_id::text AND a.asset = 'CP' AND a.kind = 'wallet'
       WHERE e.member_id = ANY($1::uuid[]) AND e.recorded_at > $2 AND e.recorded_at <= $3
         AND (e.type = 'issue' OR (e.type = 'reversal' AND EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue')))
       GROUP BY e.member_id`,
      [memberIds, since, at],
    );
    const byMember = new Map(rows.map((row) => [row.member_id, BigInt(row.earned)]));
    return memberIds.map((id) => byMember.get(id) ?? 0n);
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
    const after = await this.tierOf(tx, memberId, now);
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
