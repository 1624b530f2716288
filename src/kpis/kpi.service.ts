import Decimal from 'decimal.js';
import type { DataSource } from 'typeorm';
import { Exact } from '../common/decimal';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { settingsAt, type KpiSettings } from './kpi-settings';
import { BURN_TYPES, EARN_TYPES, utcDay } from './rollups';

/** The lifecycle stages, first to last (docs/kpis.md, "Lifecycle"). */
export const LIFECYCLE_STAGES = ['FIRST_VISIT', 'ONE_TIME', 'RETURNING', 'REPEAT', 'LOYAL'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** The longest period one query may cover, in months. */
export const KPI_MAX_MONTHS = 24;

/** The memory each of the KPI statement's sorts and hash tables may take (docs/kpis.md, "Cost"). */
export const KPI_WORK_MEM = '64MB';

/** Decimal places of every ratio's `value` (rounded half to even; numerator and denominator are exact). */
export const RATIO_PLACES = 6;

export interface KpiQuery {
  /** null: the whole coalition. */
  partnerId: string | null;
  /** First and last month of the period, YYYY-MM, both included. */
  from: string;
  to: string;
  asOf: Date;
  segment?: { lifecycleStage?: LifecycleStage | null; enrolmentChannel?: string | null } | null;
}

/** An exact ratio: its integer (or minor-unit) parts and their quotient to RATIO_PLACES places (null when the denominator is 0). */
export interface Ratio {
  numerator: string;
  denominator: string;
  value: string | null;
}

export interface CohortMonth {
  offset: number;
  month: string;
  active: number;
  retention: Ratio;
}

export interface RetentionCohort {
  month: string;
  size: number;
  months: CohortMonth[];
}

export interface Clv {
  /** Minor units, rounded half to even; null when there is no active member or no retention to model. */
  value: string | null;
  monthlyMarginPerMember: Ratio;
  monthlyRetention: Ratio;
  margin: string;
  monthlyDiscountRate: string;
}

export interface Kpis {
  partnerId: string | null;
  from: string;
  to: string;
  months: number;
  previousFrom: string;
  asOf: Date;
  /** Days before this one came from the rollup; the rest from the recorded rows, up to asOf. */
  rollupCompleteBefore: string | null;
  activeMembers: number;
  purchases: string;
  spend: string;
  previousSpend: string;
  enrolments: number;
  enrolmentsByChannel: Array<{ channel: string; members: number }>;
  retentionCohorts: RetentionCohort[];
  monthlyRetention: Ratio;
  churn: Ratio;
  repeatPurchaseRate: Ratio;
  purchaseFrequency: Ratio;
  averageTransactionValue: Ratio;
  spendGrowth: Ratio;
  clv: Clv;
  lifecycleFunnel: Array<{ stage: LifecycleStage; members: number }>;
  crossPartnerReach: Ratio;
  referralConversion: Ratio;
  rewardUptake: Array<{ kind: string; redemptions: number; members: number; uptake: Ratio }>;
  settings: KpiSettings;
}

const MONTH = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

/** Months since year 0 of a YYYY-MM, or null. */
export function monthIndex(text: string): number | null {
  const match = MONTH.exec(text);
  return match ? Number(match[1]) * 12 + Number(match[2]) - 1 : null;
}

export const monthText = (index: number): string =>
  `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
export const monthStart = (index: number): string => `${monthText(index)}-01`;

export function ratio(numerator: bigint | number | string, denominator: bigint | number | string): Ratio {
  const n = new Exact(numerator.toString());
  const d = new Exact(denominator.toString());
  return {
    numerator: n.toFixed(),
    denominator: d.toFixed(),
    value: d.isZero() ? null : n.dividedBy(d).toFixed(RATIO_PLACES, Decimal.ROUND_HALF_EVEN),
  };
}

interface Figures {
  active: number;
  purchases: string;
  spend: string;
  buyers: number;
  repeaters: number;
  prevSpend: string;
  retainedBase: number;
  retained: number;
  reach: number;
  referrals: number;
  converted: number;
  enrolments: Array<{ channel: string; members: number }> | null;
  cohorts: Array<{ cohort: string; size: number }> | null;
  cohortActive: Array<{ cohort: string; month: string; active: number }> | null;
  funnel: Array<{ stage: LifecycleStage; members: number }> | null;
  rewards: Array<{ kind: string; redemptions: number; members: number }> | null;
}

/**
 * The KPIs of one scope and period as of a date (docs/kpis.md). Reads the rollups for the days they
 * hold and the recorded rows for the rest, up to asOf, in one statement of one read-only
 * transaction: the same query as of the same date answers the same numbers.
 */
export interface KpiObserver {
  kpiQuery(scope: 'partner' | 'coalition', outcome: string, seconds: number): void;
}

export class KpiService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly observer?: KpiObserver,
  ) {}

  async kpis(query: KpiQuery, now: Date): Promise<Kpis | OpError<'kpis'>> {
    const started = process.hrtime.bigint();
    const outcome = await this.compute(query, now);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.observer?.kpiQuery(query.partnerId === null ? 'coalition' : 'partner', 'code' in outcome ? outcome.code : 'ok', seconds);
    return outcome;
  }

  private async compute(query: KpiQuery, now: Date): Promise<Kpis | OpError<'kpis'>> {
    const checked = checkPeriod(query, now);
    if (isDomainError(checked)) return checked;
    const { first, last, asOfMonth } = checked;
    const channel = query.segment?.enrolmentChannel ?? null;
    if (channel !== null && !/^[A-Za-z0-9_.-]{1,64}$/.test(channel))
      return fail(ErrorCode.INVALID_INPUT, 'enrolmentChannel is 1 to 64 of A-Z a-z 0-9 _ . -');

    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      // The figures join sets of members built in the statement (CTEs), whose sizes the planner cannot
      // estimate: it would pick nested loops over them, quadratic in the members. Hash joins it is.
      await tx.query('SET LOCAL enable_nestloop = off');
      // The hub's connections keep one generic plan per statement; this one depends on its dates and scope too much for that.
      await tx.query('SET LOCAL plan_cache_mode = force_custom_plan');
      // Its hash tables hold a row per member-month of the scope: in memory rather than spilled to disk.
      await tx.query(`SET LOCAL work_mem = '${KPI_WORK_MEM}'`);
      if (query.partnerId !== null) {
        const [known]: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [query.partnerId]);
        if (!known) return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${query.partnerId}`);
      }
      const settings = await settingsAt(tx, query.partnerId, query.asOf);
      const end = Math.min(last, asOfMonth) + 1; // first month after the (effective) period
      const months = end - first;
      const windowStart = end - settings.lifecycleWindowMonths;
      const loyalStart = end - settings.loyalMonths;
      const previousStart = first - months;
      const rangeStart = Math.min(previousStart, windowStart, first - 1);
      const [state]: Array<{ complete_before: string; enrolments_through: Date }> = await tx.query(
        "SELECT to_char(complete_before, 'YYYY-MM-DD') AS complete_before, enrolments_through FROM kpi_refresh_state",
      );
      const asOfDay = utcDay(query.asOf);
      const cut = state ? (state.complete_before < asOfDay ? state.complete_before : asOfDay) : '0001-01-01';
      const rows: Array<{ figures: Figures }> = await tx.query(FIGURES_SQL, [
        query.partnerId,
        query.asOf,
        cut,
        monthStart(rangeStart),
        monthStart(first),
        monthStart(end),
        monthStart(previousStart),
        monthStart(windowStart),
        monthStart(loyalStart),
        settings.loyalMinPurchases,
        settings.loyalMonths,
        state ? state.enrolments_through : new Date(0),
        query.segment?.lifecycleStage ?? null,
        channel,
        EARN_TYPES,
        BURN_TYPES,
      ]);
      return shape(query, settings, rows[0]!.figures, { first, end, months, previousStart, cut: state ? cut : null });
    });
  }
}

