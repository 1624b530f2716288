import type { TestHub } from '../../helpers/test-hub';

/**
 * What a refused operation must leave exactly as it was. Row counts of every table a write can
 * touch, and the sums that money lives in; amounts are decimal strings (bigint, never number).
 */
export interface LedgerSnapshot {
  journalEntries: number;
  postings: number;
  lots: number;
  lotConsumptions: number;
  instructions: number;
  members: number;
  memberLinks: number;
  accounts: number;
  partners: number;
  partnerKeys: number;
  holds: number;
  exchanges: number;
  roundingBookings: number;
  /** Σ stored balances of member wallets (CP). */
  walletBalanceSum: string;
  /** Σ stored balances of member wallets in partner units (all units together: a change detector, not an amount). */
  unitWalletBalanceSum: string;
  /** Σ stored balances of every account: zero while the ledger balances. */
  allBalanceSum: string;
  /** Σ lot.remaining: equals walletBalanceSum while lots explain wallets. */
  lotRemainingSum: string;
}

export async function ledgerSnapshot(hub: TestHub): Promise<LedgerSnapshot> {
  const rows: Array<Record<string, string | number>> = await hub.hub.dataSource.query(`
    SELECT
      (SELECT count(*) FROM journal_entry)::int AS "journalEntries",
      (SELECT count(*) FROM posting)::int AS "postings",
      (SELECT count(*) FROM lot)::int AS "lots",
      (SELECT count(*) FROM lot_consumption)::int AS "lotConsumptions",
      (SELECT count(*) FROM instruction)::int AS "instructions",
      (SELECT count(*) FROM member)::int AS "members",
      (SELECT count(*) FROM member_link)::int AS "memberLinks",
      (SELECT count(*) FROM account)::int AS "accounts",
      (SELECT count(*) FROM partner)::int AS "partners",
      (SELECT count(*) FROM partner_key)::int AS "partnerKeys",
      (SELECT count(*) FROM hold)::int AS "holds",
      (SELECT count(*) FROM exchange)::int AS "exchanges",
      (SELECT count(*) FROM rounding_booking)::int AS "roundingBookings",
      (SELECT coalesce(sum(b.balance), 0)::text FROM account_balance b JOIN account a ON a.id = b.account_id
        WHERE a.owner_kind = 'member' AND a.kind = 'wallet' AND a.asset = 'CP') AS "walletBalanceSum",
      (SELECT coalesce(sum(b.balance), 0)::text FROM account_balance b JOIN account a ON a.id = b.account_id
        WHERE a.owner_kind = 'member' AND a.kind = 'wallet' AND a.asset <> 'CP') AS "unitWalletBalanceSum",
      (SELECT coalesce(sum(balance), 0)::text FROM account_balance) AS "allBalanceSum",
      (SELECT coalesce(sum(remaining), 0)::text FROM lot) AS "lotRemainingSum"
  `);
  const row = rows[0];
  if (!row) throw new Error('snapshot query returned no row');
  return row as unknown as LedgerSnapshot;
}

/** Field-by-field difference (after − before); fields that did not change are left out. */
export function snapshotDelta(before: LedgerSnapshot, after: LedgerSnapshot): Partial<Record<keyof LedgerSnapshot, string>> {
  const delta: Partial<Record<keyof LedgerSnapshot, string>> = {};
  for (const key of Object.keys(before) as Array<keyof LedgerSnapshot>) {
    const change = BigInt(after[key]) - BigInt(before[key]);
    if (change !== 0n) delta[key] = change.toString();
  }
  return delta;
}

/** Runs `action` and proves (rather than assumes) that it wrote nothing. Returns what it returned. */
export async function expectNothingWritten<T>(hub: TestHub, action: () => Promise<T>): Promise<T> {
  const before = await ledgerSnapshot(hub);
  const result = await action();
  expect(await ledgerSnapshot(hub)).toEqual(before);
  return result;
}
