import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { decimalText } from '../common/decimal';
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
  /** Null only for entries the hub's jobs make (expiry), which answer no instruction. */
  jti: string | null;
  memberId: string | null;
  orderRef: string | null;
  occurredAt: Date;
  recordedAt: Date;
  requestHash: string | null;
  rates?: Record<string, string>;
  reversesEntryId?: string | null;
  /** The other member of a transfer (the recipient). */
  counterMemberId?: string | null;
  /** The dispute an adjustment resolves. */
  disputeId?: string | null;
}

/** Finds or creates an account (INSERT … ON CONFLICT, never read-then-insert). */
export async function ensureAccount(
  tx: EntityManager,
  ownerKind: OwnerKind,
  ownerId: string,
  asset: string,
  kind: AccountKind,
): Promise<AccountRef> {
  // Single-row accounts, locked by whoever debits them: wallets and a partner's funding accounts.
  const floored = kind === 'wallet' || kind === 'prefunding' || kind === 'exposure';
  const inserted: Array<{ id: string }> = await tx.query(
    `INSERT INTO account (owner_kind, owner_id, asset, kind) VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner_kind, owner_id, asset, kind) DO NOTHING RETURNING id`,
    [ownerKind, ownerId, asset, kind],
  );
  if (inserted[0]) {
    if (floored) {
      // The balance starts at its default, zero: only postings move it (the posting trigger).
      await tx.query(`INSERT INTO account_balance (account_id, kind, shard) VALUES ($1, $2, 0)`, [inserted[0].id, kind]);
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

export interface MovementTargets {
  memberId: string;
  wallet: AccountRef;
  counter: AccountRef;
  /** The wallet's balance; read under a row lock when the targets were found `forDebit`. */
  balance: bigint;
  /** What cannot be spent now: points on hold and points not yet vested. Spendable = balance − reserved. */
  reserved: bigint;
  /** The partner's contract in force at the entry's time: its prices go on the entry. */
  contract: {
    id: string;
    currency: string;
    issuePrice: string;
    redeemPrice: string;
    lotLifetimeMonths: number;
    pendingDays: number;
    tierMultipliers: Record<string, string>;
    fundingMode: 'postpaid' | 'prepaid';
    netDebitCapMinor: string | null;
  };
}

/**
 * Everything an issue or a redemption at `partnerId` needs, in one round trip: the member behind
 * the partner's reference, the member's CP wallet, the partner's counter-account, and the partner's
 * lot lifetime. `forDebit` locks the wallet's balance row for the rest of the transaction, so two
 * debits of one wallet are decided one after the other. Null when the reference is not enrolled.
 */
export async function findMovementTargets(
  tx: EntityManager,
  partnerId: string,
  member: { ref: string } | { id: string },
  counterKind: 'issuance' | 'redemption',
  forDebit: boolean,
  at: Date,
): Promise<MovementTargets | null> {
  const memberClause = 'ref' in member ? 'l.member_ref = $2' : 'l.member_id = $2::uuid';
  const memberValue = 'ref' in member ? member.ref : member.id;
  if (forDebit) {
    // Lock first, in a statement of its own: under READ COMMITTED the next statement then sees
    // every hold, lot and balance committed before the lock was granted. (Reading them in the
    // locking statement would use the snapshot taken before waiting for the lock.)
    const locked: unknown[] = await tx.query(
      `SELECT b.account_id FROM member_link l
       JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
       JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
       WHERE l.partner_id = $1 AND ${memberClause} FOR UPDATE OF b`,
      [partnerId, memberValue],
    );
    if (locked.length === 0) return null;
  }
  // Inner joins are exact: enrolment creates the wallet in the transaction that creates the link,
  // and registration the partner's counter-accounts and first contract.
  const rows: Array<Record<string, any>> = await tx.query(
    `SELECT l.member_id, w.id AS wallet_id, c.id AS counter_id, b.balance,
            k.id AS contract_id, k.currency, k.issue_price::text, k.redeem_price::text, k.lot_lifetime_months, k.pending_days, k.tier_multipliers,
            k.funding_mode, k.net_debit_cap_minor::text,
            wallet_reserved(w.id, $4) AS reserved
     FROM partner p
     JOIN member_link l ON l.partner_id = p.id AND ${memberClause}
     JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
     JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
     JOIN account c ON c.owner_kind = 'partner' AND c.owner_id = p.id AND c.asset = 'CP' AND c.kind = $3
     JOIN LATERAL (
       SELECT id, currency, issue_price, redeem_price, lot_lifetime_months, pending_days, tier_multipliers, funding_mode, net_debit_cap_minor FROM partner_contract
       WHERE partner_id = p.id AND valid_from <= $4 ORDER BY valid_from DESC LIMIT 1
     ) k ON true
     WHERE p.id = $1`,
    [partnerId, memberValue, counterKind, at],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    memberId: String(row.member_id),
    wallet: { id: String(row.wallet_id), floored: true },
    counter: { id: String(row.counter_id), floored: false },
    balance: BigInt(row.balance!),
    reserved: BigInt(row.reserved!),
    contract: {
      id: String(row.contract_id),
      currency: String(row.currency),
      issuePrice: decimalText(String(row.issue_price)),
      redeemPrice: decimalText(String(row.redeem_price)),
      lotLifetimeMonths: Number(row.lot_lifetime_months),
      pendingDays: Number(row.pending_days),
      tierMultipliers: row.tier_multipliers as Record<string, string>,
      fundingMode: row.funding_mode,
      netDebitCapMinor: row.net_debit_cap_minor ?? null,
    },
  };
}

/**
 * Records one journal entry with its postings, in the caller's transaction. The database moves
 * the balances from the postings (trigger posting_moves_balances: the hub's role cannot write a
 * balance itself); counter-accounts spread over `counterShards` rows. Returns the new balance of
 * every floored account the entry moved.
 */
export async function recordEntry(
  tx: EntityManager,
  entry: NewEntry,
  postings: ReadonlyArray<Posting & { floored: boolean }>,
  counterShards: number,
): Promise<Map<string, bigint>> {
  assertBalanced(postings);
  // The entry and its postings in one statement (one round trip); the shard count rides along
  // for the balance trigger, which runs at the end of this statement.
  await tx.query(
    `WITH settings AS (SELECT set_config('coalition.counter_shards', $17::text, true)),
     entry AS (
       INSERT INTO journal_entry (id, type, partner_id, jti, member_id, order_ref, occurred_at, recorded_at, rates, request_hash, reverses_entry_id, counter_member_id, dispute_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $15, $16) RETURNING id
     )
     INSERT INTO posting (entry_id, account_id, asset, amount)
     SELECT entry.id, p.account_id, p.asset, p.amount
     FROM entry, settings, unnest($11::bigint[], $12::text[], $13::bigint[]) AS p(account_id, asset, amount)`,
    [
      entry.id,
      entry.type,
      entry.partnerId,
      entry.jti,
      entry.memberId,
      entry.orderRef,
      entry.occurredAt,
      entry.recordedAt,
      JSON.stringify(entry.rates ?? {}),
      entry.requestHash,
      postings.map((p) => p.accountId),
      postings.map((p) => p.asset),
      postings.map((p) => p.amount.toString()),
      entry.reversesEntryId ?? null,
      entry.counterMemberId ?? null,
      entry.disputeId ?? null,
      String(counterShards),
    ],
  );
  const flooredIds = new Set(postings.filter((p) => p.floored).map((p) => p.accountId));
  const moved = [...netByAccount(postings)]
    .filter(([accountId, delta]) => delta !== 0n && flooredIds.has(accountId))
    .map(([accountId]) => accountId);
  const balances = new Map<string, bigint>();
  if (moved.length === 0) return balances;
  const rows: Array<{ account_id: string; balance: string }> = await tx.query(
    'SELECT account_id, balance FROM account_balance WHERE account_id = ANY($1::bigint[]) AND shard = 0',
    [moved],
  );
  for (const row of rows) balances.set(String(row.account_id), BigInt(row.balance));
  for (const accountId of moved) assert(balances.has(accountId), `floored account ${accountId} has no balance row`);
  return balances;
}

export interface NewLot {
  accountId: string;
  issuerPartnerId: string;
  entryId: string;
  amount: bigint;
  issuedAt: Date;
  expiresAt: Date;
  /** Pending until then (a return window); null: spendable at once. */
  vestsAt?: Date | null;
}

export async function createLot(tx: EntityManager, lot: NewLot): Promise<void> {
  await tx.query(
    `INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, vests_at)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
    [lot.accountId, lot.issuerPartnerId, lot.entryId, lot.amount.toString(), lot.issuedAt, lot.expiresAt, lot.vestsAt ?? null],
  );
}

/** Lots read per round trip while consuming: enough for almost every redemption in one. */
const LOT_BATCH = 64;

/**
 * Consumes `amount` from a wallet's lots, first-expiring-first-out (ties: issue time, then id),
 * and records which issuer's points went to `consumerPartnerId`. The wallet must already be
 * locked by the caller, so the lots cannot change underneath. Lots are read in spending order
 * along the index, a batch at a time, so a redemption touches only the lots it consumes.
 */
export async function consumeLots(
  tx: EntityManager,
  walletId: string,
  amount: bigint,
  entryId: string,
  consumerPartnerId: string,
  /** Only lots of these issuers (default: all), and why they are consumed (default: a redemption). */
  /** At `at` (the entry's time): only lots vested and not yet expired are spent. */
  options: { at: Date; issuers?: readonly string[]; kind?: 'redeem' | 'transfer' | 'exchange' },
): Promise<LotTake[]> {
  const takes: LotTake[] = [];
  let left = amount;
  // Keyset position as PostgreSQL text, so that timestamps keep their microseconds.
  let after: { expiresAt: string; issuedAt: string; id: string } | null = null;
  while (left > 0n) {
    const rows: Array<{ id: string; issuer_partner_id: string; remaining: string; expires_at: string; issued_at: string }> = await tx.query(
      `SELECT id, issuer_partner_id, remaining, expires_at::text AS expires_at, issued_at::text AS issued_at FROM lot
       WHERE account_id = $1 AND remaining > 0
         AND ($2::timestamptz IS NULL OR (expires_at, issued_at, id) > ($2::timestamptz, $3::timestamptz, $4::bigint))
         AND ($6::text[] IS NULL OR issuer_partner_id = ANY($6::text[]))
         AND (vests_at IS NULL OR vests_at <= $7) AND expires_at > $7
       ORDER BY expires_at, issued_at, id LIMIT $5`,
      [walletId, after?.expiresAt ?? null, after?.issuedAt ?? null, after?.id ?? null, LOT_BATCH, options.issuers ?? null, options.at],
    );
    assert(rows.length > 0, `wallet ${walletId}: lots fall ${left} short of ${amount}`);
    const lots: OpenLot[] = rows.map((row) => ({ id: row.id, issuerPartnerId: row.issuer_partner_id, remaining: BigInt(row.remaining) }));
    const available = lots.reduce((sum, lot) => sum + lot.remaining, 0n);
    const batch = allocateFifo(lots, available < left ? available : left);
    takes.push(...batch);
    left -= batch.reduce((sum, take) => sum + take.amount, 0n);
    const last = rows[rows.length - 1]!;
    after = { expiresAt: last.expires_at, issuedAt: last.issued_at, id: last.id };
  }
  await recordLotChanges(
    tx,
    entryId,
    options.kind ?? 'redeem',
    takes.map((take) => ({ lotId: take.lotId, issuerPartnerId: take.issuerPartnerId, consumerPartnerId, amount: take.amount })),
  );
  return takes;
}

export interface LotChange {
  lotId: string;
  issuerPartnerId: string;
  /** Where the points went; null for expiry (the hub's breakage). */
  consumerPartnerId: string | null;
  /** Taken from the lot; negative gives back (a reversed redemption). */
  amount: bigint;
}

/**
 * Moves lots and records why, in one statement: every change to a lot's remainder has its
 * consumption record, so that consumption always explains the lot (ledgerIntegrity checks it).
 */
export async function recordLotChanges(
  tx: EntityManager,
  entryId: string,
  kind: 'redeem' | 'expire' | 'reversal' | 'transfer' | 'exchange',
  changes: readonly LotChange[],
): Promise<void> {
  await tx.query(
    `WITH t AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS t(id, amount, issuer, consumer)),
     moved AS (UPDATE lot SET remaining = remaining - t.amount FROM t WHERE lot.id = t.id)
     INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount, kind)
     SELECT id, $5, issuer, consumer, amount, $6 FROM t`,
    [
      changes.map((change) => change.lotId),
      changes.map((change) => change.amount.toString()),
      changes.map((change) => change.issuerPartnerId),
      changes.map((change) => change.consumerPartnerId),
      entryId,
      kind,
    ],
  );
}
