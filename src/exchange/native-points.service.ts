import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import type { MovementClaims } from '../common/claims';
import { ensureAccount, recordEntry } from '../ledger/ledger.repository';
import { insufficientBalance, unknownMember, type MovementContext, type MovementResult } from '../ledger/points.service';
import { findMemberIdByRef } from '../members/member.service';

/**
 * A partner's own program points held at the hub (docs/ledger.md, "Assets"): a partner issues and redeems
 * only its own unit (e.g. ACME.STARS), between its native pool and the member's wallet in that
 * unit. They carry no lots (lots are CP's) and no contract prices; members exchange them for CP.
 */
async function checkOwnUnit(tx: EntityManager, partnerId: string, asset: string): Promise<DomainError<ErrorCode.UNKNOWN_ASSET> | null> {
  const [unit] = await tx.query('SELECT asset FROM partner_unit WHERE partner_id = $1', [partnerId]);
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
    const [{ balance }] = await tx.query('SELECT balance FROM account_balance WHERE account_id = $1 AND shard = 0 FOR UPDATE', [wallet.id]);
    if (BigInt(balance) < claims.amount) return insufficientBalance(BigInt(balance), claims.amount, claims.asset);
  }
  const sign = issue ? 1n : -1n;
  const balances = await recordEntry(
    tx,
    {
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
    },
    [
      { accountId: wallet.id, asset: claims.asset, amount: sign * claims.amount, floored: true },
      { accountId: pool.id, asset: claims.asset, amount: -sign * claims.amount, floored: false },
    ],
    context.counterShards,
  );
  return {
    entryId: context.entryId,
    memberId,
    amount: claims.amount.toString(),
    balance: balances.get(wallet.id)!.toString(),
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