/** The period and asOf, checked: months since year 0 of the first and last month, and of asOf's month. */
export function checkPeriod(query: KpiQuery, now: Date): { first: number; last: number; asOfMonth: number } | OpError<'kpis'> {
  const first = monthIndex(query.from);
  const last = monthIndex(query.to);
  if (first === null || last === null) return fail(ErrorCode.INVALID_INPUT, 'period months are YYYY-MM');
  if (last < first) return fail(ErrorCode.INVALID_INPUT, 'the period ends before it starts');
  if (last - first + 1 > KPI_MAX_MONTHS) return fail(ErrorCode.INVALID_INPUT, `the period is too long: at most ${KPI_MAX_MONTHS} months`);
  if (Number.isNaN(query.asOf.getTime()) || query.asOf.getTime() > now.getTime()) {
    return fail(ErrorCode.INVALID_INPUT, 'asOf is not in the future (figures as of a later time could still change)');
  }
  const asOfMonth = monthIndex(utcDay(query.asOf).slice(0, 7))!;
  if (first > asOfMonth) return fail(ErrorCode.INVALID_INPUT, 'the period starts after asOf');
  return { first, last, asOfMonth };
}

function shape(
  query: KpiQuery,
  settings: KpiSettings,
  f: Figures,
  p: { first: number; end: number; months: number; previousStart: number; cut: string | null },
): Kpis {
  const activeByCohort = new Map((f.cohortActive ?? []).map((row) => [`${row.cohort}/${row.month}`, row.active]));
  const sizes = new Map((f.cohorts ?? []).map((row) => [row.cohort, row.size]));
  const retentionCohorts: RetentionCohort[] = [];
  for (let cohort = p.first; cohort < p.end; cohort++) {
    const size = sizes.get(monthStart(cohort)) ?? 0;
    const months: CohortMonth[] = [];
    for (let month = cohort; month < p.end; month++) {
      const active = activeByCohort.get(`${monthStart(cohort)}/${monthStart(month)}`) ?? 0;
      months.push({ offset: month - cohort, month: monthText(month), active, retention: ratio(active, size) });
    }
    retentionCohorts.push({ month: monthText(cohort), size, months });
  }
  const funnel = new Map((f.funnel ?? []).map((row) => [row.stage, row.members]));
  const monthlyRetention = ratio(f.retained, f.retainedBase);
  const spend = BigInt(f.spend);
  const previousSpend = BigInt(f.prevSpend);
  return {
    partnerId: query.partnerId,
    from: monthText(p.first),
    to: monthText(p.end - 1),
    months: p.months,
    previousFrom: monthText(p.previousStart),
    asOf: query.asOf,
    rollupCompleteBefore: p.cut,
    activeMembers: f.active,
    purchases: f.purchases,
    spend: f.spend,
    previousSpend: f.prevSpend,
    enrolments: (f.enrolments ?? []).reduce((sum, row) => sum + row.members, 0),
    enrolmentsByChannel: f.enrolments ?? [],
    retentionCohorts,
    monthlyRetention,
    churn: ratio(f.retainedBase - f.retained, f.retainedBase),
    repeatPurchaseRate: ratio(f.repeaters, f.buyers),
    purchaseFrequency: ratio(f.purchases, f.active),
    averageTransactionValue: ratio(f.spend, f.purchases),
    spendGrowth: ratio(spend - previousSpend, previousSpend),
    clv: clv(spend, f.active, p.months, f.retained, f.retainedBase, settings),
    lifecycleFunnel: LIFECYCLE_STAGES.map((stage) => ({ stage, members: funnel.get(stage) ?? 0 })),
    crossPartnerReach: ratio(f.reach, f.active),
    referralConversion: ratio(f.converted, f.referrals),
    rewardUptake: (f.rewards ?? []).map((row) => ({ ...row, uptake: ratio(row.members, f.active) })),
    settings,
  };
}

