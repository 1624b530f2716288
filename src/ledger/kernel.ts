import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { DomainError, ErrorCode, fail } from '../common/errors';
import { allocateFifo, assertBalanced, netByAccount, type LotTake, type OpenLot, type Posting } from './apply-entry';
import { queryRows } from '../db/sql';
import { CP, type NewEntry } from './ledger.repository';
import type { AccountKind } from './types';

/**
 * The ledger kernel's write API (docs/ledger.md, "The kernel"). Every statement that writes a
 * ledger table (account, account_balance, journal_entry, posting, lot, lot_consumption, hold) is
 * in src/ledger/; the operations above decide, then call `postEntry`, `placeHold` or `voidHold`.
 *
 * Lock order, for every path: member wallets (ascending account id), then a partner's funding
 * rows (prefunding, exposure), then counter-accounts (through the balance trigger). An operation
 * that must decide under a lock takes it first with a kernel reader (`findMovementTargets`,
 * `lockWallets`); `postEntry` locks what it debits again in the same order, which is free for
 * rows already held.
 */

/** A posting as written: `floored` accounts (wallets, funding rows) keep one balance row that may never go below zero. */
export interface EntryPosting extends Posting {
  floored: boolean;
}

/** `insufficientBalance`: what the refused amounts are in, CP or a partner unit's code. */
export const insufficientBalance = (available: bigint, requested: bigint, asset = 'CP'): DomainError<ErrorCode.INSUFFICIENT_BALANCE> =>
  fail(ErrorCode.INSUFFICIENT_BALANCE, `the member can spend ${available} ${asset}, ${requested} were asked`, {
    available: available.toString(),
    requested: requested.toString(),
    asset,
  });

/** A new CP lot in a wallet. */
export interface NewLot {
  accountId: string;
  issuerPartnerId: string;
  amount: bigint;
  issuedAt: Date;
  expiresAt: Date;
  /** Pending until then (a return window); null: spendable at once. */
  vestsAt?: Date | null;
  /** Made and spent at once at this partner (an exchange X → Y: the CP never rest in the wallet). */
  spentAt?: string;
}

/** Spends `amount` from a wallet's spendable lots, first-expiring-first-out. */
export interface LotConsumption {
  accountId: string;
  amount: bigint;
  consumerPartnerId: string;
  reason: 'redeem' | 'transfer' | 'exchange';
  /** Only lots of these issuers (default: all). */
  issuers?: readonly string[];
  /** A transfer: the taken points become child lots (same issuer, issue time, expiry) in this wallet. */
  copyTo?: string;
}

/** An explicit change to one lot's remainder (positive takes, negative gives back). */
export interface LotChange {
  lotId: string;
  /** The wallet the lot is in. */
  accountId: string;
  issuerPartnerId: string;
  /** Where the points went; null for expiry (the hub's breakage). */
  consumerPartnerId: string | null;
  amount: bigint;
}

export interface LotMoves {
  create?: readonly NewLot[];
  consume?: LotConsumption;
  change?: { reason: 'reversal' | 'expire'; changes: readonly LotChange[] };
}

export interface PostEntryInput extends NewEntry {
  postings: readonly EntryPosting[];
  lots?: LotMoves;
  /** A pending hold this entry captures: closed with the entry, so its points are no longer reserved. */
  captures?: { holdId: string; amount: bigint };
  /** Counter-accounts spread their balance over this many rows. */
  counterShards: number;
  /**
   * Balances of floored accounts that the caller read under a row lock it took earlier in this
   * transaction (a locked row is read at its latest version, and nobody else can move it until the
   * commit). An entry that only adds computes its new balances from these instead of reading them
   * again after the write.
   */
  lockedBalances?: ReadonlyMap<string, bigint>;
}

export interface PostedEntry {
  entryId: string;
  /** The new balance of every floored account the entry moved. */
  balances: Map<string, bigint>;
  /** What a FIFO consumption took, lot by lot. */
  takes: LotTake[];
}

