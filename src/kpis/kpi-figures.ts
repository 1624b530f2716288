import type { EntityManager } from 'typeorm';
import { earnedInJournal } from '../members/tiers';
import { BURN_TYPES, EARN_TYPES, monthStart, utcDay, type LifecycleStage } from './kpi-common';

/** The memory each of the KPI statement's sorts and hash tables may take (docs/kpis.md, "Cost"). */
export const KPI_WORK_MEM = '64MB';

export type Querier = Pick<EntityManager, 'query'>;

/**
 * The raw counters of one scope, period and segment as of a time. Each is a sum over members (the
 * keyed lists: per key), so figures of disjoint sets of members add up (docs/kpis.md, "Bases").
 */
export interface Figures {
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
 * What the figures depend on besides asOf: the scope, the effective period (months since year 0 of
 * its first month and of the month after its last counted one), the segment and the lifecycle
 * thresholds in force. Two queries with the same spec count the same way; a base is kept per spec.
 */
export interface FigureSpec {
  partnerId: string | null;
  first: number;
  end: number;
  stage: LifecycleStage | null;
  channel: string | null;
  windowMonths: number;
  loyalMinPurchases: number;
  loyalMonths: number;
  /** The tier segment: the tier asked for, with the hub's tier rules (names and thresholds, lowest first) and window. */
  tier: { name: string; names: string[]; thresholds: string[]; windowDays: number } | null;
}

/** The statement's session settings: each figures statement sets what suits it (see computeFigures). */
export async function prepareFigures(tx: Querier): Promise<void> {
  // The hub's connections keep one generic plan per statement; this one depends on its dates and scope too much for that.
  await tx.query('SET LOCAL plan_cache_mode = force_custom_plan');
  // Its hash tables hold a row per member-month of the scope: in memory rather than spilled to disk.
  await tx.query(`SET LOCAL work_mem = '${KPI_WORK_MEM}'`);
}

/** The rollup's watermark (null before the first refresh) and how far it copied enrolments. */
export interface RollupState {
  completeBefore: string | null;
  enrolmentsThrough: Date;
}

export async function rollupState(tx: Querier): Promise<RollupState> {
  const [state]: Array<{ complete_before: string; enrolments_through: Date }> = await tx.query(
    "SELECT to_char(complete_before, 'YYYY-MM-DD') AS complete_before, enrolments_through FROM kpi_refresh_state",
  );
  return state
    ? { completeBefore: state.complete_before, enrolmentsThrough: state.enrolments_through }
    : { completeBefore: null, enrolmentsThrough: new Date(0) };
}

/** The day before which a query as of `asOf` reads the rollup: min(watermark, day of asOf). */
export function rollupCut(state: RollupState, asOf: Date): string {
  const asOfDay = utcDay(asOf);
  if (state.completeBefore === null) return '0001-01-01';
  return state.completeBefore < asOfDay ? state.completeBefore : asOfDay;
}

/**
 * The figures of `spec` as of `asOf`: of every member (members null), or only of the members listed
 * (what they contribute to the whole). Runs in the caller's transaction (REPEATABLE READ, prepared).
 */
export async function computeFigures(
  tx: Querier,
  spec: FigureSpec,
  asOf: Date,
  state: RollupState,
  members: string[] | null,
): Promise<Figures> {
  const months = spec.end - spec.first;
  const windowStart = spec.end - spec.windowMonths;
  const loyalStart = spec.end - spec.loyalMonths;
  const previousStart = spec.first - months;
  const rangeStart = Math.min(previousStart, windowStart, spec.first - 1);
  // The whole scope: the statement joins sets of members built in it (CTEs), whose sizes the planner cannot
  // estimate; it would pick nested loops over them, quadratic in the members. Hash joins it is. A few
  // members: their rows are found through indexes, which nested loops use and hash joins would not.
  await tx.query(`SET LOCAL enable_nestloop = ${members === null ? 'off' : 'on'}`);
  // For a few members, lookups by member in the (mostly cached) indexes rather than a scan of a whole table.
  await tx.query(`SET LOCAL random_page_cost = ${members === null ? 'DEFAULT' : '1.1'}`);
  const params: unknown[] = [
    spec.partnerId,
    asOf,
    rollupCut(state, asOf),
    monthStart(rangeStart),
    monthStart(spec.first),
    monthStart(spec.end),
    monthStart(previousStart),
    monthStart(windowStart),
    monthStart(loyalStart),
    spec.loyalMinPurchases,
    spec.loyalMonths,
    state.enrolmentsThrough,
    spec.stage,
    spec.channel,
    EARN_TYPES,
    BURN_TYPES,
  ];
  // The tier segment: each member's tier at the end of the (effective) period, or at asOf if that is earlier.
  const tierAt = new Date(Math.min(asOf.getTime(), Date.parse(`${monthStart(spec.end)}T00:00:00Z`)));
  params.push(
    spec.tier?.name ?? null,
    spec.tier?.names ?? [],
    spec.tier?.thresholds ?? [],
    new Date(tierAt.getTime() - (spec.tier?.windowDays ?? 0) * 86_400_000),
    tierAt,
  );
  const rows: Array<{ figures: Figures }> =
    members === null ? await tx.query(FIGURES_SQL, params) : await tx.query(MEMBERS_FIGURES_SQL, [...params, members]);
  return rows[0]!.figures;
}

/**
 * base − minus + plus, counter by counter and key by key (keys whose count comes to 0 left out, as
 * the statement leaves out groups with no row; lists in the statement's order, by the database's collation).
 */
export async function mergeFigures(tx: Querier, base: Figures, minus: Figures, plus: Figures): Promise<Figures> {
  const [row]: Array<{ figures: Figures }> = await tx.query(MERGE_SQL, [JSON.stringify(base), JSON.stringify(minus), JSON.stringify(plus)]);
  return row!.figures;
}

const MERGE_SQL = `
WITH v(f, s) AS (VALUES ($1::jsonb, 1), ($2::jsonb, -1), ($3::jsonb, 1)),
l AS (
  SELECT v.s, k.key, CASE WHEN jsonb_typeof(v.f -> k.key) = 'array' THEN v.f -> k.key ELSE '[]'::jsonb END AS list
    FROM v CROSS JOIN (VALUES ('enrolments'), ('cohorts'), ('cohortActive'), ('funnel'), ('rewards')) k(key)
),
e AS (
  SELECT l.key, l.s, x FROM l CROSS JOIN LATERAL jsonb_array_elements(l.list) x
)
SELECT json_build_object(
  'active', (SELECT sum(s * (f->>'active')::bigint) FROM v)::bigint,
  'purchases', (SELECT sum(s * (f->>'purchases')::numeric) FROM v)::text,
  'spend', (SELECT sum(s * (f->>'spend')::numeric) FROM v)::text,
  'buyers', (SELECT sum(s * (f->>'buyers')::bigint) FROM v)::bigint,
  'repeaters', (SELECT sum(s * (f->>'repeaters')::bigint) FROM v)::bigint,
  'prevSpend', (SELECT sum(s * (f->>'prevSpend')::numeric) FROM v)::text,
  'retainedBase', (SELECT sum(s * (f->>'retainedBase')::bigint) FROM v)::bigint,
  'retained', (SELECT sum(s * (f->>'retained')::bigint) FROM v)::bigint,
  'reach', (SELECT sum(s * (f->>'reach')::bigint) FROM v)::bigint,
  'referrals', (SELECT sum(s * (f->>'referrals')::bigint) FROM v)::bigint,
  'converted', (SELECT sum(s * (f->>'converted')::bigint) FROM v)::bigint,
  'enrolments', (SELECT json_agg(json_build_object('channel', channel, 'members', n) ORDER BY channel) FROM (
                   SELECT x->>'channel' AS channel, sum(s * (x->>'members')::int)::int AS n FROM e WHERE key = 'enrolments'
                    GROUP BY 1 HAVING sum(s * (x->>'members')::int) <> 0) z),
  'cohorts', (SELECT json_agg(json_build_object('cohort', cohort, 'size', n)) FROM (
                SELECT x->>'cohort' AS cohort, sum(s * (x->>'size')::int)::int AS n FROM e WHERE key = 'cohorts'
                 GROUP BY 1 HAVING sum(s * (x->>'size')::int) <> 0) z),
  'cohortActive', (SELECT json_agg(json_build_object('cohort', cohort, 'month', month, 'active', n)) FROM (
                     SELECT x->>'cohort' AS cohort, x->>'month' AS month, sum(s * (x->>'active')::int)::int AS n FROM e WHERE key = 'cohortActive'
                      GROUP BY 1, 2 HAVING sum(s * (x->>'active')::int) <> 0) z),
  'funnel', (SELECT json_agg(json_build_object('stage', stage, 'members', n)) FROM (
               SELECT x->>'stage' AS stage, sum(s * (x->>'members')::int)::int AS n FROM e WHERE key = 'funnel'
                GROUP BY 1 HAVING sum(s * (x->>'members')::int) <> 0) z),
  'rewards', (SELECT json_agg(json_build_object('kind', kind, 'redemptions', n, 'members', m) ORDER BY kind) FROM (
                SELECT x->>'kind' AS kind, sum(s * (x->>'redemptions')::int)::int AS n, sum(s * (x->>'members')::int)::int AS m
                  FROM e WHERE key = 'rewards' GROUP BY 1 HAVING sum(s * (x->>'redemptions')::int) <> 0) z)
) AS figures`;

/**
 * $1 partner (null: coalition), $2 asOf, $3 cut (rollup days before it; recorded rows from it to asOf),
 * $4 first month read, $5 period start, $6 first month after the period, $7 previous period start,
 * $8 lifecycle window start, $9 start of the last Q months, $10 L, $11 Q, $12 enrolments in the facts up to,
 * $13 segment stage, $14 segment channel, $15 earn entry types, $16 burn entry types, $17 segment tier, $18 tier names and
 * $19 thresholds (lowest first), $20 and $21 the tier window (start excluded, end included); restricted: $22 the members counted.
 *
 * Every counter is a sum over members of what that member's own rows contribute (its rows at other
 * partners too, for reach), except through `ap` (which partners send purchase activities): that is
 * what lets a base be rolled forward member by member (docs/kpis.md, "Bases").
 */
function figuresSql(restricted: boolean): string {
  // A set the planner joins (index lookups per member), not an array it would estimate element by element.
  const only = (column: string): string => (restricted ? ` AND ${column} IN (SELECT member_id FROM only_members)` : '');
  return `
WITH${restricted ? '\nonly_members AS MATERIALIZED (SELECT DISTINCT unnest($22::uuid[]) AS member_id),' : ''}
ap AS (
  -- Partners that send purchase activities: one index probe each (a subplan, not a join over the activity table).
  SELECT p.id AS partner_id FROM partner p
   WHERE (SELECT true FROM activity a WHERE a.partner_id = p.id AND a.kind = 'purchase' AND a.recorded_at <= $2 LIMIT 1)
),
days AS (
  -- The scope's rows (every partner's for the coalition) from the first month read: the rollup's final days, then the recorded rows.
  SELECT partner_id, member_id, day, purchases, spend_minor, earns + burns AS moves
    FROM kpi_member_day
   WHERE ($1::text IS NULL OR partner_id = $1) AND day >= $4::date AND day < $3::date AND day < $6::date${only('member_id')}
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 1, total_minor, 0
    FROM activity
   WHERE kind = 'purchase' AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'${only('member_id')}
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 0, 0, 1
    FROM journal_entry
   WHERE member_id IS NOT NULL AND (type = ANY($15) OR type = ANY($16)) AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'${only('member_id')}
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
   WHERE $1::text IS NOT NULL AND partner_id <> $1 AND day >= $5::date AND day < $3::date AND day < $6::date${only('member_id')}
  UNION ALL
  SELECT partner_id, member_id, 1, 0
    FROM activity
   WHERE $1::text IS NOT NULL AND kind = 'purchase' AND partner_id <> $1
     AND recorded_at >= greatest($3::date, $5::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'${only('member_id')}
  UNION ALL
  SELECT partner_id, member_id, 0, 1
    FROM journal_entry
   WHERE $1::text IS NOT NULL AND member_id IS NOT NULL AND (type = ANY($15) OR type = ANY($16)) AND partner_id <> $1
     AND recorded_at >= greatest($3::date, $5::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $6::date::timestamp AT TIME ZONE 'UTC'${only('member_id')}
),
links AS (
  SELECT partner_id, member_id, enrolled_at,
         CASE WHEN first_purchase_at <= $2 THEN first_purchase_at END AS fp,
         CASE WHEN first_purchase_at <= $2 THEN first_channel END AS fc
    FROM kpi_member_fact WHERE enrolled_at <= $2 AND ($1::text IS NULL OR partner_id = $1)${only('member_id')}
  UNION ALL
  SELECT l.partner_id, l.member_id, l.created_at, NULL, NULL
    FROM member_link l
   WHERE l.created_at > $12 AND l.created_at <= $2 AND ($1::text IS NULL OR l.partner_id = $1)${only('l.member_id')}
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
              ELSE 'FIRST_VISIT' END AS stage,
         -- Only with a tier segment: the member's tier as the hub counts it (src/members/tiers.ts), from the issues (their base
         -- amount) and reversals of issues recorded in the tier window, at every partner; below every threshold, the lowest tier.
         CASE WHEN $17::text IS NOT NULL THEN coalesce((
           SELECT t.name FROM unnest($18::text[], $19::bigint[]) WITH ORDINALITY AS t(name, threshold, n)
            WHERE t.threshold <= ${earnedInJournal('m.member_id', '$20', '$21')}
            ORDER BY t.n DESC LIMIT 1), ($18::text[])[1]) END AS tier
    FROM members_channel m
    LEFT JOIN (
      SELECT member_id,
             sum(purchases) FILTER (WHERE month >= $8::date AND month < $6::date) AS purchases,
             count(*) FILTER (WHERE month >= $9::date AND month < $6::date AND active) AS qmonths
        FROM scoped GROUP BY member_id
    ) w USING (member_id)
),
sm AS (
  SELECT * FROM life WHERE ($13::text IS NULL OR stage = $13) AND ($14::text IS NULL OR channel = $14) AND ($17::text IS NULL OR tier = $17)
),
s AS (
  -- Without a segment every member with rows is in sm (enrolled before any activity): no join needed.
  SELECT sc.* FROM scoped sc WHERE ($13::text IS NULL AND $14::text IS NULL AND $17::text IS NULL) OR sc.member_id IN (SELECT member_id FROM sm)
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
                   AND r.created_at <= $2 AND ($1::text IS NULL OR r.enrolled_at_partner_id = $1)${only('r.referee_id')}),
  'converted', (SELECT count(*) FROM referral r JOIN sm ON sm.member_id = r.referee_id
                 WHERE r.created_at >= $5::date::timestamp AT TIME ZONE 'UTC' AND r.created_at < $6::date::timestamp AT TIME ZONE 'UTC'
                   AND r.created_at <= $2 AND ($1::text IS NULL OR r.enrolled_at_partner_id = $1) AND r.qualified_at <= $2${only('r.referee_id')}),
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
                   AND e.created_at <= $2 AND ($1::text IS NULL OR e.partner_id = $1)${only('e.member_id')}
                 GROUP BY r.kind) x)
) AS figures`;
}

export const FIGURES_SQL = figuresSql(false);
const MEMBERS_FIGURES_SQL = figuresSql(true);
