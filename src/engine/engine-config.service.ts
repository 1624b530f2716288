import { DateTime } from 'luxon';
import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { decimalText, Exact, parseDecimal } from '../common/decimal';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { withTransaction } from '../db/with-transaction';
import { isHeldOut } from './holdout';
import { ACTION_KINDS, type ActionKind, type CampaignState, type CampaignTarget, type EarnRuleVersion } from './evaluate';

/** What a partner (or the operator) sets for one earn rule: a new version of it (docs/loyalty-engine.md). */
export interface EarnRuleInput {
  ruleId: string;
  name: string;
  kind: 'spend' | 'action';
  pointsPerUnit?: string | null;
  unitMinor?: bigint | null;
  category?: string | null;
  sku?: string | null;
  action?: string | null;
  points?: bigint | null;
  minBasketMinor?: bigint | null;
  capPerDay?: bigint | null;
  capPerMonth?: bigint | null;
  /** false: from validFrom the rule earns nothing (a version that switches it off). */
  active?: boolean | null;
}

export interface EarnRuleRow extends EarnRuleVersion {
  id: string;
  partnerId: string;
  validFrom: Date;
  active: boolean;
  createdAt: Date;
}

export interface CampaignInput {
  name: string;
  kind: 'multiplier' | 'bonus';
  multiplier?: string | null;
  bonusPoints?: bigint | null;
  trigger?: string | null;
  /** Local date-times (no zone) read in `timeZone`, e.g. 2026-12-01T00:00. */
  startsLocal: string;
  endsLocal: string;
  timeZone: string;
  funders: ReadonlyArray<{ partnerId: string; share: string }>;
  targetKind?: 'all' | 'tiers' | 'new_at_partner' | null;
  targetTiers?: readonly string[] | null;
  stacking?: 'stackable' | 'exclusive' | null;
  priority?: number | null;
  perMemberLimit?: number | null;
  pointsCap?: bigint | null;
  moneyCapMinor?: bigint | null;
  strict?: boolean | null;
  /** The share of members the campaign holds out (src/engine/holdout.ts), a decimal from 0 (default) to 0.5. */
  holdoutShare?: string | null;
}

export interface CampaignRow {
  id: string;
  version: number;
  name: string;
  kind: 'multiplier' | 'bonus';
  multiplier: string | null;
  bonusPoints: bigint | null;
  trigger: string;
  startsAt: Date;
  endsAt: Date;
  timeZone: string;
  funders: Array<{ partnerId: string; share: string }>;
  targetKind: string;
  targetTiers: string[];
  stacking: 'stackable' | 'exclusive';
  priority: number;
  perMemberLimit: number | null;
  pointsCap: bigint | null;
  pointsUsed: bigint;
  moneyCapMinor: bigint | null;
  moneyUsedMinor: bigint;
  strict: boolean;
  holdoutShare: string;
  createdAt: Date;
}

const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
/** The largest holdout share a campaign may have (docs/loyalty-engine.md, "Holdout"). */
export const MAX_HOLDOUT_SHARE = '0.5';
const BACKDATE_TOLERANCE_MS = 60_000;
const invalid = (message: string) => fail(ErrorCode.INVALID_INPUT, message);
const big = (value: string | null): bigint | null => (value === null ? null : BigInt(value));

const RULE_COLUMNS = `id::text, partner_id, rule_id, version, valid_from, active, name, kind, points_per_unit::text, unit_minor::text, category, sku,
  action, points::text, min_basket_minor::text, cap_per_day::text, cap_per_month::text, created_at`;

interface RuleTableRow {
  id: string;
  partner_id: string;
  rule_id: string;
  version: number;
  valid_from: Date;
  active: boolean;
  name: string;
  kind: 'spend' | 'action';
  points_per_unit: string | null;
  unit_minor: string | null;
  category: string | null;
  sku: string | null;
  action: ActionKind | null;
  points: string | null;
  min_basket_minor: string;
  cap_per_day: string | null;
  cap_per_month: string | null;
  created_at: Date;
}

