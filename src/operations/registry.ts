import type { EntityManager } from 'typeorm';
import type { InstructionClaims } from '../common/claims';
import type { DomainError } from '../common/errors';
import { CP } from '../ledger/ledger.repository';
import type { ContractService } from '../partners/contract.service';
import { authorizeRedemption, type HoldResult } from './authorize';
import { captureRedemption } from './capture';
import type { MovementContext, MovementResult } from './context';
import { acknowledgeStatement, type StatementActionResult } from './acknowledge';
import { disputeStatement } from './dispute';
import { enrollMember, type Enrolled } from './enroll';
import { issuePoints } from './issue';
import { moveNativePoints } from './native-points';
import { redeemPoints } from './redeem';
import { reverseEntry } from './reverse';
import { transferPoints } from './transfer';
import { voidRedemption } from './void';

/** What an accepted instruction answers (and its receipt signs). */
export type AcceptedData = (Enrolled | MovementResult | HoldResult | StatementActionResult) & Record<string, unknown>;

/** What every operation gets: the movement context and the services an operation may consult. */
export interface OperationContext extends MovementContext {
  contracts: ContractService;
}

export type InstructionOp = InstructionClaims['op'];

/** The parsed claims of one operation. */
export type ClaimsOf<O extends InstructionOp> = InstructionClaims extends infer C
  ? C extends { op: infer P }
    ? O extends P
      ? C
      : never
    : never
  : never;

export type Operation<O extends InstructionOp> = (
  tx: EntityManager,
  context: OperationContext,
  claims: ClaimsOf<O>,
) => Promise<AcceptedData | DomainError>;

const widen = <R>(result: Promise<R | DomainError>) => result as Promise<AcceptedData | DomainError>;

/**
 * Every signed-instruction operation, one module each (docs/architecture.md, "How to add an
 * operation"). Each decides and then writes through the ledger kernel (src/ledger/kernel.ts);
 * InstructionService.apply looks the operation up here.
 */
export const OPERATIONS: { [O in InstructionOp]: Operation<O> } = {
  enroll: (tx, context, claims) => widen(enrollMember(tx, context.partnerId, claims, context.now)),
  issue: (tx, context, claims) => widen(claims.asset === CP ? issuePoints(tx, context, claims) : moveNativePoints(tx, context, claims)),
  redeem: (tx, context, claims) => widen(claims.asset === CP ? redeemPoints(tx, context, claims) : moveNativePoints(tx, context, claims)),
  authorize: (tx, context, claims) => widen(authorizeRedemption(tx, context, claims)),
  capture: (tx, context, claims) => widen(captureRedemption(tx, context, claims)),
  void: (tx, context, claims) => widen(voidRedemption(tx, context, claims)),
  reverse: (tx, context, claims) => widen(reverseEntry(tx, context, claims)),
  transfer: (tx, context, claims) => widen(transferPoints(tx, context, context.contracts, claims)),
  acknowledge: (tx, context, claims) => widen(acknowledgeStatement(tx, context, claims)),
  dispute: (tx, context, claims) => widen(disputeStatement(tx, context, claims)),
};

/** Applies one parsed instruction through its operation. */
export function applyOperation(
  tx: EntityManager,
  context: OperationContext,
  claims: InstructionClaims,
): Promise<AcceptedData | DomainError> {
  const operation = OPERATIONS[claims.op] as Operation<InstructionOp>;
  return operation(tx, context, claims as ClaimsOf<InstructionOp>);
}