/**
 * Pure: the lot moves of an entry change each CP wallet's lots by exactly what its postings
 * change its balance (a CP posting on a floored account is a wallet's), so a wallet's lots
 * always sum to its balance.
 */
export function lotMovesMatchPostings(postings: readonly EntryPosting[], lots: LotMoves | undefined): Map<string, bigint> {
  const byWallet = new Map<string, bigint>();
  const add = (accountId: string, amount: bigint) => byWallet.set(accountId, (byWallet.get(accountId) ?? 0n) + amount);
  for (const posting of postings) if (posting.floored && posting.asset === CP) add(posting.accountId, posting.amount);
  for (const lot of lots?.create ?? []) {
    assert(lot.amount > 0n, 'a lot is made with a positive amount');
    if (!lot.spentAt) add(lot.accountId, -lot.amount);
  }
  if (lots?.consume) {
    assert(lots.consume.amount > 0n, 'a consumption takes a positive amount');
    add(lots.consume.accountId, lots.consume.amount);
    if (lots.consume.copyTo) add(lots.consume.copyTo, -lots.consume.amount);
  }
  for (const change of lots?.change?.changes ?? []) {
    assert(change.amount !== 0n, 'a lot change never moves zero');
    add(change.accountId, change.amount);
  }
  for (const [accountId, difference] of byWallet) if (difference === 0n) byWallet.delete(accountId);
  return byWallet;
}

export function assertLotMovesMatchPostings(postings: readonly EntryPosting[], lots: LotMoves | undefined): void {
  const mismatched = lotMovesMatchPostings(postings, lots);
  assert(
    mismatched.size === 0,
    `lot moves do not match the postings: ${[...mismatched].map(([accountId, difference]) => `wallet ${accountId} ${difference}`).join(', ')}`,
  );
}

interface SpendableRow {
  account_id: string;
  kind: AccountKind;
  balance: string;
  reserved: string;
  in_lots: string;
}

const SPENDABLE_COLUMNS = `b.account_id, a.kind, b.balance::text, wallet_reserved(b.account_id, $2)::text AS reserved,
  (SELECT coalesce(sum(remaining), 0) FROM lot WHERE lot.account_id = b.account_id AND remaining > 0)::text AS in_lots`;

/**
 * Locks floored accounts' balance rows in the global order: wallets by ascending account id,
 * then funding rows. Rows this transaction holds already cost nothing. An operation locks what it
 * debits with this (or `findMovementTargets`) before it reads what it decides on.
 */
export async function lockFloored(tx: EntityManager, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length === 0) return;
  await tx.query(
    `SELECT b.account_id FROM account_balance b JOIN account a ON a.id = b.account_id
     WHERE b.account_id = ANY($1::bigint[]) AND b.shard = 0 ORDER BY (a.kind <> 'wallet'), b.account_id FOR UPDATE OF b`,
    [[...accountIds]],
  );
}

/**
 * Books every counter posting of this transaction on one shard (`coalition.counter_shard`, read by
 * the balance trigger) and locks that shard's row of the given partners' CP counters, in account
 * order, making any row the shard has not used yet at zero (a batch: docs/batches.md).
 */
export async function lockCounterShard(
  tx: EntityManager,
  counters: ReadonlyArray<{ owner: string; kind: string }>,
  shard: number,
): Promise<void> {
  const owners = counters.map((counter) => counter.owner);
  const kinds = counters.map((counter) => counter.kind);
  await tx.query(
    `WITH setting AS (SELECT set_config('coalition.counter_shard', $3::text, true) AS shard),
     counters AS (
       SELECT a.id, a.kind FROM unnest($1::text[], $2::text[]) AS w(owner, kind)
       JOIN account a ON a.owner_kind = 'partner' AND a.owner_id = w.owner AND a.asset = 'CP' AND a.kind = w.kind
     )
     INSERT INTO account_balance (account_id, kind, shard)
     SELECT counters.id, counters.kind, setting.shard::smallint FROM counters, setting
     ON CONFLICT (account_id, shard) DO NOTHING`,
    [owners, kinds, shard],
  );
  if (counters.length === 0) return;
  await tx.query(
    `SELECT b.account_id FROM account_balance b
     JOIN account a ON a.id = b.account_id
     JOIN unnest($1::text[], $2::text[]) AS w(owner, kind) ON a.owner_kind = 'partner' AND a.owner_id = w.owner AND a.asset = 'CP' AND a.kind = w.kind
     WHERE b.shard = $3 ORDER BY b.account_id FOR UPDATE OF b`,
    [owners, kinds, shard],
  );
}

