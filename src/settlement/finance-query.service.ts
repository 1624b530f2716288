import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import type { DataSource } from 'typeorm';
import type { Viewer } from '../common/viewer';
import { forbidden } from '../common/auth-errors';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import type { LineRow } from './lines';
import { PERIOD_COLUMNS, toPeriod, type PeriodRow, type PeriodStatus, type PeriodTableRow } from './period';
import { STATEMENT_COLUMNS, toLine, toStatement, type StatementRow, type StatementTableRow } from './statement.service';
import type { StatementLine } from '@coalition-hub/partner-sdk';

export interface PositionRow {
  periodId: string;
  partnerId: string;
  kinds: Array<{ kind: string; points: bigint; moneyMinor: bigint; lines: number }>;
  netMinor: bigint;
}

export interface SummaryRow {
  currency: string;
  entries: bigint;
  spreadMinor: bigint;
  breakageKeptMinor: bigint;
  adjustmentsMinor: bigint;
  fundedCreatedMinor: bigint;
  fundedReleasedMinor: bigint;
  grossMinor: bigint;
  netMinor: bigint;
  prefundedMinor: bigint;
}

export interface StatementFilter {
  periodId?: string | null;
  partnerId?: string | null;
  status?: StatementRow['status'] | null;
}

const NUMBER_CURSOR = /^[0-9]{1,18}$/;
const PARTNER_CURSOR = /^[A-Z][A-Z0-9_]{1,31}$/;
const PAIR_CURSOR = /^[A-Z][A-Z0-9_]{1,31}\|[A-Z][A-Z0-9_]{1,31}$/;
const STATEMENT_CURSOR = /^[0-9]{1,18}\|[A-Z][A-Z0-9_]{1,31}$/;

const isFinance = (viewer: Viewer) => viewer.kind === 'operator';

/**
 * The finance read model (docs/settlement.md): periods, positions, obligations, transfers and
 * statements as a close stored them. Finance and operators read everything; a partner reads its
 * own statements and nothing else.
 */
