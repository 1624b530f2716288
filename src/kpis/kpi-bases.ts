import type { QueryRunner } from 'typeorm';
import { BURN_TYPES, EARN_TYPES, KPI_REFRESH_LAG_MS, monthIndex, monthOf, monthStart, type LifecycleStage } from './kpi-common';
import {
  computeFigures,
  mergeFigures,
  prepareFigures,
  rollupState,
  type FigureSpec,
  type Figures,
  type Querier,
  type RollupState,
} from './kpi-figures';
import { settingsAt } from './kpi-settings';

/**
 * KPI figure bases (docs/kpis.md, "Bases"). Every raw counter of the figures is a sum over members
 * of what each member's own rows contribute, so for a base as of T (the figures of the same spec,
 * computed in full as of T):
 *
 *     figures(asOf) = base(T) − contribution_T(changed) + contribution_asOf(changed)
 *
 * where "changed" are the members with anything recorded in (T, asOf] that a figure reads. This
 * holds as long as nothing else changed between T and asOf: the spec (scope, effective period,
 * segment, lifecycle thresholds) is the base's key, and the one figure input that is not per
 * member, which partners send purchase activities, is checked.
 */

/** More members changed since the latest base than this: the figures are computed in full. */
export const KPI_BASE_MAX_CHANGED = 20_000;
/** Combinations asked for within this long get bases from the refresh job. */
export const KPI_WANTED_MS = 7 * 86_400_000;
/** At most this many asked-for combinations get bases (the most recently asked first). */
export const KPI_WANTED_MAX = 100;
/** Only a query as of at most this long ago records its combination as wanted (a base as of now would not serve an older asOf). */
const WANTED_RECENT_MS = 3_600_000;
/** How long the refresh job lets one base's statement run (the hub's connections stop a statement after 30 s). */
export const KPI_BASE_STATEMENT_TIMEOUT = '10min';
/** A combination gets a new base when its latest is this much older than the new one would be ... */
export const KPI_BASE_EVERY_MS = 3_600_000;
/** ... or sooner, when more members than this changed since (a query then recomputes fewer). */
export const KPI_BASE_ROLL_CHANGED = 2_000;

/** `full`: skip the bases; `maxChangedMembers`: instead of KPI_BASE_MAX_CHANGED (the tests use a small one). */
export interface FiguresOptions {
  full?: boolean;
  maxChangedMembers?: number;
}

export type FiguresPath =
  | { kind: 'base'; baseAsOf: Date; changedMembers: number }
  | { kind: 'full'; reason: 'asked' | 'no base' | 'a partner started sending purchases' | 'too many changes' | 'tier segment' };

/** The base's key columns, in the table's order. */
const keyParams = (spec: FigureSpec): unknown[] => [
  spec.partnerId ?? '',
  monthStart(spec.first),
  monthStart(spec.end),
  spec.stage ?? '',
  spec.channel ?? '',
  spec.windowMonths,
  spec.loyalMinPurchases,
  spec.loyalMonths,
];

const KEY_MATCH = `partner_id = $1 AND period_start = $2::date AND period_end = $3::date AND stage = $4 AND channel = $5
  AND window_months = $6 AND loyal_min_purchases = $7 AND loyal_months = $8`;

/** The latest base of `spec` as of asOf or earlier. */
async function latestBase(tx: Querier, spec: FigureSpec, asOf: Date): Promise<{ asOf: Date; figures: Figures } | null> {
  const [row]: Array<{ as_of: Date; figures: Figures }> = await tx.query(
    `SELECT as_of, figures FROM kpi_figures_base WHERE ${KEY_MATCH} AND as_of <= $9 ORDER BY as_of DESC LIMIT 1`,
    [...keyParams(spec), asOf],
  );
  return row ? { asOf: row.as_of, figures: row.figures } : null;
}

/** Whether a partner that had sent no purchase activity by `from` sent its first in (from, to]: "active" changed meaning there. */
async function partnerStarted(tx: Querier, from: Date, to: Date): Promise<boolean> {
  const [row]: Array<{ started: boolean }> = await tx.query(
    `SELECT EXISTS (
       SELECT 1 FROM partner p
        WHERE EXISTS (SELECT 1 FROM activity a WHERE a.partner_id = p.id AND a.kind = 'purchase' AND a.recorded_at > $1 AND a.recorded_at <= $2)
          AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.partner_id = p.id AND a.kind = 'purchase' AND a.recorded_at <= $1)
     ) AS started`,
    [from, to],
  );
  return row!.started;
}

