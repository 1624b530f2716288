import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { DomainError } from '../common/errors';
import type { VoidClaims } from '../common/claims';
import { findMovementTargets } from '../ledger/ledger.repository';
import { voidHold } from '../ledger/kernel';
import type { MovementContext } from './context';
import type { HoldResult } from './authorize';
import { lockPendingHold } from './capture';

/** Void: releases a pending hold; its points are spendable again. */
export async function voidRedemption(
  tx: EntityManager,
  context: MovementContext,
  claims: VoidClaims,
): Promise<HoldResult | OpError<'void'>> {
  const hold = await lockPendingHold(tx, context.partnerId, claims.hold, context.now);
  if (hold instanceof DomainError) return hold;
  await voidHold(tx, hold.id, context.now);
  const targets = await findMovementTargets(tx, context.partnerId, { id: hold.member_id }, 'redemption', false, context.now);
  return {
    holdId: hold.id,
    memberId: hold.member_id,
    amount: hold.amount,
    status: 'voided',
    expiresAt: hold.expires_at.toISOString(),
    available: targets ? (targets.balance - targets.reserved).toString() : '0',
  };
}