/**
 * CLV = m × r / (1 + d − r): m the monthly margin per active member (spend × margin / active
 * members / months), r the monthly retention, d the monthly discount rate (docs/kpis.md, "CLV").
 */
export function clv(spend: bigint, active: number, months: number, retained: number, base: number, settings: KpiSettings): Clv {
  const marginPerMember = ratio(new Exact(spend.toString()).times(settings.margin).toFixed(), active * months);
  const retention = ratio(retained, base);
  let value: string | null = null;
  if (active > 0 && base > 0) {
    const m = new Exact(spend.toString()).times(settings.margin).dividedBy(active * months);
    const r = new Exact(retained).dividedBy(base);
    const denominator = new Exact(1).plus(settings.monthlyDiscountRate).minus(r);
    if (denominator.gt(0)) value = m.times(r).dividedBy(denominator).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed(0);
  }
  return {
    value,
    monthlyMarginPerMember: marginPerMember,
    monthlyRetention: retention,
    margin: settings.margin,
    monthlyDiscountRate: settings.monthlyDiscountRate,
  };
}

/**
 * $1 partner (null: coalition), $2 asOf, $3 cut (rollup days before it; recorded rows from it to asOf),
 * $4 first month read, $5 period start, $6 first month after the period, $7 previous period start,
 * $8 lifecycle window start, $9 start of the last Q months, $10 L, $11 Q, $12 enrolments in the facts up to,
 * $13 segment stage, $14 segment channel, $15 earn entry types, $16 burn entry types.
 */