/** A lot as a consumption reads it: in spending order, timestamps as PostgreSQL text (microseconds kept). */
interface LotRow {
  id: string;
  issuer_partner_id: string;
  remaining: string;
  expires_at: string;
  issued_at: string;
}

/**
 * lockFloored, and what each account can spend, in one statement; with a consumption, also the
 * first batch of the lots it spends (in spending order), so that a redemption reads its wallet and
 * its lots in one round trip. The operation locked these rows before it decided, so this statement
 * waits for nothing and reads every hold and lot committed before that lock.
 */
async function lockAndReadSpendable(
  tx: EntityManager,
  accountIds: readonly string[],
  at: Date,
  consumption?: LotConsumption,
): Promise<{ rows: Map<string, SpendableRow>; firstLots: LotRow[] | undefined }> {
  if (accountIds.length === 0) return { rows: new Map(), firstLots: undefined };
  const rows: Array<SpendableRow & { first_lots: LotRow[] | null }> = await tx.query(
    `SELECT ${SPENDABLE_COLUMNS},
       CASE WHEN b.account_id = $3::bigint THEN (
         SELECT coalesce(json_agg(json_build_object('id', l.id::text, 'issuer_partner_id', l.issuer_partner_id,
                  'remaining', l.remaining::text, 'expires_at', l.expires_at::text, 'issued_at', l.issued_at::text)
                  ORDER BY l.expires_at, l.issued_at, l.id), '[]'::json)
         FROM (SELECT id, issuer_partner_id, remaining, expires_at, issued_at FROM lot
               WHERE account_id = b.account_id AND remaining > 0
                 AND ($4::text[] IS NULL OR issuer_partner_id = ANY($4::text[]))
                 AND (vests_at IS NULL OR vests_at <= $2) AND expires_at > $2
               ORDER BY expires_at, issued_at, id LIMIT $5) l
       ) END AS first_lots
     FROM account_balance b JOIN account a ON a.id = b.account_id
     WHERE b.account_id = ANY($1::bigint[]) AND b.shard = 0 ORDER BY (a.kind <> 'wallet'), b.account_id FOR UPDATE OF b`,
    [[...accountIds], at, consumption?.accountId ?? null, consumption?.issuers ?? null, LOT_BATCH],
  );
  const first = rows.find((row) => consumption && String(row.account_id) === consumption.accountId)?.first_lots ?? undefined;
  return { rows: new Map(rows.map((row) => [String(row.account_id), row])), firstLots: first };
}

/** Accounts whose balance is what their owner can spend: a debit never takes them below zero (a capped exposure may go negative). */
const SPENDABLE_KINDS: ReadonlySet<AccountKind> = new Set(['wallet', 'prefunding']);

/** Balance, reserved (holds, pending and expired lots) and CP in lots of floored accounts, without locking. */
async function readSpendable(tx: EntityManager, accountIds: readonly string[], at: Date): Promise<Map<string, SpendableRow>> {
  if (accountIds.length === 0) return new Map();
  const rows: SpendableRow[] = await tx.query(
    `SELECT ${SPENDABLE_COLUMNS} FROM account_balance b JOIN account a ON a.id = b.account_id WHERE b.account_id = ANY($1::bigint[]) AND b.shard = 0`,
    [[...accountIds], at],
  );
  return new Map(rows.map((row) => [String(row.account_id), row]));
}

