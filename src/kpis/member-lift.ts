import type { DataSource } from 'typeorm';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { KPI_FIRST_MONTH, monthIndex, monthStart, monthText, ratio, type KpiQuery, type Ratio } from './kpi.service';
import { checkTrendPeriod, knownPartner, observed, rollupCut, type KpiTrendObserver } from './kpi-scope';
import { BURN_TYPES, EARN_TYPES, utcDay } from './rollups';

/** What a partner reports of its non-member customers for one month (docs/kpis.md, "Member lift"). */
export interface NonMemberReportInput {
  /** The reporting partner; null: the caller's own (a partner token). */
  partnerId: string | null;
  month: string;
  customers: string;
  purchases: string;
  spend: string;
}

/** Who reports: a partner for itself, or an operator for any partner it names. */
export type Reporter = { kind: 'partner'; partnerId: string } | { kind: 'operator' };

export interface NonMemberReport {
  partnerId: string;
  month: string;
  customers: string;
  purchases: string;
  spend: string;
  reportedAt: Date;
  reportedBy: string;
  version: number;
}

export interface LiftFigures {
  customers: string;
  purchases: string;
  spend: string;
  purchasesPerCustomer: Ratio;
  spendPerCustomer: Ratio;
}

export interface MemberLiftMonth {
  month: string;
  partnersReported: number;
  reportedAt: Date | null;
  members: LiftFigures;
  nonMembers: LiftFigures | null;
  purchaseLift: Ratio | null;
  spendLift: Ratio | null;
}

export interface MemberLift {
  partnerId: string | null;
  from: string;
  to: string;
  asOf: Date;
  rollupCompleteBefore: string | null;
  months: MemberLiftMonth[];
  period: {
    monthsReported: number;
    members: LiftFigures;
    nonMembers: LiftFigures | null;
    purchaseLift: Ratio | null;
    spendLift: Ratio | null;
  };
}

/** The largest bigint: counts and spend are stored as bigint. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;
const WHOLE = /^(0|[1-9][0-9]{0,18})$/;

/** A whole, non-negative number within bigint, or null. */
function whole(text: string): bigint | null {
  if (!WHOLE.test(text)) return null;
  const value = BigInt(text);
  return value <= BIGINT_MAX ? value : null;
}

/** The three figures of one side, with their per-customer ratios. */
function figures(customers: bigint, purchases: bigint, spend: bigint): LiftFigures {
  return {
    customers: customers.toString(),
    purchases: purchases.toString(),
    spend: spend.toString(),
    purchasesPerCustomer: ratio(purchases, customers),
    spendPerCustomer: ratio(spend, customers),
  };
}

/** (m − n) / n for m = x / a (members) and n = y / c (non-members), exactly: (x × c − y × a) / (y × a). */
const liftRatio = (x: bigint, a: bigint, y: bigint, c: bigint): Ratio => ratio(x * c - y * a, y * a);

interface Side {
  customers: bigint;
  purchases: bigint;
  spend: bigint;
}

const ZERO: Side = { customers: 0n, purchases: 0n, spend: 0n };
const add = (a: Side, b: Side): Side => ({
  customers: a.customers + b.customers,
  purchases: a.purchases + b.purchases,
  spend: a.spend + b.spend,
});

function compare(members: Side, nonMembers: Side | null) {
  return {
    members: figures(members.customers, members.purchases, members.spend),
    nonMembers: nonMembers && figures(nonMembers.customers, nonMembers.purchases, nonMembers.spend),
    purchaseLift: nonMembers && liftRatio(members.purchases, members.customers, nonMembers.purchases, nonMembers.customers),
    spendLift: nonMembers && liftRatio(members.spend, members.customers, nonMembers.spend, nonMembers.customers),
  };
}

interface LiftRow {
  month: string;
  active: string;
  purchases: string;
  spend: string;
  partners: number;
  customers: string | null;
  n_purchases: string | null;
  n_spend: string | null;
  reported_at: Date | null;
}

/**
 * Member lift (docs/kpis.md, "Member lift"): partners report their non-member customers per month
 * (append-only; a later report for the same month supersedes the earlier one from the time it was
 * recorded), and the lift compares the members' purchases and spend per active member with the
 * non-members' per customer, as of any time.
 */
export class MemberLiftService {
  constructor(
    /** Reports are written here. */
    private readonly dataSource: DataSource,
    /** The lift is read here (the replica, when there is one, like `kpis`). */
    private readonly readDataSource: DataSource,
    private readonly observer?: KpiTrendObserver,
  ) {}

