import type { DataSource } from 'typeorm';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { contractPrice, lotIssuePrice, PERIOD_QUERY_SETTINGS } from './lines';

export interface IssuerLiability {
  issuerPartnerId: string;
  points: bigint;
  /** Points still inside a return window (not yet spendable). */
  pendingPoints: bigint;
  /** Points past their expiry that the next expiry run takes. */
  expiredUnsweptPoints: bigint;
  /** What the issuer paid in for them: each lot's issue line less what has left it (settlement's cumulative rounding). */
  fundedMinor: bigint;
}

export interface ExpiryBucket {
  month: string;
  issuerPartnerId: string;
  points: bigint;
  fundedMinor: bigint;
  /** Points of this bucket expected to expire unredeemed, at the issuer's breakage rate so far. */
  projectedBreakagePoints: bigint;
}

export interface BreakageToDate {
  issuerPartnerId: string;
  /** Every point of the issuer that expired, in any period. */
  expiredPoints: bigint;
  /** Of the closed periods: the issuer's breakage share paid, and what the hub kept. */
  sharePaidMinor: bigint;
  /** expired / (expired + consumed at partners), as a decimal string to 6 places; 0 when nothing left yet. */
  breakageRate: string;
}

export interface AccountBalanceAsOf {
  accountId: string;
  ownerKind: string;
  ownerId: string;
  asset: string;
  kind: string;
  balance: bigint;
}

/**
 * Open lots by root lot (the issue or exchange that funded them; transfers make child lots), and
 * each root's outstanding funded value the way settlement counts it: its issue line less what
 * has left it, round(amount × price) − round(consumed × price) — so outstanding liability is
 * exactly the sum of the periods' liability changes.
 */
const OPEN_LOTS = `
  WITH RECURSIVE chain (lot_id, cur, parent) AS (
    SELECT l.id, l.id, l.from_lot_id FROM lot l WHERE l.remaining > 0
    UNION ALL
    SELECT c.lot_id, l.id, l.from_lot_id FROM chain c JOIN lot l ON l.id = c.parent
  ),
  open_lots AS (
    SELECT l.id, c.cur AS root_id, l.issuer_partner_id, l.remaining, l.expires_at, l.vests_at
    FROM chain c JOIN lot l ON l.id = c.lot_id WHERE c.parent IS NULL
  ),
  root_value AS (
    SELECT root_id, round_half_even(r.amount * p.price) - round_half_even((r.amount - sum(o.remaining)) * p.price) AS funded
    FROM open_lots o
    JOIN lot r ON r.id = o.root_id
    JOIN journal_entry e ON e.id = r.entry_id
    CROSS JOIN LATERAL (SELECT coalesce(${lotIssuePrice('e', 'r')}, ${contractPrice('issue_price', 'r.issuer_partner_id', 'e.recorded_at')}, 0) AS price) p
    GROUP BY root_id, r.amount, p.price
  ),
  -- A root's lots share its issuer and expiry (transfers keep both): its value goes to its first open lot.
  valued_lots AS (
    SELECT o.*, CASE WHEN o.id = min(o.id) OVER (PARTITION BY o.root_id) THEN v.funded ELSE 0 END AS funded
    FROM open_lots o JOIN root_value v USING (root_id)
  )`;

/**
 * Liability reports (docs/settlement.md): the liability for outstanding CP — by issuer and by expiry month, valued at
 * what each issuer paid in for them — breakage so far and projected, and point-in-time balances
 * for audits and disputes.
 */
export class LiabilityService {
  constructor(private readonly dataSource: DataSource) {}

