import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import type { ReverseClaims } from '../common/claims';
import { CP, findMovementTargets, type MovementTargets } from '../ledger/ledger.repository';
import { postEntry, type LotChange } from '../ledger/kernel';
import type { MovementContext, MovementResult } from './context';

/**
 * Reversals (docs/ledger.md, "Rules"): a refund is a new entry linked to the issue or redemption it
 * reverses, mirroring it at the original's prices, for at most what is left to reverse.
 * - A reversed issue takes the points back out of the lot that issue made; points already spent
 *   (or on hold) cannot be taken back: PointsAlreadySpent.
 * - A reversed redemption gives the points back to the lots it consumed, latest-expiring first,
 *   as negative consumptions, which also undo the issuer→partner obligation.
 */
export interface ReversalResult extends MovementResult {
  reversesEntryId: string;
}

interface OriginalEntry {
  id: string;
  type: 'issue' | 'redeem';
  member_id: string;
  rates: Record<string, string>;
}

export async function reverseEntry(
  tx: EntityManager,
  context: MovementContext,
  claims: ReverseClaims,
): Promise<ReversalResult | OpError<'reverse'>> {
  const original = await findReversibleOrNull(tx, context.partnerId, claims.entry);
  if (!original) return fail(ErrorCode.ENTRY_NOT_FOUND, `partner ${context.partnerId} has no issue or redemption ${claims.entry}`);
  const issue = original.type === 'issue';
  // The wallet lock serialises every reversal of this entry with every other debit of the wallet.
  const targets = await findMovementTargets(
    tx,
    context.partnerId,
    { id: original.member_id },
    issue ? 'issuance' : 'redemption',
    true,
    context.now,
  );
  if (!targets) return fail(ErrorCode.UNKNOWN_MEMBER, `the member of entry ${original.id} is no longer enrolled at ${context.partnerId}`);

  const remaining = await remainingToReverseOrNull(tx, original.id, targets.wallet.id);
  if (remaining === null) {
    // Not a CP entry: points of a partner's own unit are refunded in that partner's program.
    return fail(ErrorCode.ENTRY_NOT_FOUND, `entry ${original.id} did not move CP; only CP issues and redemptions are reversed here`);
  }
  if (claims.amount > remaining) {
    return fail(
      ErrorCode.REVERSAL_EXCEEDS_REMAINING,
      `entry ${original.id} has ${remaining} CP left to reverse; ${claims.amount} were asked`,
      {
        remaining: remaining.toString(),
      },
    );
  }
  const lotChanges = issue
    ? await takeBackFromIssueLot(tx, context, original.id, targets, claims.amount)
    : await giveBackToConsumedLots(tx, context.partnerId, original.id, claims.amount);
  if (isDomainError(lotChanges)) return lotChanges;
  return recordReversal(tx, context, claims, original, targets, lotChanges);
}

/** One of the partner's issues or redemptions; another partner's (or another type) is not found, like one that does not exist. */
async function findReversibleOrNull(tx: EntityManager, partnerId: string, entryId: string): Promise<OriginalEntry | null> {
  const [original]: OriginalEntry[] = await tx.query(
    // An activity's points are given back by a return activity (docs/loyalty-engine.md), not reversed here.
    `SELECT id, type, member_id, rates FROM journal_entry WHERE id = $1 AND partner_id = $2 AND type IN ('issue', 'redeem') AND NOT (rates ? 'activity')`,
    [entryId, partnerId],
  );
  return original ?? null;
}

/** What the entry moved through the member's CP wallet less what reversals took back already; null if it did not touch that wallet. */
async function remainingToReverseOrNull(tx: EntityManager, originalId: string, walletId: string): Promise<bigint | null> {
  const [{ moved, reversed }] = await tx.query(
    `SELECT (SELECT abs(amount) FROM posting WHERE entry_id = $1 AND account_id = $2)::text AS moved,
            (SELECT coalesce(sum(abs(p.amount)), 0) FROM journal_entry r JOIN posting p ON p.entry_id = r.id AND p.account_id = $2
             WHERE r.reverses_entry_id = $1)::text AS reversed`,
    [originalId, walletId],
  );
  return moved === null ? null : BigInt(moved) - BigInt(reversed);
}

/**
 * A refunded issue takes its points back out of the lot it made. Pending points (inside the
 * return window) come straight out of their lot; spendable points only as far as they are not
 * spent or on hold.
 */
