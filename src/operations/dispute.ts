import type { DataSource, EntityManager } from 'typeorm';
import type { Viewer } from '../common/viewer';
import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import { forbidden } from '../common/auth-errors';
import type { Clock } from '../common/clock';
import { ErrorCode, fail, InvalidCursor, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { limits } from '../config/limits';
import { withTransaction } from '../db/with-transaction';
import { queryRows } from '../db/sql';
import { recordEvent } from '../outbox/outbox';
import type { DisputeClaims } from '../common/claims';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { ensureAccount, HUB_OWNER } from '../ledger/ledger.repository';
import { postEntry } from '../ledger/kernel';
import { assert } from '../common/assert';
import { lockStatement, type StatementActionResult, type StatementContext } from './acknowledge';

export type { StatementActionResult } from './acknowledge';

/** opened_at as PostgreSQL prints it, then the dispute id. */
const DISPUTE_CURSOR =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}(:[0-9]{2})?\|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A timestamp that names a real moment (the shape alone lets 2024-13-45 through). */
function realTimestamp(text: string): boolean {
  const iso = `${text.slice(0, 10)}T${text.slice(11, 19)}Z`;
  const parsed = new Date(iso);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === iso.slice(0, 19);
}

export interface DisputeRow {
  id: string;
  statementId: string;
  partnerId: string;
  jti: string;
  lines: string[];
  reason: string;
  openedAt: Date;
  status: 'open' | 'resolved';
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
  adjustmentEntryId: string | null;
}

const DISPUTE_COLUMNS = `id, statement_id, partner_id, jti, line_numbers::text[] AS lines, reason, opened_at, status, resolved_at, resolved_by,
  resolution_note, adjustment_entry_id`;

/** A `statement_dispute` row as DISPUTE_COLUMNS selects it. */
interface DisputeTableRow {
  id: string;
  statement_id: string;
  partner_id: string;
  jti: string;
  lines: string[];
  reason: string;
  opened_at: Date;
  status: 'open' | 'resolved';
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
  adjustment_entry_id: string | null;
}

function toDispute(row: DisputeTableRow): DisputeRow {
  return {
    id: row.id,
    statementId: row.statement_id,
    partnerId: row.partner_id,
    jti: row.jti,
    lines: row.lines,
    reason: row.reason,
    openedAt: row.opened_at,
    status: row.status,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
    adjustmentEntryId: row.adjustment_entry_id,
  };
}

/** Disputes named lines of an issued (or already disputed, or resolved) statement. */
export async function disputeStatement(
  tx: EntityManager,
  context: StatementContext,
  claims: DisputeClaims,
): Promise<StatementActionResult | OpError<'dispute'>> {
  const statement = await lockStatement(tx, context.partnerId, claims);
  if (isDomainError(statement)) return statement;
  if (statement.status === 'acknowledged') {
    return fail(ErrorCode.STATEMENT_STATUS_CONFLICT, `statement ${statement.id} was acknowledged; it can no longer be disputed`);
  }
  const beyond = claims.lines.find((line) => line > statement.lineCount);
  if (beyond !== undefined) {
    return fail(ErrorCode.INVALID_INSTRUCTION, `claim lines: statement ${statement.id} has ${statement.lineCount} lines, not ${beyond}`, {
      claim: 'lines',
    });
  }
  const disputeId = newId();
  const lines = claims.lines.map(String);
  await tx.query(
    `INSERT INTO statement_dispute (id, statement_id, partner_id, jti, line_numbers, reason, opened_at) VALUES ($1, $2, $3, $4, $5::bigint[], $6, $7)`,
    [disputeId, statement.id, context.partnerId, claims.jti, lines, claims.reason, context.now],
  );
  await tx.query(`UPDATE statement SET status = 'disputed' WHERE id = $1`, [statement.id]);
  return { statementId: statement.id, digest: statement.digest, status: 'disputed', memberId: null, disputeId, lines };
}

/**
 * Finance resolves a dispute (docs/settlement.md, "Statements") with an adjustment entry in the open period that
 * references it: money in the settlement currency between the partner's and the hub's
 * settlement accounts (positive: the partner owes the hub more). Zero closes it without money.
 */
