import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { CaptureClaims } from '../common/claims';
import { findMovementTargets } from '../ledger/ledger.repository';
import { insufficientBalance } from '../ledger/kernel';
import type { MovementContext, MovementResult } from './context';
import { debitWallet } from './redeem';

/** Capture: redeems up to the held amount, once, as an ordinary redemption entry that closes the hold. */
export interface HoldRow {
  id: string;
  member_id: string;
  wallet_id: string;
  amount: string;
  status: 'pending' | 'captured' | 'voided' | 'expired';
  expires_at: Date;
  order_ref: string | null;
}

/**
 * A pending, unexpired hold of this partner, with its wallet locked first (the lock order of every
 * debit) and the hold read again under it. Another partner's hold is "not found": ids do not leak.
 */
export async function lockPendingHold(
  tx: EntityManager,
  partnerId: string,
  holdId: string,
  now: Date,
): Promise<HoldRow | DomainError<ErrorCode.HOLD_NOT_FOUND | ErrorCode.HOLD_CLOSED | ErrorCode.HOLD_EXPIRED>> {
  const found: Array<{ wallet_id: string }> = await tx.query('SELECT wallet_id FROM hold WHERE id = $1 AND partner_id = $2', [
    holdId,
    partnerId,
  ]);
  if (!found[0]) return fail(ErrorCode.HOLD_NOT_FOUND, `partner ${partnerId} has no hold ${holdId}`);
  await tx.query('SELECT balance FROM account_balance WHERE account_id = $1 AND shard = 0 FOR UPDATE', [found[0].wallet_id]);
  const [hold]: HoldRow[] = await tx.query(
    'SELECT id, member_id, wallet_id, amount, status, expires_at, order_ref FROM hold WHERE id = $1 FOR UPDATE',
    [holdId],
  );
  // Expired is expired whether the hold-expiry job has closed the hold yet or not.
  if (hold!.status !== 'pending' && hold!.status !== 'expired')
    return fail(ErrorCode.HOLD_CLOSED, `hold ${holdId} was ${hold!.status} already`, { status: hold!.status });
  if (hold!.status === 'expired' || hold!.expires_at.getTime() <= now.getTime())
    return fail(ErrorCode.HOLD_EXPIRED, `hold ${holdId} expired at ${hold!.expires_at.toISOString()}`);
  return hold!;
}

export async function captureRedemption(
  tx: EntityManager,
  context: MovementContext,
  claims: CaptureClaims,
): Promise<(MovementResult & { holdId: string }) | OpError<'capture'>> {
  const hold = await lockPendingHold(tx, context.partnerId, claims.hold, context.now);
  if (hold instanceof DomainError) return hold;
  const heldAmount = BigInt(hold.amount);
  if (claims.amount > heldAmount) {
    return fail(ErrorCode.AMOUNT_EXCEEDS_HOLD, `hold ${hold.id} is for ${heldAmount} CP; ${claims.amount} cannot be captured`, {
      held: heldAmount.toString(),
      requested: claims.amount.toString(),
    });
  }
  const targets = await findMovementTargets(tx, context.partnerId, { id: hold.member_id }, 'redemption', true, context.now);
  if (!targets) return fail(ErrorCode.UNKNOWN_MEMBER, `the member of hold ${hold.id} is no longer enrolled at ${context.partnerId}`);
  // Other holds keep their points; this one's are the ones being spent. (Points held may have
  // expired meanwhile, so the balance is checked, not assumed.)
  const spendable = targets.balance - (targets.reserved - heldAmount);
  if (spendable < claims.amount) return insufficientBalance(spendable, claims.amount);
  const redeemed = await debitWallet(
    tx,
    context,
    targets,
    claims.amount,
    { jti: claims.jti, orderRef: claims.orderRef ?? hold.order_ref, occurredAt: context.now },
    { holdId: hold.id, amount: claims.amount },
  );
  if (isDomainError(redeemed)) return redeemed;
  return { ...redeemed, holdId: hold.id };
}
