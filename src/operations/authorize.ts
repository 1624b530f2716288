import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { isDomainError } from '../common/errors';
import { newId } from '../common/ids';
import type { AuthorizeClaims } from '../common/claims';
import { findMovementTargets } from '../ledger/ledger.repository';
import { insufficientBalance, placeHold } from '../ledger/kernel';
import { unknownMember, type MovementContext } from './context';

/**
 * Two-phase redemption (docs/ledger.md, "Holds"): authorize holds points (they stay in the wallet but are
 * not spendable), capture redeems up to the held amount once, void releases the hold; an expired
 * hold releases itself (it no longer counts as held and can no longer be captured).
 */
export interface HoldResult {
  holdId: string;
  memberId: string;
  amount: string;
  status: 'pending' | 'voided';
  expiresAt: string;
  /** The member's spendable balance right after. */
  available: string;
}

export async function authorizeRedemption(
  tx: EntityManager,
  context: MovementContext,
  claims: AuthorizeClaims,
): Promise<HoldResult | OpError<'authorize'>> {
  const targets = await findMovementTargets(tx, context.partnerId, { ref: claims.member }, 'redemption', true, context.now);
  if (!targets) return unknownMember(context, claims.member);
  const holdId = newId();
  const expiresAt = new Date(context.now.getTime() + claims.holdSeconds * 1000);
  // A hold may only take points whose lots outlive it, so that expiry never takes held points
  // (counting every other hold against those lots: conservative, never short).
  const [{ outliving, held }] = await tx.query(
    `SELECT (SELECT coalesce(sum(remaining), 0) FROM lot WHERE account_id = $1 AND remaining > 0
               AND (vests_at IS NULL OR vests_at <= $2) AND expires_at > $3)::text AS outliving,
            (SELECT coalesce(sum(amount), 0) FROM hold WHERE wallet_id = $1 AND status = 'pending' AND expires_at > $2)::text AS held`,
    [targets.wallet.id, context.now, expiresAt],
  );
  const coverable = BigInt(outliving) - BigInt(held);
  const spendable = targets.balance - targets.reserved;
  const available = spendable < coverable ? spendable : coverable;
  if (available < claims.amount) return insufficientBalance(available < 0n ? 0n : available, claims.amount);
  const left = await placeHold(tx, {
    id: holdId,
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId: targets.memberId,
    walletId: targets.wallet.id,
    amount: claims.amount,
    orderRef: claims.orderRef,
    createdAt: context.now,
    expiresAt,
  });
  if (isDomainError(left)) return left;
  return {
    holdId,
    memberId: targets.memberId,
    amount: claims.amount.toString(),
    status: 'pending',
    expiresAt: expiresAt.toISOString(),
    available: left.toString(),
  };
}