export const FIGURES_SQL = `
WITH
ap AS (
  -- Partners that send purchase activities: one index probe each (a subplan, not a join over the activity table).
  SELECT p.id AS partner_id FROM partner p
   WHERE (SELECT true FROM activity a WHERE a.partner_id = p.id AND a.kind = 'purchase' AND a.recorded_at <= $2 LIMIT 1)
),
days AS (
  -- The scope's rows (every partner's for the coalition) from the first month read: the rollup's final days, then the recorded rows.
  SELECT partner_id, member_id, day, purchases, spend_minor, earns + burns AS moves
    FROM kpi_member_day
   WHERE ($1::text IS NULL OR partner_id = $1) AND day >= $4::date AND day < $3::date AND day < $6::date
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 1, total_minor, 0
    FROM activity
   WHERE kind = 'purchase' AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 0, 0, 1
    FROM journal_entry
   WHERE member_id IS NOT NULL AND (type = ANY($15) OR type = ANY($16)) AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'
),
active_days AS (
  -- Each row, and whether it makes its member active: a purchase, or an earn or burn at a partner that sends no activities.
  SELECT d.partner_id, d.member_id, d.day, d.purchases, d.spend_minor, (d.purchases > 0 OR (d.moves > 0 AND ap.partner_id IS NULL)) AS active
    FROM days d LEFT JOIN ap ON ap.partner_id = d.partner_id
),
others AS (
  -- A partner's figures only: the other partners' rows in the period, for cross-partner reach.
  SELECT partner_id, member_id, purchases, earns + burns AS moves
    FROM kpi_member_day
   WHERE $1::text IS NOT NULL AND partner_id <> $1 AND day >= $5::date AND day < $3::date AND day < $6::date
  UNION ALL
  SELECT partner_id, member_id, 1, 0
    FROM activity
   WHERE $1::text IS NOT NULL AND kind = 'purchase' AND partner_id <> $1
     AND recorded_at >= greatest($3::date, $5::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'
  UNION ALL
  SELECT partner_id, member_id, 0, 1
    FROM journal_entry
   WHERE $1::text IS NOT NULL AND member_id IS NOT NULL AND (type = ANY($15) OR type = ANY($16)) AND partner_id <> $1
     AND recorded_at >= greatest($3::date, $5::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'
),
links AS (
  SELECT partner_id, member_id, enrolled_at,
         CASE WHEN first_purchase_at <= $2 THEN first_purchase_at END AS fp,
         CASE WHEN first_purchase_at <= $2 THEN first_channel END AS fc
    FROM kpi_member_fact WHERE enrolled_at <= $2 AND ($1::text IS NULL OR partner_id = $1)
  UNION ALL
  SELECT l.partner_id, l.member_id, l.created_at, NULL, NULL
    FROM member_link l
   WHERE l.created_at > $12 AND l.created_at <= $2 AND ($1::text IS NULL OR l.partner_id = $1)
     AND NOT EXISTS (SELECT 1 FROM kpi_member_fact f WHERE f.partner_id = l.partner_id AND f.member_id = l.member_id)
),
members AS (
  SELECT member_id, min(enrolled_at) AS enrolled_at, (array_agg(fc ORDER BY fp) FILTER (WHERE fp IS NOT NULL))[1] AS channel
    FROM links GROUP BY member_id
),
members_channel AS (
  SELECT m.member_id, m.enrolled_at,
         coalesce(m.channel, CASE WHEN m.enrolled_at >= $5::date::timestamp AT TIME ZONE 'UTC' OR $14::text IS NOT NULL THEN (
           SELECT coalesce(a.detail->>'channel', 'unknown') FROM activity a
            WHERE a.member_id = m.member_id AND a.kind = 'purchase' AND ($1::text IS NULL OR a.partner_id = $1)
              AND a.recorded_at >= $3::date::timestamp AT TIME ZONE 'UTC' AND a.recorded_at <= $2
            ORDER BY a.recorded_at, a.id LIMIT 1) END, 'none') AS channel
    FROM members m
),
scoped AS (
  -- Per member and month, at the scope (the coalition: summed over partners).
  SELECT member_id, date_trunc('month', day)::date AS month, sum(purchases)::bigint AS purchases, sum(spend_minor) AS spend, bool_or(active) AS active
    FROM active_days GROUP BY 1, 2
),
life AS (
  SELECT m.member_id, m.enrolled_at, m.channel,
         CASE WHEN coalesce(w.purchases, 0) >= $10 AND coalesce(w.qmonths, 0) >= $11 THEN 'LOYAL'
              WHEN coalesce(w.purchases, 0) >= 3 THEN 'REPEAT'
              WHEN coalesce(w.purchases, 0) = 2 THEN 'RETURNING'
              WHEN coalesce(w.purchases, 0) = 1 THEN 'ONE_TIME'
              ELSE 'FIRST_VISIT' END AS stage
    FROM members_channel m
    LEFT JOIN (
      SELECT member_id,
             sum(purchases) FILTER (WHERE month >= $8::date AND month < $6::date) AS purchases,
             count(*) FILTER (WHERE month >= $9::date AND month < $6::date AND active) AS qmonths
        FROM scoped GROUP BY member_id
    ) w USING (member_id)
),
sm AS (
  SELECT * FROM life WHERE ($13::text IS NULL OR stage = $13) AND ($14::text IS NULL OR channel = $14)
),
s AS (
  -- Without a segment every member with rows is in sm (enrolled before any activity): no join needed.
  SELECT sc.* FROM scoped sc WHERE ($13::text IS NULL AND $14::text IS NULL) OR sc.member_id IN (SELECT member_id FROM sm)
),
pm AS (
  SELECT member_id, sum(purchases) AS p, sum(spend) AS sp, bool_or(active) AS a
    FROM s WHERE month >= $5::date AND month < $6::date GROUP BY member_id
),
act AS (
  SELECT member_id, month FROM s WHERE active
),
elsewhere AS MATERIALIZED (
  -- Coalition: members active at 2 partners or more in the period; a partner: its members active at another partner.
  SELECT member_id FROM active_days
   WHERE $1::text IS NULL AND day >= $5::date AND day < $6::date AND active
   GROUP BY member_id HAVING count(DISTINCT partner_id) >= 2
  UNION
  SELECT o.member_id FROM others o LEFT JOIN ap ON ap.partner_id = o.partner_id
   WHERE o.purchases > 0 OR (o.moves > 0 AND ap.partner_id IS NULL)
)
SELECT json_build_object(
  'active', (SELECT count(*) FROM pm WHERE a),
  'purchases', (SELECT coalesce(sum(p), 0) FROM pm)::text,
  'spend', (SELECT coalesce(sum(sp), 0) FROM pm)::text,
  'buyers', (SELECT count(*) FROM pm WHERE p >= 1),
  'repeaters', (SELECT count(*) FROM pm WHERE p >= 2),
  'prevSpend', (SELECT coalesce(sum(spend), 0) FROM s WHERE month >= $7::date AND month < $5::date)::text,
  'retainedBase', (SELECT count(*) FROM act WHERE month >= ($5::date - interval '1 month') AND month < ($6::date - interval '1 month')),
  'retained', (SELECT count(*) FROM act x JOIN act y ON y.member_id = x.member_id AND y.month = (x.month + interval '1 month')::date
                WHERE x.month >= ($5::date - interval '1 month') AND x.month < ($6::date - interval '1 month')),
  'reach', (SELECT count(*) FROM pm JOIN elsewhere e USING (member_id) WHERE pm.a),
  'referrals', (SELECT count(*) FROM referral r JOIN sm ON sm.member_id = r.referee_id
                 WHERE r.created_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND r.created_at < $6::date::timestamp AT TIME ZONE 'UTC'
                   AND r.created_at <= $2 AND ($1::text IS NULL OR r.enrolled_at_partner_id = $1)),
  'converted', (SELECT count(*) FROM referral r JOIN sm ON sm.member_id = r.referee_id
                 WHERE r.created_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND r.created_at < $6::date::timestamp AT TIME ZONE 'UTC'
                   AND r.created_at <= $2 AND ($1::text IS NULL OR r.enrolled_at_partner_id = $1) AND r.qualified_at <= $2),
  'enrolments', (SELECT json_agg(json_build_object('channel', channel, 'members', n) ORDER BY channel) FROM (
                   SELECT channel, count(*)::int AS n FROM sm
                    WHERE enrolled_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND enrolled_at < $6::date::timestamp AT TIME ZONE 'UTC'
                    GROUP BY channel) e),
  'cohorts', (SELECT json_agg(json_build_object('cohort', cohort, 'size', n)) FROM (
                SELECT date_trunc('month', enrolled_at AT TIME ZONE 'UTC')::date AS cohort, count(*)::int AS n FROM sm
                 WHERE enrolled_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND enrolled_at < $6::date::timestamp AT TIME ZONE 'UTC'
                 GROUP BY 1) c),
  'cohortActive', (SELECT json_agg(json_build_object('cohort', cohort, 'month', month, 'active', n)) FROM (
                     SELECT date_trunc('month', sm.enrolled_at AT TIME ZONE 'UTC')::date AS cohort, act.month, count(*)::int AS n
                       FROM sm JOIN act USING (member_id)
                      WHERE sm.enrolled_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND sm.enrolled_at < $6::date::timestamp AT TIME ZONE 'UTC'
                        AND act.month >= date_trunc('month', sm.enrolled_at AT TIME ZONE 'UTC')::date AND act.month < $6::date
                      GROUP BY 1, 2) z),
  'funnel', (SELECT json_agg(json_build_object('stage', stage, 'members', n)) FROM (SELECT stage, count(*)::int AS n FROM sm GROUP BY stage) f),
  'rewards', (SELECT json_agg(json_build_object('kind', kind, 'redemptions', n, 'members', m) ORDER BY kind) FROM (
                SELECT r.kind, count(*)::int AS n, count(DISTINCT e.member_id)::int AS m
                  FROM entitlement e JOIN reward r ON r.id = e.reward_id JOIN sm ON sm.member_id = e.member_id
                 WHERE e.created_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND e.created_at < $6::date::timestamp AT TIME ZONE 'UTC'
                   AND e.created_at <= $2 AND ($1::text IS NULL OR e.partner_id = $1)
                 GROUP BY r.kind) x)
) AS figures`;
