import type { DataSource, QueryRunner } from 'typeorm';
import { assert } from '../common/assert';
import { refreshBases } from './kpi-bases';
import { BURN_TYPES, EARN_TYPES, KPI_REFRESH_LAG_MS, utcDay } from './kpi-common';

/**
 * The KPI rollups and their refresh (docs/kpis.md, "Rollups"). A run recomputes, day by day,
 * `kpi_member_day` for the UTC days from the watermark (`complete_before`) to the day of `now`,
 * each day written over (upsert) in its own transaction, so a run is idempotent and a crash loses
 * at most the day in progress. What it counts (activities, journal entries) is append-only: a
 * recomputed day has every row it had before, so nothing is ever deleted. It first copies new enrolments into `kpi_member_fact`.
 *
 * Rows are bucketed by the time the hub recorded them. A transaction may commit a little after
 * the time it recorded, so days stay open (recomputed by the next run) until `LAG_MS` after
 * their end; after that they are final and the watermark moves past them.
 *
 * Last, it writes the KPI figure bases (kpi-bases.ts) from the rollup it brought up to date.
 *
 * Two hub processes (or the CLI beside them) never refresh at once: a run holds a session
 * advisory lock, and a run that does not get it does nothing (`ran: false`).
 */
export { BURN_TYPES, EARN_TYPES, KPI_REFRESH_LAG_MS, utcDay } from './kpi-common';

const LOCK_KEY = 'coalition-hub:kpi-refresh';
const DAY_MS = 86_400_000;

export interface KpiRefreshRun {
  /** False when another refresh held the lock: nothing was done. */
  ran: boolean;
  /** Days recomputed. */
  days: number;
  /** Member-day rows written. */
  rows: number;
  /** Enrolments copied into the member facts. */
  enrolments: number;
  /** Days before this one (YYYY-MM-DD) are final in the rollup. */
  completeBefore: string | null;
  /** KPI figure bases written (docs/kpis.md, "Bases"). */
  bases: number;
}

export interface KpiRefreshProgress {
  (done: number, total: number, day: string): void;
}

interface State {
  complete_before: string;
  enrolments_through: Date;
}

