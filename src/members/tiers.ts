import type { EntityManager } from 'typeorm';
import Decimal from 'decimal.js';
import { Exact } from '../common/decimal';
import type { Viewer } from '../auth/viewer';

/**
 * Coalition-wide member tiers (issue #3 item 9): from CP earned through issues at every partner
 * (less refunds of those issues) over a rolling window, against thresholds from config.
 */
export interface TierRule {
  name: string;
  /** CP earned in the window from which the tier applies. */
  threshold: bigint;
}

export interface MemberTier {
  name: string;
  earnedInWindow: bigint;
  windowDays: number;
  next: string | null;
  toNext: bigint | null;
}

/** "Base:0,Silver:1000,Gold:5000" → rules ordered by threshold; the first must start at 0. */
export function parseTiers(text: string): TierRule[] {
  const rules = text.split(',').map((part) => {
    const [name, threshold] = part.split(':').map((piece) => piece.trim());
    if (!name || !/^[A-Z][A-Za-z0-9]{0,31}$/.test(name) || !threshold || !/^[0-9]{1,15}$/.test(threshold)) {
      throw new Error(`TIERS: "${part}" is not Name:threshold (e.g. Silver:1000)`);
    }
    return { name, threshold: BigInt(threshold) };
  });
  rules.sort((a, b) => (a.threshold < b.threshold ? -1 : a.threshold > b.threshold ? 1 : 0));
  if (rules[0]?.threshold !== 0n) throw new Error('TIERS: the lowest tier starts at 0');
  if (new Set(rules.map((rule) => rule.name)).size !== rules.length) throw new Error('TIERS: tier names repeat');
  return rules;
}

/** Pure: the tier for an amount earned. */
export function tierFor(rules: readonly TierRule[], earned: bigint, windowDays: number): MemberTier {
  let index = 0;
  for (const [i, rule] of rules.entries()) if (earned >= rule.threshold) index = i;
  const next = rules[index + 1];
  return { name: rules[index]!.name, earnedInWindow: earned, windowDays, next: next?.name ?? null, toNext: next ? next.threshold - earned : null };
}

/** Pure: base × multiplier, rounded half-even to whole CP. */
export function applyMultiplier(base: bigint, multiplier: string): bigint {
  return BigInt(new Exact(base.toString()).mul(multiplier).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed(0));
}

export class TierService {
  constructor(
    readonly rules: readonly TierRule[],
    readonly windowDays: number,
  ) {}

  /** CP a member earned through issues in the window ending at `at`, net of refunds of issues. */
  async earned(manager: Pick<EntityManager, 'query'>, memberId: string, at: Date): Promise<bigint> {
    const since = new Date(at.getTime() - this.windowDays * 86_400_000);
    const [{ earned }] = await manager.query(
      // A multiplied issue counts its base amount: a multiplier must not feed the tier that earns it.
      `SELECT coalesce(sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE p.amount END), 0)::text AS earned
       FROM journal_entry e
       JOIN posting p ON p.entry_id = e.id
       JOIN account a ON a.id = p.account_id AND a.owner_kind = 'member' AND a.owner_id = $1::text AND a.asset = 'CP' AND a.kind = 'wallet'
       WHERE e.member_id = $1::uuid AND e.recorded_at > $2 AND e.recorded_at <= $3
         AND (e.type = 'issue' OR (e.type = 'reversal' AND EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue')))`,
      [memberId, since, at],
    );
    return BigInt(earned);
  }

  async tierOf(manager: Pick<EntityManager, 'query'>, memberId: string, at: Date): Promise<MemberTier> {
    return tierFor(this.rules, await this.earned(manager, memberId, at), this.windowDays);
  }

  /** A partner sees the tier's name; what was earned (at other partners too) is for the member and staff. */
  async tierForViewer(viewer: Viewer, manager: Pick<EntityManager, 'query'>, memberId: string, at: Date) {
    const tier = await this.tierOf(manager, memberId, at);
    return viewer.kind === 'partner' ? { ...tier, earnedInWindow: null, toNext: null } : tier;
  }
}