async function takeBackFromIssueLot(
  tx: EntityManager,
  context: MovementContext,
  originalId: string,
  targets: MovementTargets,
  amount: bigint,
): Promise<LotChange[] | DomainError<ErrorCode.POINTS_ALREADY_SPENT>> {
  // The issue's one lot is in the wallet it credited: looked up through the wallet's lots (lot_all), as lot has no index on entry_id.
  const [lot]: Array<{ id: string; remaining: string; pending: boolean }> = await tx.query(
    'SELECT id, remaining, coalesce(vests_at > $2, false) AS pending FROM lot WHERE account_id = $3 AND entry_id = $1 FOR UPDATE',
    [originalId, context.now, targets.wallet.id],
  );
  assert(lot !== undefined, `issue ${originalId} has no lot`);
  const inLot = BigInt(lot.remaining);
  const spendable = targets.balance - targets.reserved;
  const takeable = lot.pending || inLot < spendable ? inLot : spendable;
  if (amount > takeable) {
    return fail(ErrorCode.POINTS_ALREADY_SPENT, `only ${takeable} CP of that issue are still in the wallet and not on hold`, {
      available: (takeable < 0n ? 0n : takeable).toString(),
    });
  }
  return [
    { lotId: lot.id, accountId: targets.wallet.id, issuerPartnerId: context.partnerId, consumerPartnerId: context.partnerId, amount },
  ];
}

/**
 * A refunded redemption gives its points back to the lots it consumed, net of earlier
 * reversals, latest-expiring first, as negative consumptions (which also undo the issuer→partner
 * obligation).
 */
async function giveBackToConsumedLots(tx: EntityManager, partnerId: string, originalId: string, amount: bigint): Promise<LotChange[]> {
  const consumed: Array<{ lot_id: string; account_id: string; issuer_partner_id: string; net: string }> = await tx.query(
    `SELECT c.lot_id, l.account_id, c.issuer_partner_id, sum(c.amount)::text AS net
     FROM lot_consumption c JOIN lot l ON l.id = c.lot_id
     WHERE c.entry_id = $1 OR c.entry_id IN (SELECT id FROM journal_entry WHERE reverses_entry_id = $1)
     GROUP BY c.lot_id, l.account_id, c.issuer_partner_id, l.expires_at, l.issued_at
     HAVING sum(c.amount) > 0
     ORDER BY l.expires_at DESC, l.issued_at DESC, c.lot_id DESC`,
    [originalId],
  );
  const changes: LotChange[] = [];
  let left = amount;
  for (const row of consumed) {
    if (left === 0n) break;
    const back = BigInt(row.net) < left ? BigInt(row.net) : left;
    changes.push({
      lotId: row.lot_id,
      accountId: row.account_id,
      issuerPartnerId: row.issuer_partner_id,
      consumerPartnerId: partnerId,
      amount: -back,
    });
    left -= back;
  }
  assert(left === 0n, `redemption ${originalId} holds less of its lots than it has left to reverse`);
  return changes;
}

/** The reversal entry, mirroring the original at its prices, and its lot changes. */
async function recordReversal(
  tx: EntityManager,
  context: MovementContext,
  claims: ReverseClaims,
  original: OriginalEntry,
  targets: MovementTargets,
  lotChanges: LotChange[],
): Promise<ReversalResult | DomainError<ErrorCode.POINTS_ALREADY_SPENT>> {
  const issue = original.type === 'issue';
  const sign = issue ? -1n : 1n;
  const posted = await postEntry(tx, {
    id: context.entryId,
    type: 'reversal',
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId: targets.memberId,
    orderRef: claims.orderRef,
    occurredAt: context.now,
    recordedAt: context.now,
    requestHash: context.requestHash,
    rates: original.rates,
    reversesEntryId: original.id,
    postings: [
      { accountId: targets.wallet.id, asset: CP, amount: sign * claims.amount, floored: true },
      { accountId: targets.counter.id, asset: CP, amount: -sign * claims.amount, floored: false },
    ],
    lots: { change: { reason: 'reversal', changes: lotChanges } },
    counterShards: context.counterShards,
  });
  // The points taken back were checked to be in the wallet and not on hold; should the kernel still find
  // them committed elsewhere, they are spent as far as a reversal goes.
  if (isDomainError(posted)) return fail(ErrorCode.POINTS_ALREADY_SPENT, posted.message, { available: posted.details.available ?? null });
  if (issue) await context.tiers.recordChange(tx, targets.memberId, -claims.amount, context.now);
  const counterKind = issue ? 'issuance' : 'redemption';
  return {
    entryId: context.entryId,
    memberId: targets.memberId,
    amount: claims.amount.toString(),
    balance: posted.balances.get(targets.wallet.id)!.toString(),
    recordedAt: context.now.toISOString(),
    rates: original.rates,
    postings: [
      { account: `member:${targets.memberId}:CP:wallet`, amount: (sign * claims.amount).toString() },
      { account: `partner:${context.partnerId}:CP:${counterKind}`, amount: (-sign * claims.amount).toString() },
    ],
    reversesEntryId: original.id,
  };
}
