import type { EntityManager } from 'typeorm';
import type { ClaimsOf, InstructionClaims as Claims } from '../common/claims';
import type { OpError } from '../common/op-errors';
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
import { reverseEntry, type ReversalResult } from './reverse';
import { transferPoints, type TransferResult } from './transfer';
import { voidRedemption } from './void';
import { redeemRewardForMember, useEntitlementByCode } from '../rewards/operations';
import type { RewardRedemption } from '../rewards/redemption';
import type { EntitlementUse } from '../rewards/entitlements';
import { grantPoints, type GrantResult } from '../grants/grant';

/** What an accepted instruction answers (and its receipt signs). */
import { applyActivity, type ActivityResult } from '../engine/activity.service';
import type { PurchaseListener } from '../engine/purchase-listeners';

/** What an accepted instruction answers (and its receipt signs). */
export type AcceptedData = (
  Enrolled | MovementResult | HoldResult | StatementActionResult | RewardRedemption | EntitlementUse | ActivityResult
) &
  Record<string, unknown>;

/** What every operation gets: the movement context and the services an operation may consult. */
export interface OperationContext extends MovementContext {
  contracts: ContractService;
  /** Called after a purchase activity is evaluated, in its transaction (src/engine/purchase-listeners.ts). */
  purchaseListeners: readonly PurchaseListener[];
}

export type InstructionOp = Claims['op'];

/** What any operation answers when it succeeds, before it is stored as the instruction's result. */
export type OperationSuccess =
  | Enrolled
  | MovementResult
  | HoldResult
  | StatementActionResult
  | TransferResult
  | ReversalResult
  | RewardRedemption
  | EntitlementUse
  | GrantResult
  | ActivityResult;

/**
 * One operation. Its refusals are `OpError<O>`: the compiler refuses an operation that could
 * return a code outside OP_ERRORS[O] (src/common/op-errors.ts), and the op's GraphQL result union
 * is checked against the same list, so every refusal has its typed result.
 */
export type Operation<O extends InstructionOp> = (
  tx: EntityManager,
  context: OperationContext,
  claims: ClaimsOf<O>,
) => Promise<OperationSuccess | OpError<O>>;

/**
 * Every signed-instruction operation, one module each (docs/architecture.md, "How to add an
 * operation"). Each decides and then writes through the ledger kernel (src/ledger/kernel.ts);
 * InstructionService.apply looks the operation up here.
 */
export const OPERATIONS: { [O in InstructionOp]: Operation<O> } = {
  enroll: (tx, context, claims) => enrollMember(tx, context.partnerId, claims, context.now),
  issue: (tx, context, claims) => (claims.asset === CP ? issuePoints(tx, context, claims) : moveNativePoints(tx, context, claims)),
  redeem: (tx, context, claims) => (claims.asset === CP ? redeemPoints(tx, context, claims) : moveNativePoints(tx, context, claims)),
  authorize: (tx, context, claims) => authorizeRedemption(tx, context, claims),
  capture: (tx, context, claims) => captureRedemption(tx, context, claims),
  void: (tx, context, claims) => voidRedemption(tx, context, claims),
  reverse: (tx, context, claims) => reverseEntry(tx, context, claims),
  transfer: (tx, context, claims) => transferPoints(tx, context, context.contracts, claims),
  acknowledge: (tx, context, claims) => acknowledgeStatement(tx, context, claims),
  dispute: (tx, context, claims) => disputeStatement(tx, context, claims),
  redeem_reward: (tx, context, claims) => redeemRewardForMember(tx, context, claims),
  use_entitlement: (tx, context, claims) => useEntitlementByCode(tx, context, claims),
  grant: (tx, context, claims) => grantPoints(tx, context, claims),
  activity: (tx, context, claims) => applyActivity(tx, context, claims),
};
