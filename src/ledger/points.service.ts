import { drawFunding } from '../settlement/funding.service';
import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { addMonths, totalsByIssuer } from './apply-entry';
import { CP, consumeLots, createLot, findMovementTargets, recordEntry, type MovementTargets } from './ledger.repository';
import type { MovementClaims } from '../common/claims';
import { limits } from '../config/limits';
import { applyMultiplier, type TierService } from '../members/tiers';

/** What the hub tells the partner (and signs in the receipt) after an issue or a redemption. */
export interface MovementResult {
  entryId: string;
  memberId: string;
  amount: string;
  balance: string;
  recordedAt: string;
  /** The entry's postings and the contract prices it used, as signed in the receipt (docs/protocol.md, "Receipts"). */
  postings: Array<{ account: string; amount: string }>;
  rates: Record<string, string>;
  /** Set for a partner's own unit; absent means CP. */
  asset?: string;
  /** For pending points: when they become spendable. */
  vestsAt?: string;
  consumed?: Array<{ issuerPartnerId: string; amount: string }>;
}

export interface MovementContext {
  partnerId: string;
  requestHash: string;
  entryId: string;
  now: Date;
  counterShards: number;
  tiers: TierService;
}

/** What an entry records of the instruction that made it. */
export interface EntrySource {
  jti: string;
  orderRef: string | null;
  occurredAt: Date;
}

const DAY_MS = 86_400_000;

export const unknownMember = (context: MovementContext, memberRef: string): DomainError<ErrorCode.UNKNOWN_MEMBER> =>
  fail(ErrorCode.UNKNOWN_MEMBER, `no member ${memberRef} is enrolled at ${context.partnerId}`);

/** `asset`: what the refused amounts are in, CP or a partner unit's code (an exchange from a unit, a native redeem). */
export const insufficientBalance = (available: bigint, requested: bigint, asset = 'CP'): DomainError<ErrorCode.INSUFFICIENT_BALANCE> =>
  fail(ErrorCode.INSUFFICIENT_BALANCE, `the member can spend ${available} ${asset}, ${requested} were asked`, {
    available: available.toString(),
    requested: requested.toString(),
    asset,
  });

/** Issue (earn): P.issuance −n, member wallet +n, and a lot of issuer P that expires per P's contract. */
export async function issuePoints(
  tx: EntityManager,
  context: MovementContext,
  claims: MovementClaims,
): Promise<MovementResult | OpError<'issue'>> {
  const targets = await findMovementTargets(tx, context.partnerId, { ref: claims.member }, 'issuance', false, context.now);
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
  const funding = await drawFunding(tx, context.partnerId, targets.contract, amount, targets.wallet.id);
  if (isDomainError(funding)) return funding;
  const balances = await recordEntry(
    tx,
    entryOf('issue', context, targets.memberId, claims, rates),
    [
      { accountId: targets.counter.id, asset: CP, amount: -amount, floored: false },
      { accountId: targets.wallet.id, asset: CP, amount, floored: true },
      ...funding,
    ],
    context.counterShards,
  );
  // A partner with a return window issues pending points: in the balance, spendable once vested.
  const vestsAt = targets.contract.pendingDays > 0 ? new Date(context.now.getTime() + targets.contract.pendingDays * DAY_MS) : null;
  await createLot(tx, {
    accountId: targets.wallet.id,
    issuerPartnerId: context.partnerId,
    entryId: context.entryId,
    amount,
    issuedAt: context.now,
    expiresAt: addMonths(context.now, targets.contract.lotLifetimeMonths),
    vestsAt,
  });
  const issued = result(context, targets.memberId, amount, balances.get(targets.wallet.id), rates, [
    { account: `partner:${context.partnerId}:CP:issuance`, amount: (-amount).toString() },
    { account: `member:${targets.memberId}:CP:wallet`, amount: amount.toString() },
  ]);
  return vestsAt ? { ...issued, vestsAt: vestsAt.toISOString() } : issued;
}

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
 * The redemption entry itself, for a redemption or a capture: the caller has locked the wallet
 * (found the targets `forDebit`) and checked the amount is spendable.
 */
export async function debitWallet(
  tx: EntityManager,
  context: MovementContext,
  targets: MovementTargets,
  amount: bigint,
  source: EntrySource,
): Promise<MovementResult> {
  const rates = { contractId: targets.contract.id, currency: targets.contract.currency, redeemPrice: targets.contract.redeemPrice };
  const balances = await recordEntry(
    tx,
    entryOf('redeem', context, targets.memberId, source, rates),
    [
      { accountId: targets.wallet.id, asset: CP, amount: -amount, floored: true },
      { accountId: targets.counter.id, asset: CP, amount, floored: false },
    ],
    context.counterShards,
  );
  const takes = await consumeLots(tx, targets.wallet.id, amount, context.entryId, context.partnerId, { at: context.now });
  const consumed = totalsByIssuer(takes);
  const postings = [
    { account: `member:${targets.memberId}:CP:wallet`, amount: (-amount).toString() },
    { account: `partner:${context.partnerId}:CP:redemption`, amount: amount.toString() },
  ];
  return { ...result(context, targets.memberId, amount, balances.get(targets.wallet.id), rates, postings), consumed };
}

function entryOf(type: 'issue' | 'redeem', context: MovementContext, memberId: string, source: EntrySource, rates: Record<string, string>) {
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

function result(
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
