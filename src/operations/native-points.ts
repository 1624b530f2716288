import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import type { MovementClaims } from '../common/claims';
import { ensureAccount } from '../ledger/ledger.repository';
import { insufficientBalance, lockFloored, postEntry } from '../ledger/kernel';
import { findMemberIdByRef } from '../members/member-query.service';
import { unknownMember, type MovementContext, type MovementResult } from './context';

/**
 * A partner's own program points held at the hub (docs/ledger.md, "Assets"): a partner issues and redeems
 * only its own unit (e.g. ACME.STARS), between its native pool and the member's wallet in that
 * unit. They carry no lots (lots are CP's) and no contract prices; members exchange them for CP.
 */
async function checkOwnUnit(tx: EntityManager, partnerId: string, asset: string): Promise<DomainError<ErrorCode.UNKNOWN_ASSET> | null> {
  const [unit]: Array<{ asset: string }> = await tx.query('SELECT asset FROM partner_unit WHERE partner_id = $1', [partnerId]);
  return unit?.asset === asset
    ? null
    : fail(ErrorCode.UNKNOWN_ASSET, `partner ${partnerId} issues and redeems CP and only its own unit, not ${asset}`);
}

export function moveNativePoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims & { op: 'issue' },
): Promise<MovementResult | OpError<'issue'>>;
export function moveNativePoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims & { op: 'redeem' },
): Promise<MovementResult | OpError<'redeem'>>;
export async function moveNativePoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims,
): Promise<MovementResult | OpError<'issue'> | OpError<'redeem'>> {
  const notOwn = await checkOwnUnit(tx, context.partnerId, claims.asset);
  if (notOwn) return notOwn;
  const memberId = await findMemberIdByRef(tx, context.partnerId, claims.member);
  if (!memberId) return unknownMember(context, claims.member);
  const wallet = await ensureAccount(tx, 'member', memberId, claims.asset, 'wallet');
  const pool = await ensureAccount(tx, 'partner', context.partnerId, claims.asset, 'native_pool');
  const issue = claims.op === 'issue';
  if (!issue) {
    await lockFloored(tx, [wallet.id]);
    const [{ balance } = { balance: '0' }]: Array<{ balance: string }> = await tx.query(
      'SELECT balance FROM account_balance WHERE account_id = $1 AND shard = 0',
      [wallet.id],
    );
    if (BigInt(balance) < claims.amount) return insufficientBalance(BigInt(balance), claims.amount, claims.asset);
  }
  const sign = issue ? 1n : -1n;
  const posted = await postEntry(tx, {
    id: context.entryId,
    type: claims.op,
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId,
    orderRef: claims.orderRef,
    occurredAt: claims.occurredAt,
    recordedAt: context.now,
    requestHash: context.requestHash,
    rates: { asset: claims.asset },
    postings: [
      { accountId: wallet.id, asset: claims.asset, amount: sign * claims.amount, floored: true },
      { accountId: pool.id, asset: claims.asset, amount: -sign * claims.amount, floored: false },
    ],
    counterShards: context.counterShards,
  });
  if (isDomainError(posted)) return posted;
  return {
    entryId: context.entryId,
    memberId,
    amount: claims.amount.toString(),
    balance: posted.balances.get(wallet.id)!.toString(),
    recordedAt: context.now.toISOString(),
    asset: claims.asset,
    rates: { asset: claims.asset },
    postings: [
      { account: `member:${memberId}:${claims.asset}:wallet`, amount: (sign * claims.amount).toString() },
      { account: `partner:${context.partnerId}:${claims.asset}:native_pool`, amount: (-sign * claims.amount).toString() },
    ],
    // A redemption receipt always says whose lots it consumed: unit points have none.
    ...(issue ? {} : { consumed: [] }),
  };
}