  /** Whole-ledger reads, with the settings of a period computation (see PERIOD_QUERY_SETTINGS). */
  private periodQuery(sql: string, params: unknown[] = []): Promise<any[]> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      for (const setting of PERIOD_QUERY_SETTINGS) await tx.query(setting);
      return tx.query(sql, params);
    });
  }

  async byIssuer(at: Date): Promise<IssuerLiability[]> {
    const rows: Array<Record<string, string>> = await this.periodQuery(
      `${OPEN_LOTS}
       SELECT issuer_partner_id, sum(remaining)::text AS points,
              coalesce(sum(remaining) FILTER (WHERE vests_at > $1), 0)::text AS pending,
              coalesce(sum(remaining) FILTER (WHERE expires_at <= $1), 0)::text AS expired,
              sum(funded)::text AS funded
       FROM valued_lots GROUP BY issuer_partner_id ORDER BY issuer_partner_id`,
      [at],
    );
    return rows.map((row) => ({
      issuerPartnerId: row.issuer_partner_id!,
      points: BigInt(row.points!),
      pendingPoints: BigInt(row.pending!),
      expiredUnsweptPoints: BigInt(row.expired!),
      fundedMinor: BigInt(row.funded!),
    }));
  }

  async byExpiryMonth(timeZone: string, page: Page): Promise<Connection<ExpiryBucket>> {
    const after = readCursor(page.after, /^[0-9]{4}-[0-9]{2}\|[A-Z][A-Z0-9_]{1,31}$/);
    const [month, issuer] = after ? after.split('|') : [null, null];
    const rows: Array<Record<string, string>> = await this.periodQuery(
      `${OPEN_LOTS},
       buckets AS (
         SELECT to_char(expires_at AT TIME ZONE $1, 'YYYY-MM') AS month, issuer_partner_id,
                sum(remaining) AS points, sum(funded) AS funded
         FROM valued_lots GROUP BY 1, 2
       ),
       rates AS (${BREAKAGE_RATE_SQL})
       SELECT b.month, b.issuer_partner_id, b.points::text, b.funded::text AS funded,
              floor(b.points * coalesce(r.rate, 0))::text AS projected
       FROM buckets b LEFT JOIN rates r ON r.issuer_partner_id = b.issuer_partner_id
       WHERE $2::text IS NULL OR (b.month, b.issuer_partner_id) > ($2, $3)
       ORDER BY b.month, b.issuer_partner_id LIMIT $4`,
      [timeZone, month ?? null, issuer ?? null, page.first + 1],
    );
    const buckets = rows.map((row) => ({
      month: row.month!,
      issuerPartnerId: row.issuer_partner_id!,
      points: BigInt(row.points!),
      fundedMinor: BigInt(row.funded!),
      projectedBreakagePoints: BigInt(row.projected!),
    }));
    return toConnection(buckets, page, (bucket) => `${bucket.month}|${bucket.issuerPartnerId}`);
  }

  async breakageToDate(): Promise<BreakageToDate[]> {
    const rows: Array<Record<string, string>> = await this.periodQuery(
      `WITH rates AS (${BREAKAGE_RATE_SQL})
       SELECT r.issuer_partner_id, r.expired::text, r.rate::text,
              coalesce((SELECT -sum(t.money_minor) FROM settlement_total t WHERE t.partner_id = r.issuer_partner_id AND t.kind = 'breakage'), 0)::text AS share_paid
       FROM rates r ORDER BY r.issuer_partner_id`,
    );
    return rows.map((row) => ({
      issuerPartnerId: row.issuer_partner_id!,
      expiredPoints: BigInt(row.expired!),
      sharePaidMinor: BigInt(row.share_paid!),
      breakageRate: Number(row.rate!).toFixed(6),
    }));
  }

  /** Balances as they stood at `at` (entries recorded up to then), recomputed from postings. */
  async balancesAsOf(filter: { memberId?: string | null; accountId?: string | null }, at: Date): Promise<AccountBalanceAsOf[]> {
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT a.id::text AS account_id, a.owner_kind, a.owner_id, a.asset, a.kind,
              coalesce((SELECT sum(p.amount) FROM posting p JOIN journal_entry e ON e.id = p.entry_id
                        WHERE p.account_id = a.id AND e.recorded_at <= $3), 0)::text AS balance
       FROM account a
       WHERE ($1::text IS NULL OR (a.owner_kind = 'member' AND a.owner_id = $1)) AND ($2::bigint IS NULL OR a.id = $2::bigint)
       ORDER BY a.asset, a.kind, a.id LIMIT 100`,
      [filter.memberId ?? null, filter.accountId ?? null, at],
    );
    return rows.map((row) => ({
      accountId: row.account_id!,
      ownerKind: row.owner_kind!,
      ownerId: row.owner_id!,
      asset: row.asset!,
      kind: row.kind!,
      balance: BigInt(row.balance!),
    }));
  }
}

/**
 * The finance definitions of what left a lot (lot_consumption, alias `c`), shared with the KPI
 * liability trend (docs/kpis.md) so that both answer the same figures: points that expired, and
 * points consumed at partners (redeemed or exchanged out, less refunded redemptions).
 */
export const expiredPoints = (c: string): string => `${c}.kind = 'expire'`;
export const consumedAtPartners = (c: string): string =>
  `(${c}.kind IN ('redeem', 'exchange') OR (${c}.kind = 'reversal' AND ${c}.amount < 0))`;

/** Per issuer: points expired, points consumed at partners (net of refunds), and expired / (expired + consumed). */
const BREAKAGE_RATE_SQL = `
  SELECT c.issuer_partner_id,
         coalesce(sum(c.amount) FILTER (WHERE ${expiredPoints('c')}), 0) AS expired,
         CASE WHEN coalesce(sum(c.amount) FILTER (WHERE ${expiredPoints('c')} OR ${consumedAtPartners('c')}), 0) = 0 THEN 0
              ELSE coalesce(sum(c.amount) FILTER (WHERE ${expiredPoints('c')}), 0)::numeric
                   / sum(c.amount) FILTER (WHERE ${expiredPoints('c')} OR ${consumedAtPartners('c')}) END AS rate
  FROM lot_consumption c GROUP BY c.issuer_partner_id`;
