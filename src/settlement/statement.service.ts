import {
  STATEMENT_TYP,
  StatementDigest,
  type StatementHeader,
  type StatementKindTotal,
  type StatementLine,
  type StatementTotals,
} from '@coalition-hub/partner-sdk';
import { recordEvent } from '../outbox/outbox';
import type { DataSource, EntityManager } from 'typeorm';
import { newId } from '../common/ids';
import type { Clock } from '../common/clock';
import type { HubKeys } from '../hub-keys/hub-keys';
import { PERIOD_LINES_SQL, PERIOD_QUERY_SETTINGS, STORED_PARTNER_LINES_SQL, type LineRow } from './lines';
import { PERIOD_COLUMNS, toPeriod, type PeriodRow } from './period';

/** Lines fetched per round trip when a statement streams. */
const FETCH_SIZE = 2000;

export interface StatementRow {
  id: string;
  periodId: string;
  partnerId: string;
  currency: string;
  lineCount: bigint;
  netMinor: bigint;
  digest: string;
  jws: string;
  issuedAt: Date;
  status: 'issued' | 'acknowledged' | 'disputed' | 'resolved';
  acknowledgementJws: string | null;
  acknowledgedAt: Date | null;
}

export const STATEMENT_COLUMNS =
  'id, period_id::text, partner_id, currency, line_count::text, net_minor::text, digest, jws, issued_at, status, acknowledgement_jws, acknowledged_at';

/** A `statement` row as STATEMENT_COLUMNS selects it. */
export interface StatementTableRow {
  id: string;
  period_id: string;
  partner_id: string;
  currency: string;
  line_count: string;
  net_minor: string;
  digest: string;
  jws: string;
  issued_at: Date;
  status: StatementRow['status'];
  acknowledgement_jws: string | null;
  acknowledged_at: Date | null;
}

export function toStatement(row: StatementTableRow): StatementRow {
  return {
    id: row.id,
    periodId: row.period_id,
    partnerId: row.partner_id,
    currency: row.currency,
    lineCount: BigInt(row.line_count),
    netMinor: BigInt(row.net_minor),
    digest: row.digest,
    jws: row.jws,
    issuedAt: row.issued_at,
    status: row.status,
    acknowledgementJws: row.acknowledgement_jws,
    acknowledgedAt: row.acknowledged_at,
  };
}

export function toLine(row: LineRow, number: bigint): StatementLine {
  return {
    line: number.toString(),
    entry: row.entry_id,
    seq: row.seq,
    recordedAt: new Date(row.recorded_at).toISOString(),
    kind: row.kind,
    points: row.points,
    price: row.price === null ? null : normaliseDecimal(row.price),
    moneyMinor: row.money_minor,
    orderRef: row.order_ref,
    reference: row.reference,
  };
}