  async report(
    input: NonMemberReportInput,
    by: Reporter,
    subject: string,
    now: Date,
  ): Promise<NonMemberReport | OpError<'nonMemberReport'>> {
    const outcome = await this.record(input, by, subject, now);
    this.observer?.nonMemberReport(isDomainError(outcome) ? outcome.code : 'ok');
    return outcome;
  }

  private async record(
    input: NonMemberReportInput,
    by: Reporter,
    subject: string,
    now: Date,
  ): Promise<NonMemberReport | OpError<'nonMemberReport'>> {
    const partnerId = input.partnerId ?? (by.kind === 'partner' ? by.partnerId : null);
    if (partnerId === null) return fail(ErrorCode.INVALID_INPUT, 'name the partner whose non-member customers these are (partnerId)');
    if (by.kind === 'partner' && partnerId !== by.partnerId) {
      return fail(ErrorCode.SCOPE_NOT_ALLOWED, 'a partner reports its own non-member customers only');
    }
    const month = monthIndex(input.month);
    if (month === null) return fail(ErrorCode.INVALID_INPUT, 'month is YYYY-MM');
    if (month < monthIndex(KPI_FIRST_MONTH)!) return fail(ErrorCode.INVALID_INPUT, `month is ${KPI_FIRST_MONTH} or later`);
    if (month > monthIndex(utcDay(now).slice(0, 7))!) return fail(ErrorCode.INVALID_INPUT, 'month is not in the future');
    const customers = whole(input.customers);
    if (customers === null) return fail(ErrorCode.INVALID_INPUT, 'customers is a whole number of customers, e.g. "120"');
    const purchases = whole(input.purchases);
    if (purchases === null) return fail(ErrorCode.INVALID_INPUT, 'purchases is a whole number of purchases, e.g. "300"');
    const spend = whole(input.spend);
    if (spend === null) return fail(ErrorCode.INVALID_INPUT, 'spend is a whole number of minor units, e.g. "45000"');
    if (purchases > 0n && customers === 0n) return fail(ErrorCode.INVALID_INPUT, 'purchases need customers: customers is more than 0');
    if (spend > 0n && purchases === 0n) return fail(ErrorCode.INVALID_INPUT, 'spend needs purchases: purchases is more than 0');

    return this.dataSource.transaction(async (tx) => {
      if (!(await knownPartner(tx, partnerId))) return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${partnerId}`);
      // Reports of one partner and month one at a time, so that their versions follow the order they were recorded in.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`kpi-non-member-report:${partnerId}:${monthText(month)}`]);
      const [row]: Array<{ version: number }> = await tx.query(
        `WITH made AS (
           INSERT INTO kpi_non_member_report (partner_id, month, customers, purchases, spend_minor, reported_by, recorded_at)
           VALUES ($1, $2::date, $3, $4, $5, $6, $7) RETURNING id
         )
         SELECT (SELECT count(*) FROM kpi_non_member_report WHERE partner_id = $1 AND month = $2::date)::int + 1 AS version FROM made`,
        [partnerId, monthStart(month), customers.toString(), purchases.toString(), spend.toString(), subject, now],
      );
      return {
        partnerId,
        month: monthText(month),
        customers: customers.toString(),
        purchases: purchases.toString(),
        spend: spend.toString(),
        reportedAt: now,
        reportedBy: subject,
        version: row!.version,
      };
    });
  }

  /** The lift of a scope over the months of a period, as of a time (one read-only REPEATABLE READ transaction). */
  lift(query: KpiQuery, now: Date): Promise<MemberLift | OpError<'kpis'>> {
    return observed(this.observer, 'member_lift', query.partnerId, () => this.compute(query, now));
  }

  private async compute(query: KpiQuery, now: Date): Promise<MemberLift | OpError<'kpis'>> {
    const checked = checkTrendPeriod(query, now);
    if (isDomainError(checked)) return checked;
    const { first, end } = checked;
    return this.readDataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      if (query.partnerId !== null && !(await knownPartner(tx, query.partnerId))) {
        return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${query.partnerId}`);
      }
      const cut = await rollupCut(tx, query.asOf);
      const rows: LiftRow[] = await tx.query(LIFT_SQL, [
        query.partnerId,
        query.asOf,
        cut ?? '0001-01-01',
        monthStart(first),
        monthStart(end),
        EARN_TYPES,
        BURN_TYPES,
      ]);
      const byMonth = new Map(rows.map((row) => [row.month, row]));
      const months: MemberLiftMonth[] = [];
      let membersReported = ZERO;
      let nonMembersReported = ZERO;
      let monthsReported = 0;
      for (let index = first; index < end; index++) {
        const row = byMonth.get(monthText(index));
        const members: Side = row ? { customers: BigInt(row.active), purchases: BigInt(row.purchases), spend: BigInt(row.spend) } : ZERO;
        const nonMembers: Side | null =
          row && row.partners > 0
            ? { customers: BigInt(row.customers!), purchases: BigInt(row.n_purchases!), spend: BigInt(row.n_spend!) }
            : null;
        if (nonMembers) {
          monthsReported += 1;
          membersReported = add(membersReported, members);
          nonMembersReported = add(nonMembersReported, nonMembers);
        }
        months.push({
          month: monthText(index),
          partnersReported: row?.partners ?? 0,
          reportedAt: row?.reported_at ?? null,
          ...compare(members, nonMembers),
        });
      }
      return {
        partnerId: query.partnerId,
        from: monthText(first),
        to: monthText(end - 1),
        asOf: query.asOf,
        rollupCompleteBefore: cut,
        months,
        period: { monthsReported, ...compare(membersReported, monthsReported > 0 ? nonMembersReported : null) },
      };
    });
  }
}