/** Only the balances of floored accounts (reserved and in_lots are not read: '0' and the balance). */
async function readBalances(tx: EntityManager, accountIds: readonly string[]): Promise<Map<string, SpendableRow>> {
  if (accountIds.length === 0) return new Map();
  const rows: SpendableRow[] = await tx.query(
    `SELECT b.account_id, a.kind, b.balance::text, '0' AS reserved, b.balance::text AS in_lots
     FROM account_balance b JOIN account a ON a.id = b.account_id WHERE b.account_id = ANY($1::bigint[]) AND b.shard = 0`,
    [[...accountIds]],
  );
  return new Map(rows.map((row) => [String(row.account_id), row]));
}

/** The rows readBalances would read, for accounts locked before an entry that only adds: what they held plus what the entry moved. */
function addedTo(
  locked: ReadonlyMap<string, bigint>,
  accountIds: readonly string[],
  net: ReadonlyArray<[string, bigint]>,
): Map<string, SpendableRow> {
  const rows = new Map<string, SpendableRow>();
  for (const accountId of accountIds) {
    const balance = (locked.get(accountId)! + net.find(([id]) => id === accountId)![1]).toString();
    rows.set(accountId, { account_id: accountId, kind: 'wallet', balance, reserved: '0', in_lots: balance });
  }
  return rows;
}

const spendableOf = (row: SpendableRow | undefined): bigint => (row ? BigInt(row.balance) - BigInt(row.reserved) : 0n);

/**
 * Posts one journal entry in the caller's transaction: checks it balances per asset and that its
 * lot moves match its postings (assertions: a mismatch is a bug), locks what it debits in the
 * global order, writes the entry, postings (the balance trigger moves the balances), lots, lot
 * consumption and a captured hold, then checks that no debited account's spendable amount fell
 * below zero (or below where it already was): an overspend is refused as InsufficientBalance and
 * the caller's transaction rolls back.
 */
export async function postEntry(
  tx: EntityManager,
  input: PostEntryInput,
): Promise<PostedEntry | DomainError<ErrorCode.INSUFFICIENT_BALANCE>> {
  const { postings, lots } = input;
  assertBalanced(postings);
  assertLotMovesMatchPostings(postings, lots);
  const at = input.recordedAt;
  const flooredIds = new Set(postings.filter((p) => p.floored).map((p) => p.accountId));
  const net = netByAccount(postings);
  const debited = net.filter(([accountId, delta]) => delta < 0n && flooredIds.has(accountId)).map(([accountId]) => accountId);
  const { rows: before, firstLots } = await lockAndReadSpendable(tx, debited, at, lots?.consume);
  const refusal = (accountId: string): DomainError<ErrorCode.INSUFFICIENT_BALANCE> => {
    const was = spendableOf(before.get(accountId));
    const requested = -net.find(([id]) => id === accountId)![1];
    return insufficientBalance(was < 0n ? 0n : was, requested, postings.find((p) => p.accountId === accountId)!.asset);
  };
  const guarded = debited.filter((id) => SPENDABLE_KINDS.has(before.get(id)!.kind));
  // What the balance alone cannot cover is refused before anything is written.
  for (const accountId of guarded) {
    if (BigInt(before.get(accountId)!.balance) + net.find(([id]) => id === accountId)![1] < 0n) return refusal(accountId);
  }

  // Lots are read before the entry is written (the wallet is locked): the entry, its postings, its new lots and
  // every lot change then go to the database in one statement.
  const takes = lots?.consume ? await takeLots(tx, lots.consume, at, firstLots) : [];
  const changes = lotChangesOf(lots, takes);
  const inlineLots = (lots?.create ?? []).filter((lot) => !lot.spentAt);
  assert(
    !lots?.consume || !inlineLots.some((lot) => lot.accountId === lots.consume!.accountId),
    'an entry does not both make and consume lots in one wallet',
  );
  const applied = await recordEntry(tx, input, postings, input.counterShards, inlineLots, changes);
  assert(applied === changes.length, `entry ${input.id}: ${changes.length - applied} lot changes name a lot not in their wallet`);
  if (lots) await moveOtherLots(tx, input.id, lots, takes);
  if (input.captures) {
    const closed = await queryRows(
      tx,
      `UPDATE hold SET status = 'captured', captured = $2, closed_at = $3, capture_entry_id = $4 WHERE id = $1 AND status = 'pending' RETURNING id`,
      [input.captures.holdId, input.captures.amount.toString(), at, input.id],
    );
    assert(closed.length === 1, `hold ${input.captures.holdId} is not pending`);
  }

  const moved = net.filter(([accountId, delta]) => delta !== 0n && flooredIds.has(accountId)).map(([accountId]) => accountId);
  // An entry that debits nothing and takes from no lot only adds (its new lots were checked against
  // its postings above), so it cannot break what the full read checks: its balances are enough.
  const checking = guarded.length > 0 || lots?.change !== undefined || lots?.consume !== undefined;
  const locked = input.lockedBalances;
  const after = checking
    ? await readSpendable(tx, moved, at)
    : locked && moved.every((accountId) => locked.has(accountId))
      ? addedTo(locked, moved, net)
      : await readBalances(tx, moved);
  const balances = new Map<string, bigint>();
  for (const accountId of moved) {
    const row = after.get(accountId);
    assert(row, `floored account ${accountId} has no balance row`);
    balances.set(accountId, BigInt(row.balance));
    const cpWallet = postings.some((p) => p.accountId === accountId && p.asset === CP);
    if (checking && cpWallet)
      assert(row.in_lots === row.balance, `wallet ${accountId}: lots hold ${row.in_lots}, the balance is ${row.balance}`);
  }
  // Held, pending and expired points are not spendable either: what was spendable may not fall below zero (or below where it was).
  for (const accountId of guarded) {
    const was = spendableOf(before.get(accountId));
    if (spendableOf(after.get(accountId)) < (was < 0n ? was : 0n)) return refusal(accountId);
  }
  return { entryId: input.id, balances, takes };
}