/** numeric(24,12) prints trailing zeros; a statement shows the shortest exact form. */
function normaliseDecimal(text: string): string {
  if (!text.includes('.')) return text;
  const trimmed = text.replace(/0+$/, '');
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

/** Running totals as lines stream past. */
export class TotalsBuilder {
  private count = 0n;
  private net = 0n;
  private readonly kinds = new Map<string, { lines: bigint; points: bigint; money: bigint }>();

  add(line: StatementLine): void {
    this.count += 1n;
    this.net += BigInt(line.moneyMinor);
    const kind = this.kinds.get(line.kind) ?? { lines: 0n, points: 0n, money: 0n };
    kind.lines += 1n;
    kind.points += BigInt(line.points);
    kind.money += BigInt(line.moneyMinor);
    this.kinds.set(line.kind, kind);
  }

  totals(): StatementTotals {
    const byKind: Record<string, StatementKindTotal> = {};
    for (const [kind, total] of [...this.kinds].sort(([a], [b]) => (a < b ? -1 : 1))) {
      byKind[kind] = { lines: total.lines.toString(), points: total.points.toString(), moneyMinor: total.money.toString() };
    }
    return { lines: this.count.toString(), byKind, netMinor: this.net.toString() };
  }
}

/**
 * Statements (docs/settlement.md, "Statements"): one per partner with lines in a closed period, signed by the hub
 * over the digest of its canonical form. Lines are the ones the close stored (settlement_line),
 * read back in order through a cursor, so a statement of any size streams in flat memory.
 */
export class StatementService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hubKeys: HubKeys,
    private readonly clock: Clock,
    private readonly hubId: string,
  ) {}

  /** Inside the close's transaction: a statement for every partner with lines in the period. */
  async issueAll(tx: EntityManager, period: PeriodRow, currency: string): Promise<void> {
    const partners: Array<{ partner_id: string }> = await tx.query(
      'SELECT DISTINCT partner_id FROM settlement_total WHERE period_id = $1 ORDER BY partner_id',
      [period.id],
    );
    for (const { partner_id: partnerId } of partners) {
      const header = statementHeader(this.hubId, newId(), period, partnerId, currency);
      const digest = new StatementDigest().header(header);
      const totals = new TotalsBuilder();
      await streamLines(
        tx,
        period.id,
        partnerId,
        (line) => {
          digest.line(line);
          totals.add(line);
        },
        STORED_PARTNER_LINES_SQL,
      );
      const summed = totals.totals();
      const hex = digest.totals(summed).digest();
      const jws = await this.hubKeys.sign(STATEMENT_TYP, partnerId, {
        statementId: header.statementId,
        partner: partnerId,
        period: period.id,
        currency,
        lines: summed.lines,
        netMinor: summed.netMinor,
        digest: hex,
      });
      await tx.query(
        `INSERT INTO statement (id, period_id, partner_id, currency, line_count, net_minor, digest, jws, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [header.statementId, period.id, partnerId, currency, summed.lines, summed.netMinor, hex, jws, this.clock.now()],
      );
      await recordEvent(tx, {
        type: 'statement.issued',
        partnerId,
        memberId: null,
        occurredAt: this.clock.now(),
        data: {
          statementId: header.statementId,
          periodId: period.id,
          currency,
          lineCount: String(summed.lines),
          netMinor: String(summed.netMinor),
          digest: hex,
        },
      });
    }
  }

  /**
   * The statement's header, each line in order, then its totals: as the close stored them, or
   * (`recompute`, for the reconciliation) recomputed from the ledger.
   */
  async stream(
    statement: StatementRow,
    sink: {
      header(header: StatementHeader): void | Promise<void>;
      line(line: StatementLine): void | Promise<void>;
      totals(totals: StatementTotals): void | Promise<void>;
    },
    options: { recompute?: boolean } = {},
  ): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // REPEATABLE READ: one snapshot for the whole read (the period's lines never change anyway).
      await runner.startTransaction('REPEATABLE READ');
      for (const setting of PERIOD_QUERY_SETTINGS) await runner.query(setting);
      const [periodRow] = await runner.manager.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE id = $1`, [statement.periodId]);
      await sink.header(statementHeader(this.hubId, statement.id, toPeriod(periodRow), statement.partnerId, statement.currency));
      const totals = new TotalsBuilder();
      await streamLines(
        runner.manager,
        statement.periodId,
        statement.partnerId,
        async (line) => {
          totals.add(line);
          await sink.line(line);
        },
        options.recompute ? PERIOD_LINES_SQL : STORED_PARTNER_LINES_SQL,
      );
      await sink.totals(totals.totals());
      await runner.commitTransaction();
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}

export function statementHeader(
  hubId: string,
  statementId: string,
  period: PeriodRow,
  partnerId: string,
  currency: string,
): StatementHeader {
  return {
    format: 'coalition-statement/1',
    statementId,
    hub: hubId,
    partner: partnerId,
    period: period.id,
    periodStart: period.startsAt.toISOString(),
    cutoff: period.cutoffAt!.toISOString(),
    currency,
  };
}

/** Reads a partner's lines of a period through a cursor, in order, numbering them from 1. Needs a transaction. */
export async function streamLines(
  tx: EntityManager,
  periodId: string,
  partnerId: string,
  onLine: (line: StatementLine) => void | Promise<void>,
  source: string = PERIOD_LINES_SQL,
): Promise<void> {
  const cursor = `statement_lines_${Math.random().toString(36).slice(2, 10)}`;
  await tx.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${source}`, [periodId, partnerId]);
  let number = 0n;
  for (;;) {
    const rows: LineRow[] = await tx.query(`FETCH ${FETCH_SIZE} FROM ${cursor}`);
    for (const row of rows) {
      number += 1n;
      await onLine(toLine(row, number));
    }
    if (rows.length < FETCH_SIZE) break;
  }
  await tx.query(`CLOSE ${cursor}`);
}