/**
 * $1 partner (null: coalition), $2 asOf, $3 cut (rollup days before it; recorded rows from it to asOf),
 * $4 period start, $5 first month after it, $6 earn entry types, $7 burn entry types.
 *
 * Per month: the reports in force at asOf (the latest recorded by then for each partner), and the
 * members' active count, purchases and spend as `kpis` counts them (docs/kpis.md, "Definitions") at
 * the partner, or, for the coalition, at the partners that reported for that month.
 */
const LIFT_SQL = `
WITH
reports AS (
  SELECT DISTINCT ON (partner_id, month) partner_id, month, customers, purchases, spend_minor, recorded_at
    FROM kpi_non_member_report
   WHERE recorded_at <= $2 AND month >= $4::date AND month < $5::date AND ($1::text IS NULL OR partner_id = $1)
   ORDER BY partner_id, month, recorded_at DESC, id DESC
),
ap AS (
  -- Partners that send purchase activities (for the others an earn or burn makes a member active).
  SELECT p.id AS partner_id FROM partner p
   WHERE (SELECT true FROM activity a WHERE a.partner_id = p.id AND a.kind = 'purchase' AND a.recorded_at <= $2 LIMIT 1)
),
days AS (
  SELECT partner_id, member_id, day, purchases, spend_minor, earns + burns AS moves
    FROM kpi_member_day
   WHERE ($1::text IS NULL OR partner_id = $1) AND day >= $4::date AND day < $3::date AND day < $5::date
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 1, total_minor, 0
    FROM activity
   WHERE kind = 'purchase' AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $5::date::timestamp AT TIME ZONE 'UTC'
  UNION ALL
  SELECT partner_id, member_id, (recorded_at AT TIME ZONE 'UTC')::date, 0, 0, 1
    FROM journal_entry
   WHERE member_id IS NOT NULL AND (type = ANY($6) OR type = ANY($7)) AND ($1::text IS NULL OR partner_id = $1)
     AND recorded_at >= greatest($3::date, $4::date)::timestamp AT TIME ZONE 'UTC'
     AND recorded_at <= $2 AND recorded_at < $5::date::timestamp AT TIME ZONE 'UTC'
),
compared AS (
  -- A partner: all its rows. The coalition: the rows at the partners that reported for their month.
  SELECT d.member_id, date_trunc('month', d.day)::date AS month, d.purchases, d.spend_minor,
         (d.purchases > 0 OR (d.moves > 0 AND ap.partner_id IS NULL)) AS active
    FROM days d LEFT JOIN ap ON ap.partner_id = d.partner_id
   WHERE $1::text IS NOT NULL
      OR EXISTS (SELECT 1 FROM reports r WHERE r.partner_id = d.partner_id AND r.month = date_trunc('month', d.day)::date)
),
member_months AS (
  SELECT member_id, month, sum(purchases) AS purchases, sum(spend_minor) AS spend, bool_or(active) AS active
    FROM compared GROUP BY member_id, month
),
members AS (
  SELECT month, count(*) FILTER (WHERE active) AS active, sum(purchases) AS purchases, sum(spend) AS spend
    FROM member_months GROUP BY month
),
non_members AS (
  SELECT month, count(*)::int AS partners, sum(customers) AS customers, sum(purchases) AS purchases, sum(spend_minor) AS spend,
         max(recorded_at) AS reported_at
    FROM reports GROUP BY month
)
SELECT to_char(coalesce(m.month, n.month), 'YYYY-MM') AS month,
       coalesce(m.active, 0)::text AS active, coalesce(m.purchases, 0)::text AS purchases, coalesce(m.spend, 0)::text AS spend,
       coalesce(n.partners, 0) AS partners, n.customers::text AS customers, n.purchases::text AS n_purchases, n.spend::text AS n_spend,
       n.reported_at
  FROM members m FULL JOIN non_members n ON n.month = m.month`;
