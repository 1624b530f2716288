import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail } from '../common/errors';
import { addMonths } from './apply-entry';
import { CP, consumeLots, createLot, ensureAccount, findWalletOrNull, lockWallet, recordEntry } from './ledger.repository';
import { findMemberIdByRef } from '../members/member.service';
import type { MovementClaims } from '../instructions/instruction-claims';

/** What the hub tells the partner (and signs in the receipt) after an issue or a redemption. */
export interface MovementResult {
  entryId: string;
  memberId: string;
  amount: string;
  balance: string;
  recordedAt: string;
  consumed?: Array<{ issuerPartnerId: string; amount: string }>;
}

export interface MovementContext {
  partnerId: string;
  requestHash: string;
  entryId: string;
  now: Date;
  counterShards: number;
}

/** Issue (earn): P.issuance −n, member wallet +n, and a lot of issuer P that expires per P's contract. */
export async function issuePoints(tx: EntityManager, context: MovementContext, claims: MovementClaims): Promise<MovementResult | DomainError> {
  const memberId = await findMemberIdByRef(tx, context.partnerId, claims.member);
  if (!memberId) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${claims.member} is enrolled at ${context.partnerId}`);
  const wallet = await ensureAccount(tx, 'member', memberId, CP, 'wallet');
  const issuance = await ensureAccount(tx, 'partner', context.partnerId, CP, 'issuance');
  const [{ months }] = await tx.query('SELECT lot_lifetime_months AS months FROM partner WHERE id = $1', [context.partnerId]);
  const balances = await recordEntry(tx, entryOf('issue', context, memberId, claims), [
    { accountId: issuance.id, asset: CP, amount: -claims.amount, floored: false },
    { accountId: wallet.id, asset: CP, amount: claims.amount, floored: true },
  ], context.counterShards);
  await createLot(tx, {
    accountId: wallet.id,
    issuerPartnerId: context.partnerId,
    entryId: context.entryId,
    amount: claims.amount,
    issuedAt: context.now,
    expiresAt: addMonths(context.now, Number(months)),
  });
  return result(context, memberId, claims.amount, balances.get(wallet.id));
}

/**
 * Redeem (burn) at partner Q: member wallet −n, Q.redemption +n. The wallet row is locked first,
 * so two redemptions racing for the last points are decided one after the other: exactly one wins.
 */
export async function redeemPoints(tx: EntityManager, context: MovementContext, claims: MovementClaims): Promise<MovementResult | DomainError> {
  const memberId = await findMemberIdByRef(tx, context.partnerId, claims.member);
  if (!memberId) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${claims.member} is enrolled at ${context.partnerId}`);
  const wallet = await findWalletOrNull(tx, memberId);
  if (!wallet) return fail(ErrorCode.UNKNOWN_MEMBER, `member ${claims.member} has no CP wallet`);
  const available = await lockWallet(tx, wallet);
  if (available < claims.amount) {
    return fail(ErrorCode.INSUFFICIENT_BALANCE, `the member has ${available} CP, ${claims.amount} were asked`, {
      available: available.toString(),
      requested: claims.amount.toString(),
    });
  }
  const redemption = await ensureAccount(tx, 'partner', context.partnerId, CP, 'redemption');
  const balances = await recordEntry(tx, entryOf('redeem', context, memberId, claims), [
    { accountId: wallet.id, asset: CP, amount: -claims.amount, floored: true },
    { accountId: redemption.id, asset: CP, amount: claims.amount, floored: false },
  ], context.counterShards);
  const takes = await consumeLots(tx, wallet.id, claims.amount, context.entryId, context.partnerId);
  const byIssuer = new Map<string, bigint>();
  for (const take of takes) byIssuer.set(take.issuerPartnerId, (byIssuer.get(take.issuerPartnerId) ?? 0n) + take.amount);
  const consumed = [...byIssuer].map(([issuerPartnerId, amount]) => ({ issuerPartnerId, amount: amount.toString() }));
  return { ...result(context, memberId, claims.amount, balances.get(wallet.id)), consumed };
}

function entryOf(type: 'issue' | 'redeem', context: MovementContext, memberId: string, claims: MovementClaims) {
  return {
    id: context.entryId,
    type,
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId,
    orderRef: claims.orderRef,
    occurredAt: claims.occurredAt,
    recordedAt: context.now,
    requestHash: context.requestHash,
  };
}

function result(context: MovementContext, memberId: string, amount: bigint, balance: bigint | undefined): MovementResult {
  return {
    entryId: context.entryId,
    memberId,
    amount: amount.toString(),
    balance: (balance ?? 0n).toString(),
    recordedAt: context.now.toISOString(),
  };
}