/**
 * The members with anything a figure reads recorded in (from, to]: purchases, earn and burn entries
 * (at any partner: reach reads the others), enrolments, referrals made or qualified, entitlements.
 * At most `limit` of them.
 */
async function changedMembers(tx: Querier, from: Date, to: Date, limit: number): Promise<string[]> {
  const [row]: Array<{ members: string[] | null }> = await tx.query(
    `SELECT array_agg(m::text) AS members FROM (
       SELECT member_id AS m FROM activity
        WHERE kind = 'purchase' AND recorded_at > $1 AND recorded_at <= $2 AND member_id IS NOT NULL
       UNION
       SELECT member_id FROM journal_entry
        WHERE recorded_at > $1 AND recorded_at <= $2 AND member_id IS NOT NULL AND (type = ANY($3) OR type = ANY($4))
       UNION
       SELECT member_id FROM member_link WHERE created_at > $1 AND created_at <= $2
       UNION
       SELECT referee_id FROM referral WHERE created_at > $1 AND created_at <= $2
       UNION
       SELECT referee_id FROM referral WHERE qualified_at > $1 AND qualified_at <= $2
       UNION
       SELECT member_id FROM entitlement WHERE created_at > $1 AND created_at <= $2
       LIMIT $5
     ) c`,
    [from, to, EARN_TYPES, BURN_TYPES, limit],
  );
  return row!.members ?? [];
}

/**
 * The figures of `spec` as of asOf: the latest base rolled forward over the members changed since,
 * or computed in full when there is no base, when a partner started sending purchase activities
 * since the base, when too many members changed, or when asked (`full`). In the caller's
 * REPEATABLE READ transaction (prepareFigures done).
 */
export async function figuresAt(
  tx: Querier,
  spec: FigureSpec,
  asOf: Date,
  state: RollupState,
  options: FiguresOptions = {},
): Promise<{ figures: Figures; path: FiguresPath }> {
  const full = async (reason: Extract<FiguresPath, { kind: 'full' }>['reason']) => ({
    figures: await computeFigures(tx, spec, asOf, state, null),
    path: { kind: 'full', reason } as const,
  });
  if (options.full) return full('asked');
  // A member's tier moves as earned points leave its rolling window, with nothing recorded: a base cannot follow that.
  if (spec.tier !== null) return full('tier segment');
  const base = await latestBase(tx, spec, asOf);
  if (!base) return full('no base');
  if (base.asOf.getTime() < asOf.getTime() && (await partnerStarted(tx, base.asOf, asOf)))
    return full('a partner started sending purchases');
  const most = options.maxChangedMembers ?? KPI_BASE_MAX_CHANGED;
  const changed = base.asOf.getTime() < asOf.getTime() ? await changedMembers(tx, base.asOf, asOf, most + 1) : [];
  if (changed.length > most) return full('too many changes');
  const path: FiguresPath = { kind: 'base', baseAsOf: base.asOf, changedMembers: changed.length };
  if (changed.length === 0) return { figures: base.figures, path };
  const minus = await computeFigures(tx, spec, base.asOf, state, changed);
  const plus = await computeFigures(tx, spec, asOf, state, changed);
  return { figures: await mergeFigures(tx, base.figures, minus, plus), path };
}

/** A query's combination, as asked (its months, not the effective ones), for the refresh job to prepare bases for. */
export interface WantedFigures {
  partnerId: string | null;
  from: string;
  to: string;
  segment?: { lifecycleStage?: LifecycleStage | null; enrolmentChannel?: string | null } | null;
  asOf: Date;
}

/** Records that `query` (as of about now) was answered without a base, so that the refresh job prepares bases for it. */
export async function recordWanted(db: Querier, query: WantedFigures, now: Date): Promise<void> {
  if (now.getTime() - query.asOf.getTime() > WANTED_RECENT_MS) return;
  await db.query(
    `INSERT INTO kpi_figures_wanted (partner_id, period_from, period_to, stage, channel, asked_at)
     VALUES ($1, $2::date, $3::date, $4, $5, $6)
     ON CONFLICT (partner_id, period_from, period_to, stage, channel) DO UPDATE SET asked_at = greatest(kpi_figures_wanted.asked_at, EXCLUDED.asked_at)`,
    [
      query.partnerId ?? '',
      `${query.from}-01`,
      `${query.to}-01`,
      query.segment?.lifecycleStage ?? '',
      query.segment?.enrolmentChannel ?? '',
      now,
    ],
  );
}

interface Ask {
  partnerId: string | null;
  first: number;
  last: number;
  stage: LifecycleStage | null;
  channel: string | null;
}