export class DisputeService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly counterShards: number,
  ) {}

  async resolve(disputeId: string, adjustmentMinor: bigint, note: string, resolvedBy: string): Promise<DisputeRow | OpError<'resolve'>> {
    if (!UUID_PATTERN.test(disputeId)) return fail(ErrorCode.DISPUTE_NOT_FOUND, `there is no dispute ${disputeId}`);
    const bound = limits.amountMax;
    if (adjustmentMinor > bound || adjustmentMinor < -bound)
      return fail(ErrorCode.INVALID_INPUT, `an adjustment is at most ${bound} minor units either way`);
    if (note.trim() === '' || note.length > 2000) return fail(ErrorCode.INVALID_INPUT, 'say how it was resolved (1 to 2000 characters)');
    return withTransaction(this.dataSource, async (tx) => {
      // The statement first (as a new dispute of it locks it), then the dispute: concurrent resolutions of
      // one statement's disputes, and a new dispute racing a resolution, are decided one after the other.
      await tx.query('SELECT 1 FROM statement WHERE id = (SELECT statement_id FROM statement_dispute WHERE id = $1) FOR UPDATE', [
        disputeId,
      ]);
      const [row]: DisputeTableRow[] = await tx.query(`SELECT ${DISPUTE_COLUMNS} FROM statement_dispute WHERE id = $1 FOR UPDATE`, [
        disputeId,
      ]);
      if (!row) return fail(ErrorCode.DISPUTE_NOT_FOUND, `there is no dispute ${disputeId}`);
      const dispute = toDispute(row);
      if (dispute.status === 'resolved')
        return fail(ErrorCode.DISPUTE_ALREADY_RESOLVED, `dispute ${disputeId} was resolved at ${dispute.resolvedAt?.toISOString()}`);
      const now = this.clock.now();
      const entryId = adjustmentMinor === 0n ? null : await this.adjust(tx, dispute, adjustmentMinor, now);
      await tx.query(
        `UPDATE statement_dispute SET status = 'resolved', resolved_at = $2, resolved_by = $3, resolution_note = $4, adjustment_entry_id = $5 WHERE id = $1`,
        [disputeId, now, resolvedBy, note, entryId],
      );
      const [statement] = await queryRows(
        tx,
        `UPDATE statement SET status = 'resolved' WHERE id = $1 AND status = 'disputed'
           AND NOT EXISTS (SELECT 1 FROM statement_dispute WHERE statement_id = $1 AND status = 'open') RETURNING status`,
        [dispute.statementId],
      );
      await recordEvent(tx, {
        type: 'statement.resolved',
        partnerId: dispute.partnerId,
        memberId: null,
        occurredAt: now,
        data: {
          statementId: dispute.statementId,
          disputeId,
          adjustmentMinor: adjustmentMinor.toString(),
          adjustmentEntryId: entryId,
          statementStatus: statement ? 'resolved' : 'disputed',
        },
      });
      return { ...dispute, status: 'resolved' as const, resolvedAt: now, resolvedBy, resolutionNote: note, adjustmentEntryId: entryId };
    });
  }

  private async adjust(tx: EntityManager, dispute: DisputeRow, amount: bigint, now: Date): Promise<string> {
    const [{ currency }] = await tx.query('SELECT currency FROM statement WHERE id = $1', [dispute.statementId]);
    const partnerAccount = await ensureAccount(tx, 'partner', dispute.partnerId, currency, 'settlement');
    const hubAccount = await ensureAccount(tx, 'hub', HUB_OWNER, currency, 'settlement');
    const entryId = newId();
    const posted = await postEntry(tx, {
      id: entryId,
      type: 'adjustment',
      partnerId: dispute.partnerId,
      jti: null,
      memberId: null,
      orderRef: null,
      occurredAt: now,
      recordedAt: now,
      requestHash: null,
      rates: { currency, statementId: dispute.statementId },
      disputeId: dispute.id,
      postings: [
        { accountId: partnerAccount.id, asset: currency, amount, floored: false },
        { accountId: hubAccount.id, asset: currency, amount: -amount, floored: false },
      ],
      counterShards: this.counterShards,
    });
    // Settlement accounts have no floor, so nothing can refuse an adjustment.
    assert(!isDomainError(posted), `adjustment ${entryId} was refused`);
    return entryId;
  }

  /** Disputes, newest first: finance sees all (optionally of one statement or status), a partner its own. */
  async disputes(
    viewer: Viewer,
    filter: { statementId?: string | null; status?: 'open' | 'resolved' | null },
    page: Page,
  ): Promise<Connection<DisputeRow>> {
    let partnerId: string | null = null;
    if (viewer.kind === 'partner') partnerId = viewer.partnerId;
    else if (viewer.kind !== 'operator') throw forbidden('only finance, operators and partners read disputes');
    const after = readCursor(page.after, DISPUTE_CURSOR);
    const [openedAt, id] = after ? after.split('|') : [null, null];
    if (openedAt && !realTimestamp(openedAt)) throw new InvalidCursor();
    if (filter.statementId && !UUID_PATTERN.test(filter.statementId)) return toConnection([], page, () => '');
    const rows: Array<DisputeTableRow & { sort_key: string }> = await this.dataSource.query(
      `SELECT ${DISPUTE_COLUMNS}, opened_at::text || '|' || id AS sort_key FROM statement_dispute
       WHERE ($1::text IS NULL OR partner_id = $1) AND ($2::uuid IS NULL OR statement_id = $2::uuid) AND ($3::text IS NULL OR status = $3)
         AND ($4::timestamptz IS NULL OR (opened_at, id) < ($4::timestamptz, $5::uuid))
       ORDER BY opened_at DESC, id DESC LIMIT $6`,
      [partnerId, filter.statementId ?? null, filter.status ?? null, openedAt ?? null, id ?? null, page.first + 1],
    );
    return toConnection(
      rows.map((row) => ({ ...toDispute(row), sortKey: row.sort_key })),
      page,
      (row) => row.sortKey,
    );
  }
}
