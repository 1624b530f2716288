import { sumBigints } from '../common/bigint';
import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { withTransaction } from '../db/with-transaction';
import type { PeriodCalendar } from './calendar';
import {
  PERIOD_QUERY_SETTINGS,
  PERIOD_FUNDING_SQL,
  PERIOD_OBLIGATIONS_SQL,
  PERIOD_TOTALS_SQL,
  STORE_LINES_SQL,
  STORED_TOTALS_SQL,
} from './lines';
import { settle, type SettlementTransfer } from './netting';
import type { StatementService } from './statement.service';
import { releaseClosedExposure } from './funding.service';
import { assert } from '../common/assert';
import { PERIOD_COLUMNS, toPeriod, type PeriodRow } from './period';

/** Two-int advisory keys (apart from the one-bigint keys of the other jobs). The stamp trigger takes CUTOFF shared. */
const CUTOFF_LOCK = [7301, 5] as const;
const COMPUTE_LOCK = [7301, 6] as const;
/** The hub as a netting participant. */
export const HUB_PARTICIPANT = 'HUB';

/** What one scheduled run did: the periods it closed itself, and whether it stopped because another close holds the lock. */
export interface ScheduledCloseRun {
  closed: PeriodRow[];
  skipped: boolean;
}

/** Another close (another run, another instance, or finance) is computing: a scheduled run does not wait for it. */
const BUSY = Symbol('busy');

/**
 * Settlement periods (docs/settlement.md, "Periods and the close"). There is always exactly one open period;
 * every journal entry is stamped with it. Closing is two steps, each one transaction:
 *
 * 1. **Cut-off** — under the exclusive advisory lock every writer holds shared, so it waits
 *    for entries already on their way and then stops the period taking more: the period turns
 *    `closing` and the next one opens. It holds writers back for milliseconds only.
 * 2. **Compute** — totals, obligations, netting transfers and signed statements, written
 *    once; the period turns `closed` and never changes again (a trigger refuses it).
 *
 * Both steps are idempotent: closing a closed period returns it as it is, and a close cut off
 * by a crash is finished by the next close or the scheduled job. Two instances closing at once
 * serialise on the locks and produce one result.
 */