export class FinanceQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async periods(filter: { status?: PeriodStatus | null }, page: Page): Promise<Connection<PeriodRow>> {
    const before = readCursor(page.after, NUMBER_CURSOR);
    const rows: PeriodTableRow[] = await this.dataSource.query(
      `SELECT ${PERIOD_COLUMNS} FROM settlement_period
       WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2::bigint)
       ORDER BY id DESC LIMIT $3`,
      [filter.status ?? null, before, page.first + 1],
    );
    return toConnection(rows.map(toPeriod), page, (period) => period.id);
  }

  async period(id: string): Promise<PeriodRow | null> {
    if (!/^[0-9]{1,18}$/.test(id)) return null;
    const [row] = await this.dataSource.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE id = $1`, [id]);
    return row ? toPeriod(row) : null;
  }

  async summary(periodId: string): Promise<SummaryRow | null> {
    const [row] = await this.dataSource.query(
      `SELECT currency, entries::text, spread_minor::text, breakage_kept_minor::text, adjustments_minor::text,
              funded_created_minor::text, funded_released_minor::text, gross_minor::text, net_minor::text, prefunded_minor::text
       FROM settlement_summary WHERE period_id = $1`,
      [periodId],
    );
    if (!row) return null;
    return {
      currency: row.currency,
      entries: BigInt(row.entries),
      spreadMinor: BigInt(row.spread_minor),
      breakageKeptMinor: BigInt(row.breakage_kept_minor),
      adjustmentsMinor: BigInt(row.adjustments_minor),
      fundedCreatedMinor: BigInt(row.funded_created_minor),
      fundedReleasedMinor: BigInt(row.funded_released_minor),
      grossMinor: BigInt(row.gross_minor),
      netMinor: BigInt(row.net_minor),
      prefundedMinor: BigInt(row.prefunded_minor),
    };
  }

  /** Positions of a closed period, by partner id, paginated. */
  async positions(periodId: string, page: Page, partnerId?: string | null): Promise<Connection<PositionRow>> {
    const after = readCursor(page.after, PARTNER_CURSOR);
    const partners: Array<{ partner_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT partner_id FROM settlement_total
       WHERE period_id = $1 AND ($2::text IS NULL OR partner_id > $2) AND ($3::text IS NULL OR partner_id = $3)
       ORDER BY partner_id LIMIT $4`,
      [periodId, after, partnerId ?? null, page.first + 1],
    );
    const ids = partners.map((row) => row.partner_id);
    const totals: Array<{ partner_id: string; kind: string; points: string; money_minor: string; lines: number }> =
      await this.dataSource.query(
        `SELECT partner_id, kind, points::text, money_minor::text, lines FROM settlement_total
       WHERE period_id = $1 AND partner_id = ANY($2::text[]) ORDER BY partner_id, kind`,
        [periodId, ids],
      );
    const positions = ids.map((id) => {
      const kinds = totals
        .filter((row) => row.partner_id === id)
        .map((row) => ({ kind: row.kind, points: BigInt(row.points), moneyMinor: BigInt(row.money_minor), lines: row.lines }));
      return { periodId, partnerId: id, kinds, netMinor: kinds.reduce((sum, kind) => sum + kind.moneyMinor, 0n) };
    });
    return toConnection(positions, page, (position) => position.partnerId);
  }

  async obligations(
    periodId: string,
    page: Page,
  ): Promise<Connection<{ issuer: string; consumer: string; points: bigint; fundedMinor: bigint }>> {
    const after = readCursor(page.after, PAIR_CURSOR);
    const [issuer, consumer] = after ? after.split('|') : [null, null];
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT issuer_partner_id, consumer_partner_id, points::text, funded_minor::text FROM settlement_obligation
       WHERE period_id = $1 AND ($2::text IS NULL OR (issuer_partner_id, consumer_partner_id) > ($2, $3))
       ORDER BY issuer_partner_id, consumer_partner_id LIMIT $4`,
      [periodId, issuer ?? null, consumer ?? null, page.first + 1],
    );
    const obligations = rows.map((row) => ({
      issuer: row.issuer_partner_id!,
      consumer: row.consumer_partner_id!,
      points: BigInt(row.points!),
      fundedMinor: BigInt(row.funded_minor!),
    }));
    return toConnection(obligations, page, (row) => `${row.issuer}|${row.consumer}`);
  }

  /** The pair view of the obligation matrix: for each pair of partners, what each owes the other (funded value) and the net. */
  async bilateral(
    periodId: string,
    page: Page,
  ): Promise<Connection<{ partyA: string; partyB: string; aToBMinor: bigint; bToAMinor: bigint; netMinor: bigint }>> {
    const after = readCursor(page.after, PAIR_CURSOR);
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT least(issuer_partner_id, consumer_partner_id) AS a, greatest(issuer_partner_id, consumer_partner_id) AS b,
              coalesce(sum(funded_minor) FILTER (WHERE issuer_partner_id < consumer_partner_id), 0)::text AS a_to_b,
              coalesce(sum(funded_minor) FILTER (WHERE issuer_partner_id > consumer_partner_id), 0)::text AS b_to_a
       FROM settlement_obligation WHERE period_id = $1 AND issuer_partner_id <> consumer_partner_id
       GROUP BY 1, 2 HAVING ($2::text IS NULL OR (least(issuer_partner_id, consumer_partner_id), greatest(issuer_partner_id, consumer_partner_id)) > ($2, $3))
       ORDER BY 1, 2 LIMIT $4`,
      [periodId, after?.split('|')[0] ?? null, after?.split('|')[1] ?? null, page.first + 1],
    );
    const pairs = rows.map((row) => {
      const aToB = BigInt(row.a_to_b!);
      const bToA = BigInt(row.b_to_a!);
      return { partyA: row.a!, partyB: row.b!, aToBMinor: aToB, bToAMinor: bToA, netMinor: aToB - bToA };
    });
    return toConnection(pairs, page, (pair) => `${pair.partyA}|${pair.partyB}`);
  }

  async transfers(
    periodId: string,
    page: Page,
  ): Promise<Connection<{ position: number; payer: string; payee: string; amountMinor: bigint }>> {
    const after = readCursor(page.after, NUMBER_CURSOR);
    const rows: Array<Record<string, string>> = await this.dataSource.query(
      `SELECT position, payer, payee, amount_minor::text FROM settlement_transfer
       WHERE period_id = $1 AND ($2::bigint IS NULL OR position > $2::bigint) ORDER BY position LIMIT $3`,
      [periodId, after, page.first + 1],
    );
    const transfers = rows.map((row) => ({
      position: Number(row.position),
      payer: row.payer!,
      payee: row.payee!,
      amountMinor: BigInt(row.amount_minor!),
    }));
    return toConnection(transfers, page, (row) => String(row.position));
  }

  /** Statements, newest period first; a partner sees only its own. */
  async statements(viewer: Viewer, filter: StatementFilter, page: Page): Promise<Connection<StatementRow>> {
    const partnerId = this.scopePartner(viewer, filter.partnerId);
    const after = readCursor(page.after, STATEMENT_CURSOR);
    const [period, partner] = after ? after.split('|') : [null, null];
    if (filter.periodId && !NUMBER_CURSOR.test(filter.periodId)) return toConnection([], page, () => '');
    const rows: StatementTableRow[] = await this.dataSource.query(
      `SELECT ${STATEMENT_COLUMNS} FROM statement
       WHERE ($1::text IS NULL OR partner_id = $1) AND ($2::bigint IS NULL OR period_id = $2::bigint) AND ($3::text IS NULL OR status = $3)
         AND ($4::bigint IS NULL OR (period_id, partner_id) < ($4::bigint, $5::text))
       ORDER BY period_id DESC, partner_id DESC LIMIT $6`,
      [partnerId, filter.periodId ?? null, filter.status ?? null, period ?? null, partner ?? null, page.first + 1],
    );
    return toConnection(rows.map(toStatement), page, (row) => `${row.periodId}|${row.partnerId}`);
  }

  async statement(viewer: Viewer, id: string): Promise<StatementRow | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const [row] = await this.dataSource.query(`SELECT ${STATEMENT_COLUMNS} FROM statement WHERE id = $1`, [id]);
    if (!row) return null;
    const statement = toStatement(row);
    // Another partner's statement does not exist, as far as a partner can tell.
    if (!isFinance(viewer) && (viewer.kind !== 'partner' || viewer.partnerId !== statement.partnerId)) return null;
    return statement;
  }

  /** A page of a statement's lines, numbered from 1 (the same numbers as the export and the signed digest). */
  async lines(statement: StatementRow, page: Page): Promise<Connection<StatementLine>> {
    const after = readCursor(page.after, NUMBER_CURSOR) ?? '0';
    const rows: Array<LineRow & { line_no: string }> = await this.dataSource.query(
      `SELECT line_no::text, partner_id, seq::text, entry_id, recorded_at, kind, points::text, price, money_minor::text, order_ref, reference
       FROM settlement_line WHERE period_id = $1 AND partner_id = $2 AND line_no > $3::bigint ORDER BY line_no LIMIT $4`,
      [statement.periodId, statement.partnerId, after, page.first + 1],
    );
    return toConnection(
      rows.map((row) => toLine(row, BigInt(row.line_no))),
      page,
      (line) => line.line,
    );
  }

  private scopePartner(viewer: Viewer, asked: string | null | undefined): string | null {
    if (isFinance(viewer)) return asked ?? null;
    if (viewer.kind !== 'partner') throw forbidden('only finance, operators and partners read statements');
    if (asked && asked !== viewer.partnerId) throw forbidden('a partner reads its own statements only');
    return viewer.partnerId;
  }
}