/**
 * Whether `spec` needs a new base as of asOf: it has none, its latest is an hour old, a partner
 * started sending purchase activities since (no query can roll that base forward), or more than
 * KPI_BASE_ROLL_CHANGED members changed since.
 */
async function baseDue(tx: Querier, spec: FigureSpec, asOf: Date): Promise<boolean> {
  const latest = await latestBase(tx, spec, asOf);
  if (latest === null || asOf.getTime() - latest.asOf.getTime() >= KPI_BASE_EVERY_MS) return true;
  if (await partnerStarted(tx, latest.asOf, asOf)) return true;
  return (await changedMembers(tx, latest.asOf, asOf, KPI_BASE_ROLL_CHANGED + 1)).length > KPI_BASE_ROLL_CHANGED;
}

/**
 * The refresh job's part (docs/kpis.md, "Bases"): a base as of `now` − the refresh lag (rows recorded
 * before then are committed) for the dashboards' defaults (the coalition and each partner, the last
 * 3 and the last 12 months, no segment) and for the combinations asked for lately without a base;
 * each rolled forward from the previous base when there is one, one transaction each. A new base is
 * written when the latest is an hour old (or more than KPI_BASE_ROLL_CHANGED members changed since)
 * and some member changed: bases are append-only, so their number grows by at most 24 a day per
 * combination. Answers the number of bases written.
 */
export async function refreshBases(runner: QueryRunner, now: Date): Promise<number> {
  const asOf = new Date(now.getTime() - KPI_REFRESH_LAG_MS);
  const month = monthOf(asOf);
  const partners: Array<{ id: string }> = await runner.query('SELECT id FROM partner ORDER BY id');
  const wanted: Array<{ partner_id: string; period_from: string; period_to: string; stage: string; channel: string }> = await runner.query(
    `SELECT partner_id, to_char(period_from, 'YYYY-MM') AS period_from, to_char(period_to, 'YYYY-MM') AS period_to, stage, channel
       FROM kpi_figures_wanted WHERE asked_at > $1 ORDER BY asked_at DESC, partner_id, period_from, period_to, stage, channel LIMIT $2`,
    [new Date(now.getTime() - KPI_WANTED_MS), KPI_WANTED_MAX],
  );
  const asks = new Map<string, Ask>();
  const add = (ask: Ask) => {
    if (ask.first <= month) asks.set(JSON.stringify(ask), ask);
  };
  for (const partnerId of [null, ...partners.map((partner) => partner.id)]) {
    for (const months of [3, 12]) add({ partnerId, first: month - months + 1, last: month, stage: null, channel: null });
  }
  for (const row of wanted) {
    add({
      partnerId: row.partner_id === '' ? null : row.partner_id,
      first: monthIndex(row.period_from)!,
      last: monthIndex(row.period_to)!,
      stage: row.stage === '' ? null : (row.stage as LifecycleStage),
      channel: row.channel === '' ? null : row.channel,
    });
  }

  let written = 0;
  for (const ask of asks.values()) {
    await runner.startTransaction('REPEATABLE READ');
    try {
      const tx = runner.manager;
      await prepareFigures(tx);
      // Not a request: a combination computed in full over a large coalition may take longer than a request may.
      await tx.query(`SET LOCAL statement_timeout = '${KPI_BASE_STATEMENT_TIMEOUT}'`);
      const settings = await settingsAt(tx, ask.partnerId, asOf);
      const spec: FigureSpec = {
        partnerId: ask.partnerId,
        first: ask.first,
        end: Math.min(ask.last, month) + 1,
        stage: ask.stage,
        channel: ask.channel,
        windowMonths: settings.lifecycleWindowMonths,
        loyalMinPurchases: settings.loyalMinPurchases,
        loyalMonths: settings.loyalMonths,
        tier: null,
      };
      if (await baseDue(tx, spec, asOf)) {
        const { figures, path } = await figuresAt(tx, spec, asOf, await rollupState(tx));
        // Nothing changed since the latest base: it serves as well as a new one would.
        if (path.kind === 'full' || path.changedMembers > 0) {
          const inserted: unknown[] = await tx.query(
            `INSERT INTO kpi_figures_base (partner_id, period_start, period_end, stage, channel, window_months, loyal_min_purchases,
                                           loyal_months, as_of, figures, computed_at)
             VALUES ($1, $2::date, $3::date, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
             ON CONFLICT DO NOTHING RETURNING 1`,
            [...keyParams(spec), asOf, JSON.stringify(figures), now],
          );
          written += inserted.length;
        }
      }
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    }
  }

  return written;
}
