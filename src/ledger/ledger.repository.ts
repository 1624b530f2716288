import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { decimalText } from '../common/decimal';
import type { AccountKind, EntryType, OwnerKind } from './types';

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

interface MovementTargetsRow {
  member_id: string;
  wallet_id: string;
  counter_id: string;
  balance: string;
  contract_id: string;
  currency: string;
  issue_price: string;
  redeem_price: string;
  lot_lifetime_months: number;
  pending_days: number;
  tier_multipliers: Record<string, string>;
  funding_mode: 'postpaid' | 'prepaid';
  net_debit_cap_minor: string | null;
  reserved: string;
}

export interface MovementTargets {
  memberId: string;
  wallet: AccountRef;
  counter: AccountRef;
  /** The wallet's balance; read under a row lock when the targets were found `forDebit`. */
  balance: bigint;
  /** What cannot be spent now: points on hold and points not yet vested. Spendable = balance − reserved. Not read (0) for a credit. */
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
 * debits of one wallet are decided one after the other. `'credit'` (an issue) locks it in the same
 * statement, which then reads the balance at its latest version (what the entry adds to), and does
 * not compute what is reserved: a credit never asks what is spendable. Null when the reference is
 * not enrolled.
 */
export async function findMovementTargets(
  tx: EntityManager,
  partnerId: string,
  member: { ref: string } | { id: string },
  counterKind: 'issuance' | 'redemption',
  forDebit: boolean | 'credit',
  at: Date,
): Promise<MovementTargets | null> {
  const credit = forDebit === 'credit';
  const memberClause = 'ref' in member ? 'l.member_ref = $2' : 'l.member_id = $2::uuid';
  const memberValue = 'ref' in member ? member.ref : member.id;
  if (forDebit === true) {
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
  const rows: MovementTargetsRow[] = await tx.query(
    `SELECT l.member_id, w.id AS wallet_id, c.id AS counter_id, b.balance,
            k.id AS contract_id, k.currency, k.issue_price::text, k.redeem_price::text, k.lot_lifetime_months, k.pending_days, k.tier_multipliers,
            k.funding_mode, k.net_debit_cap_minor::text,
            ${credit ? '0' : 'wallet_reserved(w.id, $4)'} AS reserved
     FROM partner p
     JOIN member_link l ON l.partner_id = p.id AND ${memberClause}
     JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
     JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
     JOIN account c ON c.owner_kind = 'partner' AND c.owner_id = p.id AND c.asset = 'CP' AND c.kind = $3
     JOIN LATERAL (
       SELECT id, currency, issue_price, redeem_price, lot_lifetime_months, pending_days, tier_multipliers, funding_mode, net_debit_cap_minor FROM partner_contract
       WHERE partner_id = p.id AND valid_from <= $4 ORDER BY valid_from DESC LIMIT 1
     ) k ON true
     WHERE p.id = $1${credit ? ' FOR UPDATE OF b' : ''}`,
    [partnerId, memberValue, counterKind, at],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    memberId: String(row.member_id),
    wallet: { id: String(row.wallet_id), floored: true },
    counter: { id: String(row.counter_id), floored: false },
    balance: BigInt(row.balance),
    reserved: BigInt(row.reserved),
    contract: {
      id: String(row.contract_id),
      currency: String(row.currency),
      issuePrice: decimalText(String(row.issue_price)),
      redeemPrice: decimalText(String(row.redeem_price)),
      lotLifetimeMonths: Number(row.lot_lifetime_months),
      pendingDays: Number(row.pending_days),
      tierMultipliers: row.tier_multipliers,
      fundingMode: row.funding_mode,
      netDebitCapMinor: row.net_debit_cap_minor ?? null,
    },
  };
}
