import type { EntityManager } from 'typeorm';
import { queryRows } from '../db/sql';
import { recordEvents } from '../outbox/outbox';
import type { TimeScope } from '../common/clock';

/**
 * Holds and pending points reaching their time (docs/operations.md, "Jobs"). Each function takes
 * one batch in the caller's transaction: the rows it changes are locked `FOR UPDATE SKIP LOCKED`,
 * so two processes running it at once split the work and never take a row twice, and a row once
 * changed no longer matches, so running it again is harmless. The event of each change is written
 * in the same transaction.
 */

export interface ExpiredHold {
  holdId: string;
  partnerId: string;
  memberId: string;
  amount: bigint;
  orderRef: string | null;
  expiredAt: Date;
}

/**
 * Closes up to `limit` pending holds of the members of `scope` whose `expires_at` is at or before `now` as `expired`
 * (closed_at = expires_at) and writes one `hold.expired` each. A hold past its time already counts
 * as expired everywhere (it holds nothing, capture and void refuse it with HOLD_EXPIRED), so no
 * balance changes and no wallet is locked: a capture that got to the hold first keeps its lock,
 * and this skips it.
 */
export async function expireDueHolds(tx: EntityManager, now: Date, limit: number, scope: TimeScope): Promise<ExpiredHold[]> {
  const rows = await queryRows<{
    id: string;
    partner_id: string;
    member_id: string;
    amount: string;
    order_ref: string | null;
    expires_at: Date;
  }>(
    tx,
    `WITH due AS (
       SELECT id FROM hold
       WHERE status = 'pending' AND expires_at <= $1 AND member_test_clock(member_id::text) IS NOT DISTINCT FROM $3::uuid
       ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
     )
     UPDATE hold h SET status = 'expired', closed_at = h.expires_at FROM due WHERE h.id = due.id
     RETURNING h.id, h.partner_id, h.member_id, h.amount::text AS amount, h.order_ref, h.expires_at`,
    [now, limit, scope.testClockId],
  );
  const expired = rows.map((row) => ({
    holdId: row.id,
    partnerId: row.partner_id,
    memberId: row.member_id,
    amount: BigInt(row.amount),
    orderRef: row.order_ref,
    expiredAt: row.expires_at,
  }));
  await recordEvents(
    tx,
    expired.map((hold) => ({
      type: 'hold.expired' as const,
      partnerId: hold.partnerId,
      memberId: hold.memberId,
      occurredAt: now,
      data: { holdId: hold.holdId, amount: hold.amount.toString(), orderRef: hold.orderRef, expiredAt: hold.expiredAt.toISOString() },
    })),
  );
  return expired;
}

export interface VestedLot {
  lotId: string;
  entryId: string;
  issuerPartnerId: string;
  memberId: string;
  /** What became spendable: the lot's remainder when it vested (a refund inside the window may have taken some). */
  amount: bigint;
  vestedAt: Date;
}

/**
 * Announces up to `limit` lots of the members of `scope` whose `vests_at` is at or before `now` and that still hold points:
 * each is marked `vesting_announced_at` and gets one `points.vested` (scope: the issuer). Vesting
 * itself needs no write (a lot is spendable from `vests_at` on whether announced or not); a lot a
 * refund emptied inside its window never vested and is never announced, nor is one already past
 * its expiry (the expiry job takes it).
 */
export async function announceVestedLots(tx: EntityManager, now: Date, limit: number, scope: TimeScope): Promise<VestedLot[]> {
  const rows = await queryRows<{
    id: string;
    entry_id: string;
    issuer_partner_id: string;
    member_id: string;
    remaining: string;
    vests_at: Date;
  }>(
    tx,
    `WITH due AS (
       SELECT l.id FROM lot l JOIN account a ON a.id = l.account_id
       WHERE l.vests_at IS NOT NULL AND l.vesting_announced_at IS NULL AND l.remaining > 0 AND l.vests_at <= $1 AND l.expires_at > $1
         AND member_test_clock(a.owner_id) IS NOT DISTINCT FROM $3::uuid
       ORDER BY l.vests_at, l.id LIMIT $2 FOR UPDATE OF l SKIP LOCKED
     )
     UPDATE lot l SET vesting_announced_at = $1 FROM due, account a WHERE l.id = due.id AND a.id = l.account_id
     RETURNING l.id::text AS id, l.entry_id, l.issuer_partner_id, a.owner_id AS member_id, l.remaining::text AS remaining, l.vests_at`,
    [now, limit, scope.testClockId],
  );
  const vested = rows.map((row) => ({
    lotId: row.id,
    entryId: row.entry_id,
    issuerPartnerId: row.issuer_partner_id,
    memberId: row.member_id,
    amount: BigInt(row.remaining),
    vestedAt: row.vests_at,
  }));
  await recordEvents(
    tx,
    vested.map((lot) => ({
      type: 'points.vested' as const,
      partnerId: lot.issuerPartnerId,
      memberId: lot.memberId,
      occurredAt: now,
      data: { lotId: lot.lotId, entryId: lot.entryId, amount: lot.amount.toString(), vestedAt: lot.vestedAt.toISOString() },
    })),
  );
  return vested;
}
