import type { DataSource, EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { isDomainError } from '../common/errors';
import { newId } from '../common/ids';
import { withTransaction } from '../db/with-transaction';
import { postEntry, type LotChange } from '../ledger/kernel';
import { CP, ensureAccount } from '../ledger/ledger.repository';
import { ENTITLEMENT_COLUMNS, entitlementOf, type Entitlement, type EntitlementRow } from './entitlements';

/** Entitlements looked at per query. */
const BATCH = 200;

export interface RewardExpiryRun {
  /** Closed without a refund (policy `none`). */
  expired: number;
  /** Refunded to the member (policy `full`). */
  refunded: number;
  pointsRefunded: bigint;
}

/**
 * The reward-expiry job (docs/rewards.md): every entitlement still unused at its expiry is closed,
 * exactly once. Policy `full`: a `reward_refund` entry gives the price back to the member (the
 * points go back to the lots the redemption took them from, as a reversed redemption's do) and
 * undoes the reward's cost line on the providing partner's statement; policy `none`: it is marked
 * expired, and the points and the cost stay where they are. Each entitlement is closed in its own
 * transaction, under the member's wallet lock and then the entitlement's row lock, after reading
 * it again: two runs at once (or a run and a late use) close it once.
 */
export async function closeExpiredEntitlements(dataSource: DataSource, now: Date, counterShards: number): Promise<RewardExpiryRun> {
  const run: RewardExpiryRun = { expired: 0, refunded: 0, pointsRefunded: 0n };
  let after = '0';
  for (;;) {
    const due: Array<{ id: string; seq: string; member_id: string }> = await dataSource.query(
      `SELECT id, seq::text, member_id FROM entitlement WHERE status = 'issued' AND expires_at <= $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [now, after, BATCH],
    );
    for (const { id, member_id: memberId } of due) {
      const closed = await withTransaction(dataSource, (tx) => closeOne(tx, id, memberId, now, counterShards));
      if (closed === null) continue;
      if (closed.status === 'refunded') {
        run.refunded += 1;
        run.pointsRefunded += closed.pricePoints;
      } else {
        run.expired += 1;
      }
    }
    if (due.length < BATCH) return run;
    after = due[due.length - 1]!.seq;
  }
}

async function closeOne(tx: EntityManager, id: string, memberId: string, now: Date, counterShards: number): Promise<Entitlement | null> {
  // The wallet first (the global lock order), then the entitlement, read again under its lock.
  const [wallet]: Array<{ account_id: string }> = await tx.query(
    `SELECT b.account_id FROM account w JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
     WHERE w.owner_kind = 'member' AND w.owner_id = $1 AND w.asset = 'CP' AND w.kind = 'wallet' FOR UPDATE OF b`,
    [memberId],
  );
  assert(wallet, `member ${memberId} has no CP wallet`);
  const [row]: EntitlementRow[] = await tx.query(
    `SELECT ${ENTITLEMENT_COLUMNS} FROM entitlement WHERE id = $1 AND status = 'issued' AND expires_at <= $2 FOR UPDATE`,
    [id, now],
  );
  if (!row) return null;
  const entitlement = entitlementOf(row);
  if (entitlement.refundPolicy === 'none') {
    await tx.query(`UPDATE entitlement SET status = 'expired', closed_at = $2 WHERE id = $1`, [id, now]);
    return { ...entitlement, status: 'expired', closedAt: now };
  }
  const refundEntryId = newId();
  await postRefund(tx, entitlement, String(wallet.account_id), refundEntryId, now, counterShards);
  await tx.query(`UPDATE entitlement SET status = 'refunded', refund_entry_id = $2, closed_at = $3 WHERE id = $1`, [
    id,
    refundEntryId,
    now,
  ]);
  return { ...entitlement, status: 'refunded', refundEntryId, closedAt: now };
}

/** The refund entry: wallet +price, the providing partner's redemption account −price, the points back into the lots they came from. */
async function postRefund(
  tx: EntityManager,
  entitlement: Entitlement,
  walletId: string,
  entryId: string,
  now: Date,
  counterShards: number,
): Promise<void> {
  const [original]: Array<{ rates: Record<string, string> }> = await tx.query('SELECT rates FROM journal_entry WHERE id = $1', [
    entitlement.entryId,
  ]);
  assert(original, `the redemption entry ${entitlement.entryId} of entitlement ${entitlement.id} is missing`);
  const consumed: Array<{ lot_id: string; account_id: string; issuer_partner_id: string; amount: string }> = await tx.query(
    `SELECT c.lot_id, l.account_id, c.issuer_partner_id, sum(c.amount)::text AS amount
     FROM lot_consumption c JOIN lot l ON l.id = c.lot_id WHERE c.entry_id = $1
     GROUP BY c.lot_id, l.account_id, c.issuer_partner_id ORDER BY c.lot_id`,
    [entitlement.entryId],
  );
  const changes: LotChange[] = consumed.map((row) => ({
    lotId: row.lot_id,
    accountId: row.account_id,
    issuerPartnerId: row.issuer_partner_id,
    consumerPartnerId: entitlement.partnerId,
    amount: -BigInt(row.amount),
  }));
  const counter = await ensureAccount(tx, 'partner', entitlement.partnerId, CP, 'redemption');
  const price = entitlement.pricePoints;
  const posted = await postEntry(tx, {
    id: entryId,
    type: 'reward_refund',
    partnerId: entitlement.partnerId,
    jti: null,
    memberId: entitlement.memberId,
    orderRef: null,
    occurredAt: now,
    recordedAt: now,
    requestHash: null,
    // The entitlement links the two entries (entry_id, refund_entry_id); reverses_entry_id is for reversals only.
    rates: original.rates,
    postings: [
      { accountId: walletId, asset: CP, amount: price, floored: true },
      { accountId: counter.id, asset: CP, amount: -price, floored: false },
    ],
    lots: { change: { reason: 'reversal', changes } },
    counterShards,
  });
  // A credit to the wallet and a debit of a counter-account: nothing the kernel refuses.
  assert(!isDomainError(posted), `refund of entitlement ${entitlement.id} was refused`);
}
