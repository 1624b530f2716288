import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { isDomainError, type DomainError, type ErrorCode } from '../common/errors';
import { totalsByIssuer } from '../ledger/apply-entry';
import { CP, findMovementTargets, type MovementTargets } from '../ledger/ledger.repository';
import { insufficientBalance, postEntry } from '../ledger/kernel';
import type { MovementClaims } from '../common/claims';
import { unknownMember, type EntrySource, type MovementContext, type MovementResult } from './context';
import { entryOf, movementResult } from './issue';

/**
 * Redeem (burn) at partner Q: member wallet −n, Q.redemption +n. The wallet row is locked first,
 * so two redemptions racing for the last points are decided one after the other: exactly one
 * wins. Points on hold for a pending authorization are not spendable.
 */
export async function redeemPoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims,
): Promise<MovementResult | OpError<'redeem'>> {
  const targets = await findMovementTargets(tx, context.partnerId, { ref: claims.member }, 'redemption', true, context.now);
  if (!targets) return unknownMember(context, claims.member);
  const spendable = targets.balance - targets.reserved;
  if (spendable < claims.amount) return insufficientBalance(spendable, claims.amount);
  return debitWallet(tx, context, targets, claims.amount, claims);
}

/**
 * The redemption entry itself, for a redemption or a capture (which names the hold it closes):
 * the caller has locked the wallet (found the targets `forDebit`) and checked the amount is spendable.
 */
export async function debitWallet(
  tx: EntityManager,
  context: MovementContext,
  targets: MovementTargets,
  amount: bigint,
  source: EntrySource,
  captures?: { holdId: string; amount: bigint },
): Promise<MovementResult | DomainError<ErrorCode.INSUFFICIENT_BALANCE>> {
  const rates = { contractId: targets.contract.id, currency: targets.contract.currency, redeemPrice: targets.contract.redeemPrice };
  const posted = await postEntry(tx, {
    ...entryOf('redeem', context, targets.memberId, source, rates),
    postings: [
      { accountId: targets.wallet.id, asset: CP, amount: -amount, floored: true },
      { accountId: targets.counter.id, asset: CP, amount, floored: false },
    ],
    lots: { consume: { accountId: targets.wallet.id, amount, consumerPartnerId: context.partnerId, reason: 'redeem' } },
    captures,
    counterShards: context.counterShards,
  });
  if (isDomainError(posted)) return posted;
  const consumed = totalsByIssuer(posted.takes);
  const postings = [
    { account: `member:${targets.memberId}:CP:wallet`, amount: (-amount).toString() },
    { account: `partner:${context.partnerId}:CP:redemption`, amount: amount.toString() },
  ];
  return { ...movementResult(context, targets.memberId, amount, posted.balances.get(targets.wallet.id), rates, postings), consumed };
}
