import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { queryRows } from '../db/sql';
import { allocateFifo, assertBalanced, netByAccount, type LotTake, type OpenLot, type Posting } from './apply-entry';
import type { AccountKind, EntryType, OwnerKind } from './ledger.entity';

export const CP = 'CP';
export const HUB_OWNER = 'hub';

export interface AccountRef {
  id: string;
  /** Accounts with a floor (member wallets) keep one balance row, locked on debit. */
  floored: boolean;
}

export interface NewEntry {
  id: string;
  type: EntryType;
  partnerId: string;
  jti: string;
  memberId: string | null;
  orderRef: string | null;
  occurredAt: Date;
  recordedAt: Date;
  requestHash: string;
  rates?: Record<string, string>;
}

/** Finds or creates an account (INSERT … ON CONFLICT, never read-then-insert). */
export async function ensureAccount(
  tx: EntityManager,
  ownerKind: OwnerKind,
  ownerId: string,
  asset: string,
  kind: AccountKind,
): Promise<AccountRef> {
  const floored = kind === 'wallet';
  const inserted: Array<{ id: string }> = await tx.query(
    `INSERT INTO account (owner_kind, owner_id, asset, kind) VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner_kind, owner_id, asset, kind) DO NOTHING RETURNING id`,
    [ownerKind, ownerId, asset, kind],
  );
  if (inserted[0]) {
    if (floored) {
      await tx.query('INSERT INTO account_balance (account_id, shard, balance, floor) VALUES ($1, 0, 0, 0)', [inserted[0].id]);
    }
    return { id: inserted[0].id, floored };
  }
  const found: Array<{ id: string }> = await tx.query(
    'SELECT id FROM account WHERE owner_kind = $1 AND owner_id = $2 AND asset = $3 AND kind = $4',
    [ownerKind, ownerId, asset, kind],
  );
  assert(found[0], `account ${ownerKind}:${ownerId}:${asset}:${kind} vanished`);
  return { id: found[0].id, floored };
}

export async function findWalletOrNull(tx: EntityManager, memberId: string, asset = CP): Promise<AccountRef | null> {
  const rows: Array<{ id: string }> = await tx.query(
    `SELECT id FROM account WHERE owner_kind = 'member' AND owner_id = $1 AND asset = $2 AND kind = 'wallet'`,
    [memberId, asset],
  );
  return rows[0] ? { id: rows[0].id, floored: true } : null;
}

/** Locks a wallet's balance row for the rest of the transaction and returns the balance. */
export async function lockWallet(tx: EntityManager, wallet: AccountRef): Promise<bigint> {
  assert(wallet.floored, 'only floored accounts are locked');
  const rows: Array<{ balance: string }> = await tx.query(
    'SELECT balance FROM account_balance WHERE account_id = $1 AND shard = 0 FOR UPDATE',
    [wallet.id],
  );
  assert(rows[0], `wallet ${wallet.id} has no balance row`);
  return BigInt(rows[0].balance);
}

/**
 * Records one journal entry with its postings and moves the balances, all in the caller's
 * transaction. Returns the new balance of every floored account it touched.
 */
export async function recordEntry(
  tx: EntityManager,
  entry: NewEntry,
  postings: ReadonlyArray<Posting & { floored: boolean }>,
  counterShards: number,
): Promise<Map<string, bigint>> {
  assertBalanced(postings);
  await tx.query(
    `INSERT INTO journal_entry (id, type, partner_id, jti, member_id, order_ref, occurred_at, recorded_at, rates, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [entry.id, entry.type, entry.partnerId, entry.jti, entry.memberId, entry.orderRef, entry.occurredAt, entry.recordedAt,
      JSON.stringify(entry.rates ?? {}), entry.requestHash],
  );
  await tx.query(
    `INSERT INTO posting (entry_id, account_id, asset, amount)
     SELECT $1, account_id, asset, amount FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS p(account_id, asset, amount)`,
    [entry.id, postings.map((p) => p.accountId), postings.map((p) => p.asset), postings.map((p) => p.amount.toString())],
  );
  const flooredIds = new Set(postings.filter((p) => p.floored).map((p) => p.accountId));
  const balances = new Map<string, bigint>();
  for (const [accountId, delta] of netByAccount(postings)) {
    if (delta === 0n) continue;
    if (flooredIds.has(accountId)) {
      const rows = await queryRows<{ balance: string }>(
        tx,
        'UPDATE account_balance SET balance = balance + $2 WHERE account_id = $1 AND shard = 0 RETURNING balance',
        [accountId, delta.toString()],
      );
      assert(rows[0], `floored account ${accountId} has no balance row`);
      balances.set(accountId, BigInt(rows[0].balance));
    } else {
      // Counter-accounts spread their balance over `counterShards` rows (see the migration).
      const shard = Math.floor(Math.random() * counterShards);
      await tx.query(
        `INSERT INTO account_balance (account_id, shard, balance) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, shard) DO UPDATE SET balance = account_balance.balance + EXCLUDED.balance`,
        [accountId, shard, delta.toString()],
      );
    }
  }
  return balances;
}

export interface NewLot {
  accountId: string;
  issuerPartnerId: string;
  entryId: string;
  amount: bigint;
  issuedAt: Date;
  expiresAt: Date;
}

export async function createLot(tx: EntityManager, lot: NewLot): Promise<void> {
  await tx.query(
    `INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at)
     VALUES ($1, $2, $3, $4, $4, $5, $6)`,
    [lot.accountId, lot.issuerPartnerId, lot.entryId, lot.amount.toString(), lot.issuedAt, lot.expiresAt],
  );
}

/**
 * Consumes `amount` from a wallet's lots, first-expiring-first-out (ties: issue time, then id),
 * and records which issuer's points went to `consumerPartnerId`. The wallet must already be
 * locked by the caller, so the lots cannot change underneath.
 */
export async function consumeLots(
  tx: EntityManager,
  walletId: string,
  amount: bigint,
  entryId: string,
  consumerPartnerId: string,
): Promise<LotTake[]> {
  // Enough lots to cover the amount, and no more: a running sum stops the scan early.
  const rows: Array<{ id: string; issuer_partner_id: string; remaining: string }> = await tx.query(
    `SELECT id, issuer_partner_id, remaining FROM (
       SELECT id, issuer_partner_id, remaining, expires_at, issued_at,
              sum(remaining) OVER (ORDER BY expires_at, issued_at, id) - remaining AS before
       FROM lot WHERE account_id = $1 AND remaining > 0
     ) AS l WHERE before < $2 ORDER BY expires_at, issued_at, id`,
    [walletId, amount.toString()],
  );
  const lots: OpenLot[] = rows.map((row) => ({ id: row.id, issuerPartnerId: row.issuer_partner_id, remaining: BigInt(row.remaining) }));
  const takes = allocateFifo(lots, amount);
  await tx.query(
    `UPDATE lot SET remaining = remaining - t.take FROM unnest($1::bigint[], $2::bigint[]) AS t(id, take) WHERE lot.id = t.id`,
    [takes.map((t) => t.lotId), takes.map((t) => t.amount.toString())],
  );
  await tx.query(
    `INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount)
     SELECT id, $3, issuer, $4, take FROM unnest($1::bigint[], $2::bigint[], $5::text[]) AS t(id, take, issuer)`,
    [takes.map((t) => t.lotId), takes.map((t) => t.amount.toString()), entryId, consumerPartnerId, takes.map((t) => t.issuerPartnerId)],
  );
  return takes;
}