const toRule = (row: RuleTableRow): EarnRuleRow => ({
  id: row.id,
  partnerId: row.partner_id,
  ruleId: row.rule_id,
  version: row.version,
  validFrom: row.valid_from,
  active: row.active,
  name: row.name,
  kind: row.kind,
  pointsPerUnit: row.points_per_unit === null ? null : decimalText(row.points_per_unit),
  unitMinor: big(row.unit_minor),
  category: row.category,
  sku: row.sku,
  action: row.action,
  points: big(row.points),
  minBasketMinor: BigInt(row.min_basket_minor),
  capPerDay: big(row.cap_per_day),
  capPerMonth: big(row.cap_per_month),
  createdAt: row.created_at,
});

/** The latest version of each of a partner's rules valid at $2, active ones only. */
const RULES_IN_FORCE = `SELECT ${RULE_COLUMNS} FROM (
    SELECT DISTINCT ON (rule_id) * FROM earn_rule WHERE partner_id = $1 AND valid_from <= $2 ORDER BY rule_id, valid_from DESC, version DESC
  ) r WHERE active ORDER BY rule_id`;

const CAMPAIGN_COLUMNS = `c.id::text, c.version, c.name, c.kind, c.multiplier::text, c.bonus_points::text, c.trigger, c.starts_at, c.ends_at, c.time_zone,
  c.target_kind, c.target_tiers, c.stacking, c.priority, c.per_member_limit, c.points_cap::text, c.money_cap_minor::text,
  (c.points_used + coalesce((SELECT sum(u.points) FROM campaign_usage u WHERE u.campaign_id = c.id), 0))::text AS points_used,
  (c.money_used_minor + coalesce((SELECT sum(u.money_minor) FROM campaign_usage u WHERE u.campaign_id = c.id), 0))::text AS money_used_minor,
  c.strict, c.holdout_share::text, c.created_at,
  (SELECT json_agg(json_build_object('partnerId', p.partner_id, 'share', p.share::text) ORDER BY p.partner_id) FROM campaign_partner p WHERE p.campaign_id = c.id) AS funders`;

interface CampaignTableRow {
  id: string;
  version: number;
  name: string;
  kind: 'multiplier' | 'bonus';
  multiplier: string | null;
  bonus_points: string | null;
  trigger: string;
  starts_at: Date;
  ends_at: Date;
  time_zone: string;
  target_kind: string;
  target_tiers: string[];
  stacking: 'stackable' | 'exclusive';
  priority: number;
  per_member_limit: number | null;
  points_cap: string | null;
  points_used: string;
  money_cap_minor: string | null;
  money_used_minor: string;
  strict: boolean;
  holdout_share: string;
  created_at: Date;
  funders: Array<{ partnerId: string; share: string }>;
}

const toCampaign = (row: CampaignTableRow): CampaignRow => ({
  id: row.id,
  version: row.version,
  name: row.name,
  kind: row.kind,
  multiplier: row.multiplier === null ? null : decimalText(row.multiplier),
  bonusPoints: big(row.bonus_points),
  trigger: row.trigger,
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  timeZone: row.time_zone,
  funders: row.funders.map((funder) => ({ partnerId: funder.partnerId, share: decimalText(funder.share) })),
  targetKind: row.target_kind,
  targetTiers: row.target_tiers,
  stacking: row.stacking,
  priority: row.priority,
  perMemberLimit: row.per_member_limit,
  pointsCap: big(row.points_cap),
  pointsUsed: BigInt(row.points_used),
  moneyCapMinor: big(row.money_cap_minor),
  moneyUsedMinor: BigInt(row.money_used_minor),
  strict: row.strict,
  holdoutShare: decimalText(row.holdout_share),
  createdAt: row.created_at,
});

async function partnerExists(tx: EntityManager, partnerId: string): Promise<boolean> {
  const rows: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [partnerId]);
  return rows.length > 0;
}

/**
 * Earn rules, declared categories and campaigns (docs/loyalty-engine.md): rules are versioned and
 * effective-dated like contracts (append-only: a change is a new version from validFrom, never in
 * the past); campaigns are made once, and can be ended early.
 */
