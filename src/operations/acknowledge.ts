import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { ErrorCode, fail, isDomainError, type DomainError } from '../common/errors';
import type { AcknowledgeClaims } from '../common/claims';
import { STATEMENT_COLUMNS, toStatement, type StatementRow, type StatementTableRow } from '../settlement/statement.service';

/** What a statement instruction (acknowledge, dispute) answers. */
export interface StatementActionResult {
  statementId: string;
  digest: string;
  status: StatementRow['status'];
  /** Statement instructions concern no member. */
  memberId: null;
  disputeId?: string;
  lines?: string[];
}

export interface StatementContext {
  partnerId: string;
  now: Date;
}

/** The partner's own statement, locked; or why the instruction cannot act on it. */
export async function lockStatement(
  tx: EntityManager,
  partnerId: string,
  claims: { statement: string; digest: string },
): Promise<StatementRow | DomainError<ErrorCode.STATEMENT_NOT_FOUND | ErrorCode.STATEMENT_DIGEST_MISMATCH>> {
  const [row]: StatementTableRow[] = await tx.query(
    `SELECT ${STATEMENT_COLUMNS} FROM statement WHERE id = $1 AND partner_id = $2 FOR UPDATE`,
    [claims.statement, partnerId],
  );
  if (!row) return fail(ErrorCode.STATEMENT_NOT_FOUND, `partner ${partnerId} has no statement ${claims.statement}`);
  const statement = toStatement(row);
  if (statement.digest !== claims.digest) {
    return fail(
      ErrorCode.STATEMENT_DIGEST_MISMATCH,
      `statement ${statement.id} has digest ${statement.digest}; the instruction signed ${claims.digest}`,
    );
  }
  return statement;
}

/**
 * Acknowledgement (docs/settlement.md, "Statements"): the partner acknowledges with its own JWS over the statement's digest. The
 * signed instruction is kept on the statement: the hub can prove what the partner accepted, as
 * the partner can prove what the hub signed.
 */
export async function acknowledgeStatement(
  tx: EntityManager,
  context: StatementContext,
  claims: AcknowledgeClaims,
): Promise<StatementActionResult | OpError<'acknowledge'>> {
  const statement = await lockStatement(tx, context.partnerId, claims);
  if (isDomainError(statement)) return statement;
  if (statement.status !== 'issued') {
    return fail(
      ErrorCode.STATEMENT_STATUS_CONFLICT,
      `statement ${statement.id} is ${statement.status}; only an issued statement is acknowledged`,
    );
  }
  await tx.query(
    `UPDATE statement SET status = 'acknowledged', acknowledged_at = $3,
       acknowledgement_jws = (SELECT request_jws FROM instruction WHERE partner_id = $2 AND jti = $4)
     WHERE id = $1`,
    [statement.id, context.partnerId, context.now, claims.jti],
  );
  return { statementId: statement.id, digest: statement.digest, status: 'acknowledged', memberId: null };
}
