import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { queryRows } from '../db/sql';
import type { AuthorizeClaims, CaptureClaims, VoidClaims } from '../common/claims';
import { findMovementTargets } from './ledger.repository';
import { debitWallet, insufficientBalance, unknownMember, type MovementContext, type MovementResult } from './points.service';

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

interface HoldRow {
  id: string;
  member_id: string;
  wallet_id: string;
  amount: string;
  status: 'pending' | 'captured' | 'voided';
  expires_at: Date;
  order_ref: string | null;
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
  await tx.query(
    `INSERT INTO hold (id, partner_id, jti, member_id, wallet_id, amount, order_ref, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      holdId,
      context.partnerId,
      claims.jti,
      targets.memberId,
      targets.wallet.id,
      claims.amount.toString(),
      claims.orderRef,
      context.now,
      expiresAt,
    ],
  );
  return {
    holdId,
    memberId: targets.memberId,
    amount: claims.amount.toString(),
    status: 'pending',
    expiresAt: expiresAt.toISOString(),
    available: (targets.balance - targets.reserved - claims.amount).toString(),
  };
}

/**
 * A pending, unexpired hold of this partner, with its wallet locked first (the lock order of every
 * debit) and the hold read again under it. Another partner's hold is "not found": ids do not leak.
 */
async function lockPendingHold(
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
  if (hold!.status !== 'pending')
    return fail(ErrorCode.HOLD_CLOSED, `hold ${holdId} was ${hold!.status} already`, { status: hold!.status });
  if (hold!.expires_at.getTime() <= now.getTime())
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
  const redeemed = await debitWallet(tx, context, targets, claims.amount, {
    jti: claims.jti,
    orderRef: claims.orderRef ?? hold.order_ref,
    occurredAt: context.now,
  });
  await tx.query(`UPDATE hold SET status = 'captured', captured = $2, closed_at = $3, capture_entry_id = $4 WHERE id = $1`, [
    hold.id,
    claims.amount.toString(),
    context.now,
    context.entryId,
  ]);
  return { ...redeemed, holdId: hold.id };
}

export async function voidRedemption(
  tx: EntityManager,
  context: MovementContext,
  claims: VoidClaims,
): Promise<HoldResult | OpError<'void'>> {
  const hold = await lockPendingHold(tx, context.partnerId, claims.hold, context.now);
  if (hold instanceof DomainError) return hold;
  await queryRows(tx, `UPDATE hold SET status = 'voided', closed_at = $2 WHERE id = $1`, [hold.id, context.now]);
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
