import { drawFunding } from '../settlement/funding.service';
import type { OpError } from '../common/op-errors';
import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import { addMonths } from '../ledger/apply-entry';
import { CP, findMovementTargets } from '../ledger/ledger.repository';
import { postEntry } from '../ledger/kernel';
import type { MovementClaims } from '../common/claims';
import { limits } from '../config/limits';
import { applyMultiplier } from '../members/tiers';
import { onQualifyingPurchase } from '../referrals/referrals';
import { unknownMember, type EntrySource, type MovementContext, type MovementResult } from './context';

const DAY_MS = 86_400_000;

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
  const vestsAt = targets.contract.pendingDays > 0 ? new Date(context.now.getTime() + targets.contract.pendingDays * DAY_MS) : null;
  const posted = await postEntry(tx, {
    ...entryOf('issue', context, targets.memberId, claims, rates),
    postings: [
      { accountId: targets.counter.id, asset: CP, amount: -amount, floored: false },
      { accountId: targets.wallet.id, asset: CP, amount, floored: true },
      ...funding,
    ],
    lots: {
      create: [
        {
          accountId: targets.wallet.id,
          issuerPartnerId: context.partnerId,
          amount,
          issuedAt: context.now,
          expiresAt: addMonths(context.now, targets.contract.lotLifetimeMonths),
          vestsAt,
        },
      ],
    },
    counterShards: context.counterShards,
    lockedBalances: new Map([[targets.wallet.id, targets.balance]]),
  });
  // An issue debits only the issuance counter and a funding account drawFunding has just checked under its lock.
  assert(!isDomainError(posted), `issue entry ${context.entryId} was refused: ${isDomainError(posted) ? posted.message : ''}`);
  await context.tiers.recordChange(tx, targets.memberId, claims.amount, context.now);
  // An issue with an order reference is a purchase: a referee's first one pays the referral bonuses (docs/grants-and-referrals.md).
  if (claims.orderRef !== null) await onQualifyingPurchase(tx, context, targets.memberId, context.partnerId);
  const issued = movementResult(context, targets.memberId, amount, posted.balances.get(targets.wallet.id), rates, [
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