export class SettlementService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly calendar: PeriodCalendar,
    private readonly currency: string,
    private readonly statements: StatementService,
    private readonly counterShards: number,
  ) {}

  /** The open period's scheduled end follows the configured calendar (it may have changed since the period opened). */
  async alignSchedule(): Promise<void> {
    await withTransaction(this.dataSource, async (tx) => {
      const [open] = await tx.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE status = 'open' FOR UPDATE`);
      const period = toPeriod(open);
      const end = this.calendar.nextBoundary(period.startsAt);
      if (end.getTime() !== period.endsAt.getTime())
        await tx.query('UPDATE settlement_period SET ends_at = $2 WHERE id = $1', [period.id, end]);
    });
  }

  async openPeriod(): Promise<PeriodRow> {
    const [row] = await this.dataSource.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE status = 'open'`);
    return toPeriod(row);
  }

  /** Closes `periodId` (by `closedBy`, a finance or operator subject, or `scheduler`); waits for a close in progress. */
  async close(periodId: string, closedBy: string): Promise<PeriodRow | OpError<'closePeriod'>> {
    const cut = await this.cutOff(periodId, closedBy);
    if (isDomainError(cut)) return cut;
    const computed = await this.compute(periodId, 'wait');
    assert(computed !== BUSY, 'a close that waits for the lock is never busy');
    return isDomainError(computed) ? computed : computed.period;
  }

  /** The periods the scheduled job closed in one run (see runDue). */
  async closeDue(): Promise<PeriodRow[]> {
    return (await this.runDue()).closed;
  }

  /**
   * One scheduled run: finishes any close a crash interrupted, then closes the open period if
   * its end has passed. It never waits for the compute lock: when another close holds it, the
   * run stops (`skipped`) and a later one carries on, so runs cannot pile up on connections.
   * `closed` holds only the periods this run turned `closed`, so each close is reported once.
   */
  async runDue(): Promise<ScheduledCloseRun> {
    const closed: PeriodRow[] = [];
    const unfinished: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id::text FROM settlement_period WHERE status = 'closing' ORDER BY id`,
    );
    for (const { id } of unfinished) {
      const computed = await this.compute(id, 'try');
      if (computed === BUSY) return { closed, skipped: true };
      if (!isDomainError(computed) && computed.closedNow) closed.push(computed.period);
    }
    const open = await this.openPeriod();
    if (open.endsAt.getTime() <= this.clock.now().getTime()) {
      const cut = await this.cutOff(open.id, 'scheduler');
      if (isDomainError(cut)) return { closed, skipped: false };
      const computed = await this.compute(open.id, 'try');
      if (computed === BUSY) return { closed, skipped: true };
      if (!isDomainError(computed) && computed.closedNow) closed.push(computed.period);
    }
    return { closed, skipped: false };
  }

  private async cutOff(periodId: string, closedBy: string): Promise<PeriodRow | OpError<'closePeriod'>> {
    return withTransaction(this.dataSource, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...CUTOFF_LOCK]);
      const [row] = await tx.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE id = $1 FOR UPDATE`, [periodId]);
      if (!row) return fail(ErrorCode.NOT_FOUND, `there is no settlement period ${periodId}`);
      const period = toPeriod(row);
      if (period.status !== 'open') return period;
      const now = this.clock.now();
      await tx.query(`UPDATE settlement_period SET status = 'closing', cutoff_at = $2, closed_by = $3 WHERE id = $1`, [
        periodId,
        now,
        closedBy,
      ]);
      await tx.query('INSERT INTO settlement_period (starts_at, ends_at) VALUES ($1, $2)', [now, this.calendar.nextBoundary(now)]);
      return { ...period, status: 'closing' as const, cutoffAt: now, closedBy };
    });
  }

  /** `try`: when another close holds the compute lock, return BUSY at once (nothing written) instead of waiting. */
  private async compute(
    periodId: string,
    lock: 'wait' | 'try',
  ): Promise<{ period: PeriodRow; closedNow: boolean } | OpError<'closePeriod'> | typeof BUSY> {
    return withTransaction(this.dataSource, async (tx) => {
      if (lock === 'wait') await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...COMPUTE_LOCK]);
      else {
        const [{ locked }] = await tx.query('SELECT pg_try_advisory_xact_lock($1, $2) AS locked', [...COMPUTE_LOCK]);
        if (!locked) return BUSY;
      }
      for (const setting of PERIOD_QUERY_SETTINGS) await tx.query(setting);
      const [row] = await tx.query(`SELECT ${PERIOD_COLUMNS} FROM settlement_period WHERE id = $1 FOR UPDATE`, [periodId]);
      if (!row) return fail(ErrorCode.NOT_FOUND, `there is no settlement period ${periodId}`);
      const period = toPeriod(row);
      if (period.status === 'closed') return { period, closedNow: false };
      if (period.status === 'open') return fail(ErrorCode.INVALID_INPUT, `settlement period ${periodId} is still open`);
      await tx.query(STORE_LINES_SQL, [periodId, null]);
      const figures = await computeFigures(tx, periodId, STORED_TOTALS_SQL);
      await this.store(tx, periodId, figures);
      await this.statements.issueAll(tx, period, this.currency);
      const closedAt = this.clock.now();
      await releaseClosedExposure(tx, periodId, figures.positions, closedAt, this.counterShards);
      await tx.query(`UPDATE settlement_period SET status = 'closed', closed_at = $2 WHERE id = $1`, [periodId, closedAt]);
      return { period: { ...period, status: 'closed' as const, closedAt }, closedNow: true };
    });
  }

  private async store(tx: EntityManager, periodId: string, figures: PeriodFigures): Promise<void> {
    for (const total of figures.totals) {
      await tx.query(
        'INSERT INTO settlement_total (period_id, partner_id, kind, points, money_minor, lines) VALUES ($1, $2, $3, $4, $5, $6)',
        [periodId, total.partnerId, total.kind, total.points.toString(), total.moneyMinor.toString(), total.lines],
      );
    }
    for (const obligation of figures.obligations) {
      await tx.query(
        'INSERT INTO settlement_obligation (period_id, issuer_partner_id, consumer_partner_id, points, funded_minor) VALUES ($1, $2, $3, $4, $5)',
        [periodId, obligation.issuer, obligation.consumer, obligation.points.toString(), obligation.fundedMinor.toString()],
      );
    }
    for (const [position, transfer] of figures.transfers.entries()) {
      await tx.query('INSERT INTO settlement_transfer (period_id, position, payer, payee, amount_minor) VALUES ($1, $2, $3, $4, $5)', [
        periodId,
        position + 1,
        transfer.payer,
        transfer.payee,
        transfer.amountMinor.toString(),
      ]);
    }
    const hub = figures.hub;
    await tx.query(
      `INSERT INTO settlement_summary (period_id, currency, entries, spread_minor, breakage_kept_minor, adjustments_minor,
         funded_created_minor, funded_released_minor, gross_minor, net_minor, prefunded_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        periodId,
        this.currency,
        figures.entries.toString(),
        hub.spreadMinor.toString(),
        hub.breakageKeptMinor.toString(),
        hub.adjustmentsMinor.toString(),
        hub.fundedCreatedMinor.toString(),
        hub.fundedReleasedMinor.toString(),
        figures.grossMinor.toString(),
        figures.netMinor.toString(),
        hub.prefundedMinor.toString(),
      ],
    );
  }
}

export interface KindTotal {
  partnerId: string;
  kind: string;
  points: bigint;
  moneyMinor: bigint;
  lines: number;
}

export interface Obligation {
  issuer: string;
  consumer: string;
  points: bigint;
  fundedMinor: bigint;
}

export interface HubFigures {
  /** Funded value of points consumed at partners less what the hub paid those partners for them. */
  spreadMinor: bigint;
  /** Funded value of expired points less the issuers' breakage shares. */
  breakageKeptMinor: bigint;
  /** What dispute adjustments moved to the hub (negative: from it). */
  adjustmentsMinor: bigint;
  fundedCreatedMinor: bigint;
  fundedReleasedMinor: bigint;
  /** Issue money prepaid partners paid in advance (drawn from their prepaid balances): not settled again. */
  prefundedMinor: bigint;
}

export interface PeriodFigures {
  entries: bigint;
  totals: KindTotal[];
  obligations: Obligation[];
  /** Per partner: what it owes the hub (negative: is owed). */
  positions: Map<string, bigint>;
  transfers: SettlementTransfer[];
  hub: HubFigures;
  grossMinor: bigint;
  netMinor: bigint;
}

/**
 * Everything a close stores, recomputed from the ledger: the same function serves the close and
 * the reconciliation (which compares it with what was stored).
 */
export async function computeFigures(manager: EntityManager | DataSource, periodId: string, totalsFrom?: string): Promise<PeriodFigures> {
  const totalRows: Array<{ partner_id: string; kind: string; lines: number; points: string; money_minor: string }> = totalsFrom
    ? await manager.query(totalsFrom, [periodId])
    : await manager.query(PERIOD_TOTALS_SQL, [periodId, null]);
  const totals = totalRows.map((row) => ({
    partnerId: row.partner_id,
    kind: row.kind,
    lines: row.lines,
    points: BigInt(row.points),
    moneyMinor: BigInt(row.money_minor),
  }));
  const obligationRows: Array<{ issuer_partner_id: string; consumer_partner_id: string; points: string; funded_minor: string }> =
    await manager.query(PERIOD_OBLIGATIONS_SQL, [periodId]);
  const [funding]: Array<{ created_minor: string; consumed_minor: string; expired_minor: string; refunded_minor: string }> =
    await manager.query(PERIOD_FUNDING_SQL, [periodId]);
  const [{ entries }] = await manager.query('SELECT count(*)::text AS entries FROM journal_entry WHERE period_id = $1', [periodId]);

  const positions = new Map<string, bigint>();
  for (const total of totals) positions.set(total.partnerId, (positions.get(total.partnerId) ?? 0n) + total.moneyMinor);
  const byKind = (kinds: string[]) => sumBigints(totals.filter((total) => kinds.includes(total.kind)).map((total) => total.moneyMinor));
  const hub: HubFigures = {
    // Redeem, exchange-out, redeem-reversal and reward lines are negative: what the hub pays (reward refunds give it back).
    spreadMinor: BigInt(funding!.consumed_minor) + byKind(['redeem', 'exchange_out', 'redeem_reversal', 'reward', 'reward_refund']),
    breakageKeptMinor: BigInt(funding!.expired_minor) + byKind(['breakage']),
    adjustmentsMinor: byKind(['adjustment']),
    fundedCreatedMinor: BigInt(funding!.created_minor),
    fundedReleasedMinor: BigInt(funding!.consumed_minor) + BigInt(funding!.expired_minor) + BigInt(funding!.refunded_minor),
    prefundedMinor: -byKind(['prefunded']),
  };
  const participants = new Map([...positions].filter(([, value]) => value !== 0n));
  const hubPosition = -sumBigints(participants.values());
  if (hubPosition !== 0n) participants.set(HUB_PARTICIPANT, hubPosition);
  const transfers = settle(participants);
  return {
    entries: BigInt(entries),
    totals,
    obligations: obligationRows.map((row) => ({
      issuer: row.issuer_partner_id,
      consumer: row.consumer_partner_id,
      points: BigInt(row.points),
      fundedMinor: BigInt(row.funded_minor),
    })),
    positions,
    transfers,
    hub,
    // Without netting every partner would pay each kind of line it owes and be paid each it is owed.
    grossMinor: sumBigints(totals.map((total) => (total.moneyMinor < 0n ? -total.moneyMinor : total.moneyMinor))),
    netMinor: sumBigints(transfers.map((transfer) => transfer.amountMinor)),
  };
}
