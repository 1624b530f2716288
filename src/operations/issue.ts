import { drawFunding } from '../settlement/funding.service';
import type { OpError } from '../common/op-errors';
import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import { CP, findMovementTargets } from '../ledger/ledger.repository';
import type { MovementClaims } from '../common/claims';
import { limits } from '../config/limits';
import { applyMultiplier } from '../members/tiers';
import { onQualifyingPurchase } from '../referrals/referrals';
import { postIssuance } from './issuance-entry';
import { unknownMember, type EntrySource, type MovementContext, type MovementResult } from './context';

/** Issue (earn): P.issuance −n, member wallet +n, and a lot of issuer P that expires per P's contract. */
export async function issuePoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims,
): Promise<MovementResult | OpError<'issue'>> {
  // The wallet is locked as it is found (it is credited, and locked first in the global order): the entry adds to the balance read here.
  const targets = await findMovementTargets(tx, context.partnerId, { ref: claims.member }, 'issuance', 'credit', context.now);
  if (!targets) return unknownMember(context, claims.member);
  const rates: Record<string, string> = {
    contractId: targets.contract.id,
    currency: targets.contract.currency,
    issuePrice: targets.contract.issuePrice,
  };
  // The partner may ask for its tier multiplier: the member's tier now, the contract's multiplier for it.
  let amount = claims.amount;
  if (claims.applyTierMultiplier) {
    const tier = await context.tiers.tierOf(tx, targets.memberId, context.now);
    const multiplier = targets.contract.tierMultipliers[tier.name] ?? '1';
    amount = applyMultiplier(claims.amount, multiplier);
    Object.assign(rates, { tier: tier.name, tierMultiplier: multiplier, baseAmount: claims.amount.toString() });
    if (amount > limits.amountMax)
      return fail(ErrorCode.INVALID_AMOUNT, `with the ${tier.name} multiplier the amount exceeds ${limits.amountMax}`, {
        amount: amount.toString(),
      });
  }
  // A prepaid or capped partner pays for the points as it issues them (docs/settlement.md, "Funding limits"). Its
  // funding row is locked after the member's wallet, as an exchange into CP does: one lock order.
  const funding = await drawFunding(tx, context.partnerId, targets.contract, amount, context.now, targets.wallet.id);
  if (isDomainError(funding)) return funding;
  // A partner with a return window issues pending points: in the balance, spendable once vested.
  const { balance, vestsAt } = await postIssuance(tx, {
    ...entryOf('issue', context, targets.memberId, claims, rates),
    amount,
    walletId: targets.wallet.id,
    counterId: targets.counter.id,
    funding,
    contract: targets.contract,
    counterShards: context.counterShards,
    lockedBalance: targets.balance,
  });
  await context.tiers.recordChange(tx, targets.memberId, claims.amount, context.now);
  // An issue with an order reference is a purchase: a referee's first one pays the referral bonuses (docs/grants-and-referrals.md).
  if (claims.orderRef !== null) await onQualifyingPurchase(tx, context, targets.memberId, context.partnerId);
  const issued = movementResult(context, targets.memberId, amount, balance, rates, [
    { account: `partner:${context.partnerId}:CP:issuance`, amount: (-amount).toString() },
    { account: `member:${targets.memberId}:CP:wallet`, amount: amount.toString() },
  ]);
  return vestsAt ? { ...issued, vestsAt: vestsAt.toISOString() } : issued;
}

/** The entry fields of an issue or a redemption. */
export function entryOf(
  type: 'issue' | 'redeem',
  context: MovementContext,
  memberId: string,
  source: EntrySource,
  rates: Record<string, string>,
) {
  return {
    rates,
    id: context.entryId,
    type,
    partnerId: context.partnerId,
    jti: source.jti,
    memberId,
    orderRef: source.orderRef,
    occurredAt: source.occurredAt,
    recordedAt: context.now,
    requestHash: context.requestHash,
  };
}

export function movementResult(
  context: MovementContext,
  memberId: string,
  amount: bigint,
  balance: bigint | undefined,
  rates: Record<string, string>,
  postings: MovementResult['postings'],
): MovementResult {
  assert(balance !== undefined, 'the entry moved the wallet, so its new balance is known');
  return {
    entryId: context.entryId,
    memberId,
    amount: amount.toString(),
    balance: balance.toString(),
    recordedAt: context.now.toISOString(),
    postings,
    rates,
    asset: CP,
  };
}