export interface NewHold {
  id: string;
  partnerId: string;
  jti: string;
  memberId: string;
  walletId: string;
  amount: bigint;
  orderRef: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * Places a hold on a wallet (its points stay in the balance, no longer spendable). Locks the
 * wallet and refuses, as InsufficientBalance, a hold larger than what the member can spend.
 * Returns what is spendable after.
 */
export async function placeHold(tx: EntityManager, hold: NewHold): Promise<bigint | DomainError<ErrorCode.INSUFFICIENT_BALANCE>> {
  assert(hold.amount > 0n, 'a hold is for a positive amount');
  const was = spendableOf((await lockAndReadSpendable(tx, [hold.walletId], hold.createdAt)).rows.get(hold.walletId));
  if (was < hold.amount) return insufficientBalance(was < 0n ? 0n : was, hold.amount);
  await tx.query(
    `INSERT INTO hold (id, partner_id, jti, member_id, wallet_id, amount, order_ref, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      hold.id,
      hold.partnerId,
      hold.jti,
      hold.memberId,
      hold.walletId,
      hold.amount.toString(),
      hold.orderRef,
      hold.createdAt,
      hold.expiresAt,
    ],
  );
  return was - hold.amount;
}

/** Releases a pending hold; the caller holds its wallet's lock. */
export async function voidHold(tx: EntityManager, holdId: string, at: Date): Promise<void> {
  const closed = await queryRows(
    tx,
    `UPDATE hold SET status = 'voided', closed_at = $2 WHERE id = $1 AND status = 'pending' RETURNING id`,
    [holdId, at],
  );
  assert(closed.length === 1, `hold ${holdId} is not pending`);
}

/** A lot change as written, with why (the lot_consumption kind). */
interface KindedLotChange extends LotChange {
  kind: 'redeem' | 'expire' | 'reversal' | 'transfer' | 'exchange';
}

/** What a consumption took and the explicit changes, each with its kind. */
function lotChangesOf(lots: LotMoves | undefined, takes: readonly LotTake[]): KindedLotChange[] {
  const changes: KindedLotChange[] = [];
  const consume = lots?.consume;
  if (consume) {
    for (const take of takes) {
      changes.push({
        lotId: take.lotId,
        accountId: consume.accountId,
        issuerPartnerId: take.issuerPartnerId,
        consumerPartnerId: consume.consumerPartnerId,
        amount: take.amount,
        kind: consume.reason,
      });
    }
  }
  const change = lots?.change;
  if (change) for (const one of change.changes) changes.push({ ...one, kind: change.reason });
  return changes;
}

/**
 * The entry, its postings, its new (unspent) lots and its lot changes in one statement (one round
 * trip); the shard count rides along for the balance trigger (posting_moves_balances: the hub's
 * role cannot write a balance itself), which runs at the end of this statement. Every change to a
 * lot's remainder has its consumption record, so that consumption always explains the lot
 * (ledgerIntegrity checks it). Returns how many lot changes found their lot in their wallet.
 */
async function recordEntry(
  tx: EntityManager,
  entry: NewEntry,
  postings: readonly Posting[],
  counterShards: number,
  newLots: readonly NewLot[],
  changes: readonly KindedLotChange[],
): Promise<number> {
  const [row]: Array<{ changed: number }> = await tx.query(
    `WITH settings AS (SELECT set_config('coalition.counter_shards', $17::text, true)),
     entry AS (
       INSERT INTO journal_entry (id, type, partner_id, jti, member_id, order_ref, occurred_at, recorded_at, rates, request_hash, reverses_entry_id, counter_member_id, dispute_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $15, $16) RETURNING id
     ),
     posted AS (
       INSERT INTO posting (entry_id, account_id, asset, amount)
       SELECT entry.id, p.account_id, p.asset, p.amount
       FROM entry, settings, unnest($11::bigint[], $12::text[], $13::bigint[]) AS p(account_id, asset, amount)
     ),
     made AS (
       INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, vests_at)
       SELECT n.account_id, n.issuer, entry.id, n.amount, n.amount, n.issued_at, n.expires_at, n.vests_at
       FROM entry, unnest($18::bigint[], $19::text[], $20::bigint[], $21::timestamptz[], $22::timestamptz[], $23::timestamptz[])
         AS n(account_id, issuer, amount, issued_at, expires_at, vests_at)
     ),
     t AS (
       SELECT * FROM unnest($24::bigint[], $25::bigint[], $26::text[], $27::text[], $28::bigint[], $29::text[])
         AS t(id, amount, issuer, consumer, account_id, kind)
     ),
     moved AS (UPDATE lot SET remaining = remaining - t.amount FROM t WHERE lot.id = t.id AND lot.account_id = t.account_id RETURNING lot.id),
     consumed AS (
       INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount, kind)
       SELECT t.id, entry.id, t.issuer, t.consumer, t.amount, t.kind FROM entry, t WHERE t.id IN (SELECT id FROM moved) RETURNING 1
     )
     SELECT (SELECT count(*) FROM consumed)::int AS changed`,
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
      newLots.map((lot) => lot.accountId),
      newLots.map((lot) => lot.issuerPartnerId),
      newLots.map((lot) => lot.amount.toString()),
      newLots.map((lot) => lot.issuedAt),
      newLots.map((lot) => lot.expiresAt),
      newLots.map((lot) => lot.vestsAt ?? null),
      changes.map((change) => change.lotId),
      changes.map((change) => change.amount.toString()),
      changes.map((change) => change.issuerPartnerId),
      changes.map((change) => change.consumerPartnerId),
      changes.map((change) => change.accountId),
      changes.map((change) => change.kind),
    ],
  );
  return row!.changed;
}

/** Lots made already spent (an exchange X → Y) and a transfer's recipient lots: after the entry, in statements of their own. */
async function moveOtherLots(tx: EntityManager, entryId: string, lots: LotMoves, takes: readonly LotTake[]): Promise<void> {
  for (const lot of lots.create ?? []) {
    if (!lot.spentAt) continue;
    const [created]: Array<{ id: string }> = await tx.query(
      `INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, vests_at)
       VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id`,
      [lot.accountId, lot.issuerPartnerId, entryId, lot.amount.toString(), lot.issuedAt, lot.expiresAt, lot.vestsAt ?? null],
    );
    await tx.query(
      `INSERT INTO lot_consumption (lot_id, entry_id, issuer_partner_id, consumer_partner_id, amount, kind) VALUES ($1, $2, $3, $4, $5, 'exchange')`,
      [created!.id, entryId, lot.issuerPartnerId, lot.spentAt, lot.amount.toString()],
    );
  }
  if (lots.consume?.copyTo) await copyLots(tx, lots.consume.copyTo, entryId, takes);
}

/** Lots read per round trip while consuming: enough for almost every redemption in one. */
const LOT_BATCH = 64;

/**
 * What a consumption takes from a wallet's lots, first-expiring-first-out (ties: issue time, then
 * id); only lots vested and not yet expired at `at` are spent. The wallet is locked, so the lots
 * cannot change underneath. Lots are read in spending order along the index, a batch at a time, so
 * a redemption reads only the lots it consumes. Reads only: the entry's statement writes the takes.
 */
async function takeLots(tx: EntityManager, consumption: LotConsumption, at: Date, firstBatch?: LotRow[]): Promise<LotTake[]> {
  const takes: LotTake[] = [];
  let left = consumption.amount;
  // Keyset position as PostgreSQL text, so that timestamps keep their microseconds.
  let after: { expiresAt: string; issuedAt: string; id: string } | null = null;
  // The first batch may have come with the wallet's lock (lockAndReadSpendable): the same query, read then.
  let prefetched = firstBatch;
  while (left > 0n) {
    const rows: LotRow[] =
      prefetched ??
      (await tx.query(
        `SELECT id, issuer_partner_id, remaining, expires_at::text AS expires_at, issued_at::text AS issued_at FROM lot
       WHERE account_id = $1 AND remaining > 0
         AND ($2::timestamptz IS NULL OR (expires_at, issued_at, id) > ($2::timestamptz, $3::timestamptz, $4::bigint))
         AND ($6::text[] IS NULL OR issuer_partner_id = ANY($6::text[]))
         AND (vests_at IS NULL OR vests_at <= $7) AND expires_at > $7
       ORDER BY expires_at, issued_at, id LIMIT $5`,
        [
          consumption.accountId,
          after?.expiresAt ?? null,
          after?.issuedAt ?? null,
          after?.id ?? null,
          LOT_BATCH,
          consumption.issuers ?? null,
          at,
        ],
      ));
    prefetched = undefined;
    assert(rows.length > 0, `wallet ${consumption.accountId}: lots fall ${left} short of ${consumption.amount}`);
    const lots: OpenLot[] = rows.map((row) => ({ id: row.id, issuerPartnerId: row.issuer_partner_id, remaining: BigInt(row.remaining) }));
    const available = lots.reduce((sum, lot) => sum + lot.remaining, 0n);
    const batch = allocateFifo(lots, available < left ? available : left);
    takes.push(...batch);
    left -= batch.reduce((sum, take) => sum + take.amount, 0n);
    const last = rows[rows.length - 1]!;
    after = { expiresAt: last.expires_at, issuedAt: last.issued_at, id: last.id };
  }
  return takes;
}

/** A transfer's recipient lots: same issuer, same issue time and expiry as the lots taken, made by this entry. */
async function copyLots(tx: EntityManager, walletId: string, entryId: string, takes: readonly LotTake[]): Promise<void> {
  await tx.query(
    `INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, from_lot_id)
     SELECT $1, l.issuer_partner_id, $2, t.take, t.take, l.issued_at, l.expires_at, l.id
     FROM unnest($3::bigint[], $4::bigint[]) AS t(id, take) JOIN lot l ON l.id = t.id`,
    [walletId, entryId, takes.map((take) => take.lotId), takes.map((take) => take.amount.toString())],
  );
}