/** One refresh at `now` (the hub's clock). */
export async function refreshKpis(dataSource: DataSource, now: Date, progress?: KpiRefreshProgress): Promise<KpiRefreshRun> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [lock]: Array<{ locked: boolean }> = await runner.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [
      LOCK_KEY,
    ]);
    if (!lock?.locked) return { ran: false, days: 0, rows: 0, enrolments: 0, completeBefore: null, bases: 0 };
    try {
      return await refreshLocked(runner, now, progress);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

async function refreshLocked(runner: QueryRunner, now: Date, progress?: KpiRefreshProgress): Promise<KpiRefreshRun> {
  const state = await readOrStartState(runner, now);
  const finalBefore = utcDay(new Date(now.getTime() - KPI_REFRESH_LAG_MS));

  // New enrolments (those recorded within the lag before the last run again: inserting them twice changes nothing).
  const enrolments = await inTransaction(runner, async () => {
    const inserted: Array<unknown> = await runner.query(
      `INSERT INTO kpi_member_fact (partner_id, member_id, enrolled_at)
       SELECT partner_id, member_id, created_at FROM member_link
        WHERE created_at > $1::timestamptz - make_interval(secs => $3) AND created_at <= $2
       ON CONFLICT DO NOTHING RETURNING 1`,
      [state.enrolments_through, now, KPI_REFRESH_LAG_MS / 1000],
    );
    await runner.query('UPDATE kpi_refresh_state SET enrolments_through = greatest(enrolments_through, $1), refreshed_at = $1', [now]);
    return inserted.length;
  });

  const days = dayRange(state.complete_before, utcDay(now));
  let rows = 0;
  let completeBefore = state.complete_before;
  for (const [index, day] of days.entries()) {
    rows += await inTransaction(runner, async () => {
      const written = await recomputeDay(runner, day, now);
      // A day is final once LAG_MS have passed since its end; the watermark never moves back.
      const candidate = nextDay(day) < finalBefore ? nextDay(day) : finalBefore;
      if (candidate > completeBefore) completeBefore = candidate;
      await runner.query('UPDATE kpi_refresh_state SET complete_before = greatest(complete_before, $1::date)', [completeBefore]);
      return written;
    });
    progress?.(index + 1, days.length, day);
  }
  // Then the figure bases, from the rollup just brought up to date.
  const bases = await refreshBases(runner, now);
  return { ran: true, days: days.length, rows, enrolments, completeBefore, bases };
}

/** Writes `day`'s member rows again from the activity table and the journal (what was recorded that day, up to `now`). */
async function recomputeDay(runner: QueryRunner, day: string, now: Date): Promise<number> {
  const inserted: Array<unknown> = await runner.query(
    `WITH bounds AS (
       SELECT ($1::date)::timestamp AT TIME ZONE 'UTC' AS lo, least(($1::date + 1)::timestamp AT TIME ZONE 'UTC', $2::timestamptz + interval '1 microsecond') AS hi
     ), moves AS (
       SELECT a.partner_id, a.member_id, 1 AS purchases, a.total_minor AS spend, 0 AS earns, 0 AS burns, 0::bigint AS earned, 0::bigint AS burned
         FROM activity a, bounds b WHERE a.kind = 'purchase' AND a.recorded_at >= b.lo AND a.recorded_at < b.hi
       UNION ALL
       SELECT e.partner_id, e.member_id, 0, 0,
              CASE WHEN e.type = ANY($3) THEN 1 ELSE 0 END, CASE WHEN e.type = ANY($4) THEN 1 ELSE 0 END,
              CASE WHEN e.type = ANY($3) THEN w.points ELSE 0 END, CASE WHEN e.type = ANY($4) THEN w.points ELSE 0 END
         FROM journal_entry e CROSS JOIN bounds b
         CROSS JOIN LATERAL (
           SELECT coalesce(sum(abs(p.amount)), 0)::bigint AS points FROM posting p JOIN account acc ON acc.id = p.account_id
            WHERE p.entry_id = e.id AND acc.kind = 'wallet'
         ) w
        WHERE e.member_id IS NOT NULL AND (e.type = ANY($3) OR e.type = ANY($4)) AND e.recorded_at >= b.lo AND e.recorded_at < b.hi
     )
     INSERT INTO kpi_member_day (partner_id, day, member_id, purchases, spend_minor, earns, burns, points_earned, points_burned)
     SELECT partner_id, $1::date, member_id, sum(purchases), sum(spend), sum(earns), sum(burns), sum(earned), sum(burned)
       FROM moves GROUP BY partner_id, member_id
     ON CONFLICT (partner_id, day, member_id) DO UPDATE
       SET purchases = EXCLUDED.purchases, spend_minor = EXCLUDED.spend_minor, earns = EXCLUDED.earns, burns = EXCLUDED.burns,
           points_earned = EXCLUDED.points_earned, points_burned = EXCLUDED.points_burned
     RETURNING 1`,
    [day, now, EARN_TYPES, BURN_TYPES],
  );
  // Each member's first purchase at each partner, and its channel (kept when an earlier one is known).
  await runner.query(
    `UPDATE kpi_member_fact f SET first_purchase_at = x.recorded_at, first_channel = x.channel
       FROM (SELECT DISTINCT ON (partner_id, member_id) partner_id, member_id, recorded_at, coalesce(detail->>'channel', 'unknown') AS channel
               FROM activity
              WHERE kind = 'purchase' AND recorded_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
                AND recorded_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC' AND recorded_at <= $2
              ORDER BY partner_id, member_id, recorded_at, id) x
      WHERE f.partner_id = x.partner_id AND f.member_id = x.member_id AND (f.first_purchase_at IS NULL OR x.recorded_at < f.first_purchase_at)`,
    [day, now],
  );
  return inserted.length;
}

/** The state row; on the first run, the watermark starts at the first day anything was recorded. */
async function readOrStartState(runner: QueryRunner, now: Date): Promise<State> {
  await runner.query(
    `INSERT INTO kpi_refresh_state (complete_before, refreshed_at, enrolments_through)
     SELECT coalesce(least(
              (SELECT min(recorded_at) FROM activity WHERE kind = 'purchase'),
              (SELECT min(recorded_at) FROM journal_entry)
            ) AT TIME ZONE 'UTC', $1::timestamptz AT TIME ZONE 'UTC')::date, $1, '-infinity'
     ON CONFLICT (id) DO NOTHING`,
    [now],
  );
  const [row]: Array<{ complete_before: string; enrolments_through: Date }> = await runner.query(
    "SELECT to_char(complete_before, 'YYYY-MM-DD') AS complete_before, enrolments_through FROM kpi_refresh_state",
  );
  assert(row !== undefined, 'the KPI refresh state row exists once inserted');
  return row;
}

async function inTransaction<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  await runner.startTransaction();
  try {
    const result = await work();
    await runner.commitTransaction();
    return result;
  } catch (error) {
    await runner.rollbackTransaction();
    throw error;
  }
}

function nextDay(day: string): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS));
}

/** `from` to `to`, both included (empty when `from` is after `to`). */
function dayRange(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = nextDay(day)) days.push(day);
  return days;
}