export class EngineConfigService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async setEarnRule(partnerId: string, input: EarnRuleInput, validFrom?: Date | null): Promise<EarnRuleRow | OpError<'setting'>> {
    const now = this.clock.now();
    const from = validFrom ?? now;
    if (from.getTime() < now.getTime() - BACKDATE_TOLERANCE_MS) return invalid('validFrom lies in the past: rules are never backdated');
    const checked = checkRule(input);
    if (typeof checked === 'string') return invalid(checked);
    return withTransaction(this.dataSource, async (tx) => {
      if (!(await partnerExists(tx, partnerId))) return fail(ErrorCode.NOT_FOUND, `there is no partner ${partnerId}`);
      // One version at a time per rule: the rule's versions are numbered under this lock.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`earn_rule:${partnerId}:${input.ruleId}`]);
      const [row]: RuleTableRow[] = await tx.query(
        `INSERT INTO earn_rule (partner_id, rule_id, version, valid_from, active, name, kind, points_per_unit, unit_minor, category, sku, action,
           points, min_basket_minor, cap_per_day, cap_per_month, created_at)
         SELECT $1, $2, coalesce((SELECT max(version) FROM earn_rule WHERE partner_id = $1 AND rule_id = $2), 0) + 1,
                $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
         RETURNING ${RULE_COLUMNS}`,
        [
          partnerId,
          input.ruleId,
          from,
          input.active ?? true,
          input.name,
          input.kind,
          checked.pointsPerUnit,
          checked.unitMinor?.toString() ?? null,
          checked.category,
          checked.sku,
          checked.action,
          checked.points?.toString() ?? null,
          (input.minBasketMinor ?? 0n).toString(),
          input.capPerDay?.toString() ?? null,
          input.capPerMonth?.toString() ?? null,
          now,
        ],
      );
      return toRule(row!);
    });
  }

  /** A partner's rules in force at `at` (default now). */
  async earnRules(partnerId: string, at?: Date): Promise<EarnRuleRow[]> {
    const rows: RuleTableRow[] = await this.dataSource.query(RULES_IN_FORCE, [partnerId, at ?? this.clock.now()]);
    return rows.map(toRule);
  }

  /** Every version of a partner's rules, newest first. */
  async earnRuleHistory(partnerId: string): Promise<EarnRuleRow[]> {
    const rows: RuleTableRow[] = await this.dataSource.query(
      `SELECT ${RULE_COLUMNS} FROM earn_rule WHERE partner_id = $1 ORDER BY rule_id, version DESC`,
      [partnerId],
    );
    return rows.map(toRule);
  }

  /** The categories a partner's purchases may name; none declared: any category is accepted. */
  async setEarnCategories(partnerId: string, codes: readonly string[]): Promise<string[] | OpError<'setting'>> {
    const unique = [...new Set(codes)].sort();
    const bad = unique.find((code) => !CODE.test(code));
    if (bad !== undefined) return invalid(`category ${JSON.stringify(bad)}: 1 to 64 letters, digits, _ . -`);
    if (unique.length > 1000) return invalid('at most 1000 categories');
    return withTransaction(this.dataSource, async (tx) => {
      if (!(await partnerExists(tx, partnerId))) return fail(ErrorCode.NOT_FOUND, `there is no partner ${partnerId}`);
      await tx.query('INSERT INTO earn_category_set (partner_id, codes, set_at) VALUES ($1, $2, $3)', [
        partnerId,
        unique,
        this.clock.now(),
      ]);
      return unique;
    });
  }

  async earnCategories(partnerId: string): Promise<string[]> {
    return [...(await declaredCategories(this.dataSource, partnerId))].sort();
  }

  async createCampaign(input: CampaignInput, createdBy: string): Promise<CampaignRow | OpError<'setting'>> {
    const checked = checkCampaign(input);
    if (typeof checked === 'string') return invalid(checked);
    const id = newId();
    return withTransaction(this.dataSource, async (tx) => {
      for (const funder of input.funders) {
        if (!(await partnerExists(tx, funder.partnerId))) return fail(ErrorCode.NOT_FOUND, `there is no partner ${funder.partnerId}`);
      }
      await tx.query(
        `INSERT INTO campaign (id, name, kind, multiplier, bonus_points, trigger, starts_at, ends_at, time_zone, target_kind, target_tiers, stacking,
           priority, per_member_limit, points_cap, money_cap_minor, strict, created_by, created_at, holdout_share)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
        [
          id,
          input.name,
          input.kind,
          input.kind === 'multiplier' ? input.multiplier : null,
          input.kind === 'bonus' ? input.bonusPoints!.toString() : null,
          input.trigger ?? 'purchase',
          checked.startsAt,
          checked.endsAt,
          input.timeZone,
          input.targetKind ?? 'all',
          [...(input.targetTiers ?? [])],
          input.stacking ?? 'stackable',
          input.priority ?? 0,
          input.perMemberLimit ?? null,
          input.pointsCap?.toString() ?? null,
          input.moneyCapMinor?.toString() ?? null,
          input.strict ?? false,
          createdBy,
          this.clock.now(),
          checked.holdoutShare,
        ],
      );
      await tx.query(
        'INSERT INTO campaign_partner (campaign_id, partner_id, share) SELECT $1, f.partner_id, f.share FROM unnest($2::text[], $3::numeric[]) AS f(partner_id, share)',
        [id, input.funders.map((f) => f.partnerId), input.funders.map((f) => f.share)],
      );
      return (await this.campaignIn(tx, id))!;
    });
  }

  /** Ends a campaign now (it awards nothing after); a campaign already over stays as it is. */
  async endCampaign(id: string, partnerId: string | null): Promise<CampaignRow | OpError<'setting'>> {
    return withTransaction(this.dataSource, async (tx) => {
      const campaign = await this.campaignIn(tx, id);
      const own = campaign && (partnerId === null || campaign.funders.every((f) => f.partnerId === partnerId));
      if (!campaign || !own) return fail(ErrorCode.NOT_FOUND, `there is no campaign ${id}`);
      const now = this.clock.now();
      await tx.query("UPDATE campaign SET ends_at = greatest(starts_at + interval '1 microsecond', $2) WHERE id = $1 AND ends_at > $2", [
        id,
        now,
      ]);
      return (await this.campaignIn(tx, id))!;
    });
  }

  /** Campaigns a partner takes part in, newest first. */
  async campaigns(partnerId: string): Promise<CampaignRow[]> {
    const rows: CampaignTableRow[] = await this.dataSource.query(
      `SELECT ${CAMPAIGN_COLUMNS} FROM campaign c WHERE c.id IN (SELECT campaign_id FROM campaign_partner WHERE partner_id = $1)
       ORDER BY c.created_at DESC, c.id`,
      [partnerId],
    );
    return rows.map(toCampaign);
  }

  private async campaignIn(tx: EntityManager, id: string): Promise<CampaignRow | null> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    const rows: CampaignTableRow[] = await tx.query(`SELECT ${CAMPAIGN_COLUMNS} FROM campaign c WHERE c.id = $1`, [id]);
    return rows[0] ? toCampaign(rows[0]) : null;
  }
}

function checkRule(input: EarnRuleInput):
  | string
  | {
      pointsPerUnit: string | null;
      unitMinor: bigint | null;
      category: string | null;
      sku: string | null;
      action: ActionKind | null;
      points: bigint | null;
    } {
  if (!CODE.test(input.ruleId)) return 'ruleId: 1 to 64 letters, digits, _ . -';
  if (input.name.trim() === '' || input.name.length > 200) return 'name: 1 to 200 characters';
  for (const [name, value] of [
    ['minBasketMinor', input.minBasketMinor],
    ['capPerDay', input.capPerDay],
    ['capPerMonth', input.capPerMonth],
  ] as const) {
    if (value !== null && value !== undefined && value < 0n) return `${name} is not negative`;
  }
  if (input.kind === 'spend') {
    if (input.action || (input.points !== null && input.points !== undefined)) return 'a spend rule has no action nor fixed points';
    const rate = parseDecimal(input.pointsPerUnit);
    if (!rate) return 'pointsPerUnit: a decimal such as "1" or "0.25" (points per unitMinor spent)';
    const unitMinor = input.unitMinor ?? 100n;
    if (unitMinor <= 0n) return 'unitMinor is positive';
    if (input.category !== null && input.category !== undefined && !CODE.test(input.category))
      return 'category: 1 to 64 letters, digits, _ . -';
    if (input.sku !== null && input.sku !== undefined && !/^[\x21-\x7e]{1,128}$/.test(input.sku))
      return 'sku: 1 to 128 printable characters';
    return {
      pointsPerUnit: decimalText(rate),
      unitMinor,
      category: input.category ?? null,
      sku: input.sku ?? null,
      action: null,
      points: null,
    };
  }
  if (input.pointsPerUnit || input.category || input.sku) return 'an action rule has fixed points, no rate, category nor SKU';
  if (!(ACTION_KINDS as readonly string[]).includes(input.action ?? '')) return `action: one of ${ACTION_KINDS.join(', ')}`;
  if (input.points === null || input.points === undefined || input.points < 0n) return 'points: the fixed points of the action';
  // Engagement earns nothing unless a rule says so, and such a rule must carry a cap.
  if (input.action === 'engagement' && (input.capPerDay ?? null) === null && (input.capPerMonth ?? null) === null) {
    return 'an engagement rule needs capPerDay or capPerMonth';
  }
  return { pointsPerUnit: null, unitMinor: null, category: null, sku: null, action: input.action as ActionKind, points: input.points };
}

function checkCampaign(input: CampaignInput): string | { startsAt: Date; endsAt: Date; holdoutShare: string } {
  if (input.name.trim() === '' || input.name.length > 200) return 'name: 1 to 200 characters';
  if (input.kind === 'multiplier') {
    const multiplier = parseDecimal(input.multiplier);
    if (!multiplier || multiplier.lessThan(1)) return 'multiplier: a decimal of at least 1, e.g. "2"';
    if (input.bonusPoints !== null && input.bonusPoints !== undefined) return 'a multiplier campaign has no bonusPoints';
  } else {
    if (input.bonusPoints === null || input.bonusPoints === undefined || input.bonusPoints <= 0n) return 'bonusPoints: positive';
    if (input.multiplier) return 'a bonus campaign has no multiplier';
  }
  const trigger = input.trigger ?? 'purchase';
  if (trigger !== 'purchase' && !(ACTION_KINDS as readonly string[]).includes(trigger))
    return `trigger: purchase or one of ${ACTION_KINDS.join(', ')}`;
  if (!DateTime.local().setZone(input.timeZone).isValid) return `timeZone: ${JSON.stringify(input.timeZone)} is not an IANA time zone`;
  const starts = DateTime.fromISO(input.startsLocal, { zone: input.timeZone });
  const ends = DateTime.fromISO(input.endsLocal, { zone: input.timeZone });
  if (!starts.isValid || !ends.isValid) return 'startsLocal and endsLocal: local date-times such as 2026-12-01T00:00';
  if (ends <= starts) return 'the window ends after it starts';
  if (input.funders.length === 0 || input.funders.length > 50) return 'funders: 1 to 50 partners';
  if (new Set(input.funders.map((f) => f.partnerId)).size !== input.funders.length) return 'funders: each partner once';
  let sum = new Exact(0);
  for (const funder of input.funders) {
    const share = parseDecimal(funder.share);
    if (!share || share.isZero() || share.greaterThan(1)) return 'each funder share is a decimal above 0, at most 1';
    sum = sum.plus(share);
  }
  if (!sum.equals(1)) return `the funders' shares add up to ${sum.toFixed()}, not 1`;
  const targetKind = input.targetKind ?? 'all';
  if (targetKind === 'tiers' && (input.targetTiers ?? []).length === 0) return 'targetTiers: the tiers targeted';
  if (targetKind !== 'tiers' && (input.targetTiers ?? []).length > 0) return 'targetTiers only with targetKind tiers';
  if (input.perMemberLimit !== null && input.perMemberLimit !== undefined && input.perMemberLimit < 1) return 'perMemberLimit: at least 1';
  if (input.pointsCap !== null && input.pointsCap !== undefined && input.pointsCap < 0n) return 'pointsCap is not negative';
  if (input.moneyCapMinor !== null && input.moneyCapMinor !== undefined && input.moneyCapMinor < 0n) return 'moneyCapMinor is not negative';
  const holdout = parseDecimal(input.holdoutShare ?? '0');
  if (!holdout || holdout.greaterThan(MAX_HOLDOUT_SHARE)) {
    return `holdoutShare: a decimal from 0 to ${MAX_HOLDOUT_SHARE} (the share of members left out to compare with), e.g. "0.1"`;
  }
  return { startsAt: starts.toJSDate(), endsAt: ends.toJSDate(), holdoutShare: decimalText(holdout) };
}

/** Inside an activity's transaction: the partner's rules in force at `at`, as evaluate takes them. */
export async function rulesInForce(tx: EntityManager, partnerId: string, at: Date): Promise<EarnRuleVersion[]> {
  const rows: RuleTableRow[] = await tx.query(RULES_IN_FORCE, [partnerId, at]);
  return rows.map(toRule).map(({ id: _id, partnerId: _p, validFrom: _v, active: _a, createdAt: _c, ...version }) => version);
}

/** The partner's declared categories (empty: any category goes). */
export async function declaredCategories(tx: Pick<EntityManager, 'query'>, partnerId: string): Promise<Set<string>> {
  const rows: Array<{ codes: string[] }> = await tx.query(
    'SELECT codes FROM earn_category_set WHERE partner_id = $1 ORDER BY id DESC LIMIT 1',
    [partnerId],
  );
  return new Set(rows[0]?.codes ?? []);
}

/**
 * The campaigns in scope of an activity at `partnerId` (its trigger, window open at `at`), with
 * what the member has had of each, each funder's issue price now, and whether the campaign holds the
 * member out (src/engine/holdout.ts). The rows of those with a budget
 * are locked (in id order) so that budgets are consumed one activity after the other; the others are
 * not locked at all. The caller holds the member's wallet already (the global lock order: wallets,
 * then budgets, then funding rows).
 */
export async function campaignsInScope(
  tx: EntityManager,
  partnerId: string,
  trigger: string,
  at: Date,
  memberId: string,
  now: Date,
): Promise<CampaignState[]> {
  // Campaigns with a budget in scope are locked first, in id order, in a statement of their own: under READ COMMITTED
  // the next statement then reads every consumption committed before the lock was granted.
  await tx.query(
    `SELECT c.id FROM campaign c JOIN campaign_partner p ON p.campaign_id = c.id AND p.partner_id = $1
     WHERE c.trigger = $2 AND c.starts_at <= $3 AND c.ends_at > $3 AND (c.points_cap IS NOT NULL OR c.money_cap_minor IS NOT NULL)
     ORDER BY c.id FOR UPDATE OF c`,
    [partnerId, trigger, at],
  );
  const rows: Array<CampaignTableRow & { member_awards: number | null; prices: Record<string, string> }> = await tx.query(
    `SELECT ${CAMPAIGN_COLUMNS},
       (SELECT awards FROM campaign_member m WHERE m.campaign_id = c.id AND m.member_id = $2::uuid) AS member_awards,
       (SELECT json_object_agg(p.partner_id, (SELECT k.issue_price::text FROM partner_contract k WHERE k.partner_id = p.partner_id AND k.valid_from <= $3
                                               ORDER BY k.valid_from DESC LIMIT 1))
        FROM campaign_partner p WHERE p.campaign_id = c.id) AS prices
     FROM campaign c JOIN campaign_partner scope ON scope.campaign_id = c.id AND scope.partner_id = $1
     WHERE c.trigger = $4 AND c.starts_at <= $5 AND c.ends_at > $5 ORDER BY c.id`,
    [partnerId, memberId, now, trigger, at],
  );
  return rows.map((row) => {
    const campaign = toCampaign(row);
    const target: CampaignTarget =
      campaign.targetKind === 'tiers'
        ? { kind: 'tiers', tiers: campaign.targetTiers }
        : campaign.targetKind === 'new_at_partner'
          ? { kind: 'new_at_partner' }
          : { kind: 'all' };
    return {
      campaignId: campaign.id,
      version: campaign.version,
      name: campaign.name,
      kind: campaign.kind,
      multiplier: campaign.multiplier,
      bonusPoints: campaign.bonusPoints,
      trigger: campaign.trigger as CampaignState['trigger'],
      startsAt: campaign.startsAt,
      endsAt: campaign.endsAt,
      funders: campaign.funders.map((funder) => ({ ...funder, issuePrice: decimalText(row.prices[funder.partnerId] ?? '0') })),
      target,
      stacking: campaign.stacking,
      priority: campaign.priority,
      perMemberLimit: campaign.perMemberLimit,
      memberAwards: row.member_awards ?? 0,
      pointsCap: campaign.pointsCap,
      pointsUsed: campaign.pointsUsed,
      moneyCapMinor: campaign.moneyCapMinor,
      moneyUsedMinor: campaign.moneyUsedMinor,
      strict: campaign.strict,
      heldOut: isHeldOut(campaign.id, memberId, campaign.holdoutShare),
    };
  });
}
