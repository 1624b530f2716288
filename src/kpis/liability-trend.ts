import type { DataSource } from 'typeorm';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { consumedAtPartners, expiredPoints } from '../settlement/liability.service';
import { monthIndex, monthStart, monthText, ratio, type KpiQuery, type Ratio } from './kpi.service';
import { checkTrendPeriod, knownPartner, observed, type KpiTrendObserver } from './kpi-scope';

export interface LiabilityMonth {
  month: string;
  issued: string;
  redeemed: string;
  expired: string;
  reversed: string;
  outstanding: string;
  outstandingAt: Date;
  breakageRate: Ratio;
  breakageToDate: Ratio;
}

export interface LiabilityTrend {
  partnerId: string | null;
  from: string;
  to: string;
  asOf: Date;
  openingOutstanding: string;
  months: LiabilityMonth[];
}

interface FlowRow {
  month: string;
  /** Every lot made (transfers' lots too): with `left`, what the outstanding CP moves by. */
  made: string;
  issued: string;
  left: string;
  redeemed: string;
  expired: string;
  reversed: string;
}

/**
 * The liability and breakage trend (docs/kpis.md, "Liability and breakage trend"): per month, the CP
 * the scope's partner issued (the coalition: all CP) and what left those points, and what was
 * outstanding at each month's end, read from the lots and their consumption (the ledger, append-only)
 * by the time the hub recorded each entry, with the finance definitions: a month end's figures are
 * what `liabilityByIssuer` and `breakageToDate` answered at that moment.
 */
export class LiabilityTrendService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly observer?: KpiTrendObserver,
  ) {}

  trend(query: KpiQuery, now: Date): Promise<LiabilityTrend | OpError<'kpis'>> {
    return observed(this.observer, 'liability', query.partnerId, () => this.compute(query, now));
  }

  private async compute(query: KpiQuery, now: Date): Promise<LiabilityTrend | OpError<'kpis'>> {
    const checked = checkTrendPeriod(query, now);
    if (isDomainError(checked)) return checked;
    const { first, end } = checked;
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      // Whole-ledger aggregates: hash joins, not a nested loop per consumption.
      await tx.query('SET LOCAL enable_nestloop = off');
      if (query.partnerId !== null && !(await knownPartner(tx, query.partnerId))) {
        return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${query.partnerId}`);
      }
      const rows: FlowRow[] = await tx.query(TREND_SQL, [query.partnerId, query.asOf, monthStart(end)]);
      const flows = new Map(rows.map((row) => [monthIndex(row.month)!, row]));
      // Everything before the period, then month by month.
      let outstanding = 0n;
      let expiredToDate = 0n;
      let consumedToDate = 0n;
      for (const [index, row] of flows) {
        if (index >= first) continue;
        outstanding += BigInt(row.made) - BigInt(row.left);
        expiredToDate += BigInt(row.expired);
        consumedToDate += BigInt(row.redeemed);
      }
      const openingOutstanding = outstanding.toString();
      const months: LiabilityMonth[] = [];
      for (let index = first; index < end; index++) {
        const row = flows.get(index);
        const expired = BigInt(row?.expired ?? 0);
        const redeemed = BigInt(row?.redeemed ?? 0);
        outstanding += BigInt(row?.made ?? 0) - BigInt(row?.left ?? 0);
        expiredToDate += expired;
        consumedToDate += redeemed;
        const monthEnd = new Date(`${monthStart(index + 1)}T00:00:00.000Z`);
        months.push({
          month: monthText(index),
          issued: row?.issued ?? '0',
          redeemed: redeemed.toString(),
          expired: expired.toString(),
          reversed: row?.reversed ?? '0',
          outstanding: outstanding.toString(),
          outstandingAt: monthEnd.getTime() > query.asOf.getTime() ? query.asOf : monthEnd,
          breakageRate: ratio(expired, expired + redeemed),
          breakageToDate: ratio(expiredToDate, expiredToDate + consumedToDate),
        });
      }
      return { partnerId: query.partnerId, from: monthText(first), to: monthText(end - 1), asOf: query.asOf, openingOutstanding, months };
    });
  }
}

/**
 * $1 issuer (null: every issuer), $2 asOf, $3 first month after the period. Per UTC month of the
 * entries' recorded time, up to the period's end and asOf: the lots made (issued: those that are not a
 * transfer's copy) and what left lots, by kind (docs/settlement.md, "Liability and breakage reports").
 * A lot's amount less what left it is its remainder, so made − left summed up to a moment is the CP
 * outstanding then.
 */
const TREND_SQL = `
WITH
made AS (
  SELECT date_trunc('month', e.recorded_at AT TIME ZONE 'UTC')::date AS month,
         sum(l.amount) AS made, coalesce(sum(l.amount) FILTER (WHERE l.from_lot_id IS NULL), 0) AS issued
    FROM lot l JOIN journal_entry e ON e.id = l.entry_id
   WHERE ($1::text IS NULL OR l.issuer_partner_id = $1) AND e.recorded_at <= $2 AND e.recorded_at < $3::date::timestamp AT TIME ZONE 'UTC'
   GROUP BY 1
),
left_lots AS (
  SELECT date_trunc('month', e.recorded_at AT TIME ZONE 'UTC')::date AS month,
         sum(c.amount) AS left_total,
         coalesce(sum(c.amount) FILTER (WHERE ${consumedAtPartners('c')}), 0) AS redeemed,
         coalesce(sum(c.amount) FILTER (WHERE ${expiredPoints('c')}), 0) AS expired,
         coalesce(sum(c.amount) FILTER (WHERE c.kind = 'reversal' AND c.amount > 0), 0) AS reversed
    FROM lot_consumption c JOIN journal_entry e ON e.id = c.entry_id
   WHERE ($1::text IS NULL OR c.issuer_partner_id = $1) AND e.recorded_at <= $2 AND e.recorded_at < $3::date::timestamp AT TIME ZONE 'UTC'
   GROUP BY 1
)
SELECT to_char(coalesce(m.month, x.month), 'YYYY-MM') AS month,
       coalesce(m.made, 0)::text AS made, coalesce(m.issued, 0)::text AS issued, coalesce(x.left_total, 0)::text AS "left",
       coalesce(x.redeemed, 0)::text AS redeemed, coalesce(x.expired, 0)::text AS expired, coalesce(x.reversed, 0)::text AS reversed
  FROM made m FULL JOIN left_lots x ON x.month = m.month`;
