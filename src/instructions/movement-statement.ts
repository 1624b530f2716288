import type { DataSource, EntityManager } from 'typeorm';
import type { MovementClaims } from '../common/claims';
import { ErrorCode, fail, type DomainError } from '../common/errors';
import { newId } from '../common/ids';
import { limits } from '../config/limits';
import { isRetryable } from '../db/with-transaction';
import { insufficientBalance } from '../ledger/kernel';
import { CP } from '../ledger/ledger.repository';
import type { TierService } from '../members/tiers';
import type { MovementResult } from '../operations/context';
import type { AcceptedData } from '../operations/registry';

/**
 * A CP issue or redemption in one database statement (docs/ledger.md, "One statement per
 * instruction"): the function `apply_cp_movement` (migration 1732730000000) claims the jti, writes
 * the entry with its postings, lots, earned day, result and events, and commits on its own. The
 * TypeScript operations (src/operations/issue.ts, redeem.ts) stay the reference: the function is
 * tested against them (test/e2e/movement-function.e2e.test.ts), and everything it does not do
 * (a partner's own unit, a tier multiplier, a prepaid or capped partner's issue, members on
 * sandbox test clocks) goes the TypeScript way.
 */

/** Whether a movement can take the one-statement path at all (the function may still hand it back: `needsOperation`). */
export const inOneStatement = (claims: MovementClaims, testClocks: boolean): boolean =>
  !testClocks && claims.asset === CP && !claims.applyTierMultiplier;

/** What the function answers: the new result, or the instruction stored under this jti before. */
export type MovementOutcome =
  | { replay: false; result: AcceptedData }
  | { replay: true; op: string; requestHash: string; receipt: string | null; result: AcceptedData; receivedAt: string };

/** Its refusals (written nothing): unknown member, insufficient balance, or "apply it through the operation". */
type Refusal = { refusal: 'CH001' } | { refusal: 'CH002'; available: string } | { refusal: 'CH009' };

/** The function could not do this one (a funding limit to draw on): nothing was written; apply it through the operation. */
export const needsOperation = Symbol('needsOperation');

export type MovementAnswer =
  MovementOutcome | DomainError<ErrorCode.UNKNOWN_MEMBER | ErrorCode.INSUFFICIENT_BALANCE> | typeof needsOperation;

/**
 * The function's result in the key order of the TypeScript operations' MovementResult (PostgreSQL's
 * jsonb orders keys its own way): the receipt signs this object, and a client compares the objects
 * it is returned with the signed ones as JSON text.
 */
export function movementData(result: MovementResult): AcceptedData {
  const { rates, postings, consumed } = result;
  const price: Record<string, string> = 'issuePrice' in rates ? { issuePrice: rates.issuePrice! } : { redeemPrice: rates.redeemPrice! };
  const data: MovementResult = {
    entryId: result.entryId,
    memberId: result.memberId,
    amount: result.amount,
    balance: result.balance,
    recordedAt: result.recordedAt,
    postings: postings.map(({ account, amount }) => ({ account, amount })),
    rates: { contractId: rates.contractId!, currency: rates.currency!, ...price },
    asset: result.asset,
    ...(result.vestsAt === undefined ? {} : { vestsAt: result.vestsAt }),
    ...(consumed === undefined ? {} : { consumed: consumed.map(({ issuerPartnerId, amount }) => ({ issuerPartnerId, amount })) }),
  };
  return data as AcceptedData;
}

export interface MovementStatementInput {
  partnerId: string;
  kid: string;
  hash: string;
  jws: unknown;
  now: Date;
  counterShards: number;
  tiers: TierService;
}

const STATEMENT = `SELECT apply_cp_movement($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) AS outcome`;

function parameters(claims: MovementClaims, input: MovementStatementInput): unknown[] {
  return [
    claims.op,
    input.partnerId,
    claims.jti,
    input.kid,
    input.hash,
    input.jws,
    input.now,
    claims.member,
    claims.amount.toString(),
    claims.orderRef,
    claims.occurredAt,
    newId(),
    input.counterShards,
    input.tiers.rules.map((rule) => rule.name),
    input.tiers.rules.map((rule) => rule.threshold.toString()),
    input.tiers.windowStart(input.now),
  ];
}

/** What the function answered, as the instruction path's result. */
function answerOf(answer: MovementOutcome | Refusal, claims: MovementClaims, partnerId: string): MovementAnswer {
  if (!('refusal' in answer)) return answer.replay ? answer : { replay: false, result: movementData(answer.result as MovementResult) };
  switch (answer.refusal) {
    case 'CH001':
      return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${claims.member} is enrolled at ${partnerId}`);
    case 'CH002':
      return insufficientBalance(BigInt(answer.available), claims.amount);
    case 'CH009':
      return needsOperation;
  }
}

/**
 * Runs the function as a statement of its own (autocommit: one round trip, one commit), sent
 * again after a deadlock. Errors are thrown.
 */
export async function applyMovementStatement(
  dataSource: DataSource,
  claims: MovementClaims,
  input: MovementStatementInput,
): Promise<MovementAnswer> {
  const values = parameters(claims, input);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const [row]: Array<{ outcome: MovementOutcome | Refusal }> = await dataSource.query(STATEMENT, values);
      return answerOf(row!.outcome, claims, input.partnerId);
    } catch (error) {
      // A deadlock or serialization failure: the statement is its own transaction, so it is simply sent again.
      if (attempt < limits.transactionRetriesMax && isRetryable(error)) continue;
      throw error;
    }
  }
}

/** A batch item for apply_cp_movements: its claims and who signed it. */
export interface BatchMovement {
  claims: MovementClaims;
  partnerId: string;
  kid: string;
  hash: string;
  jws: unknown;
}

/** A batch item the function failed on (not a refusal): its SQLSTATE and message, as node-postgres would throw them. */
export class MovementFailed extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly detail: string | null,
  ) {
    super(message);
  }
}

export type BatchMovementOutcome = MovementAnswer | MovementFailed;

/**
 * A run of a batch's movements in the caller's transaction, one statement for all
 * (apply_cp_movements). Answers one outcome per item applied, in order; the answer is shorter than
 * the run when an item needs its operation (it is the last answered, `needsOperation`), so that the
 * caller applies it before the items after it. A refusal writes nothing, so the items run without
 * subtransactions; should the statement fail, the caller rolls back to its savepoint and calls
 * again with `isolated`: each item then runs under its own subtransaction, and the one that failed
 * answers `MovementFailed`.
 */
export async function applyMovementsInTransaction(
  tx: EntityManager,
  items: readonly BatchMovement[],
  input: Pick<MovementStatementInput, 'now' | 'counterShards' | 'tiers'>,
  isolated: boolean,
): Promise<BatchMovementOutcome[]> {
  const json = items.map(({ claims, partnerId, kid, hash, jws }) => ({
    op: claims.op,
    partnerId,
    jti: claims.jti,
    kid,
    hash,
    jws,
    member: claims.member,
    amount: claims.amount.toString(),
    orderRef: claims.orderRef,
    occurredAt: claims.occurredAt.toISOString(),
    entryId: newId(),
  }));
  const [row]: Array<{ outcomes: Array<MovementOutcome | Refusal | { failed: string; message: string; detail: string | null }> }> =
    await tx.query('SELECT apply_cp_movements($1, $2, $3, $4, $5, $6, $7) AS outcomes', [
      JSON.stringify(json),
      input.now,
      input.counterShards,
      input.tiers.rules.map((rule) => rule.name),
      input.tiers.rules.map((rule) => rule.threshold.toString()),
      input.tiers.windowStart(input.now),
      isolated,
    ]);
  return row!.outcomes.map((answer, index) =>
    'failed' in answer
      ? new MovementFailed(answer.message, answer.failed, answer.detail)
      : answerOf(answer, items[index]!.claims, items[index]!.partnerId),
  );
}
