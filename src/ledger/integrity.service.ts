import type { DataSource } from 'typeorm';
import type { Clock } from '../common/clock';

export interface IntegrityDifference {
  check: string;
  subject: string;
  expected: string;
  actual: string;
}

export interface IntegrityReport {
  ok: boolean;
  checkedAt: Date;
  entriesChecked: number;
  accountsChecked: number;
  lotsChecked: number;
  differences: IntegrityDifference[];
}

/** How many differences a report lists; `ok` still counts them all. */
const DIFFERENCES_MAX = 100;

/**
 * Invariants 1 and 2 of docs/ledger.md, recomputed from postings in one repeatable-read
 * snapshot: each entry balances per asset; the ledger balances per asset; stored balances equal
 * the sum of postings; no wallet is below zero; open lots sum to the wallet balance; and every
 * lot's consumption explains what it has lost.
 */
export class IntegrityService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async check(): Promise<IntegrityReport> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      // A whole-ledger scan may take longer than an ordinary request is allowed.
      await tx.query(`SET LOCAL statement_timeout = '10min'`);
      const checks: Array<[string, string]> = [
        [
          'entry_balances',
          `SELECT entry_id::text AS subject, '0' AS expected, sum(amount)::text AS actual
           FROM posting GROUP BY entry_id, asset HAVING sum(amount) <> 0`,
        ],
        [
          'ledger_balances',
          `SELECT asset AS subject, '0' AS expected, sum(amount)::text AS actual
           FROM posting GROUP BY asset HAVING sum(amount) <> 0`,
        ],
        [
          'stored_balance_equals_postings',
          `SELECT a.id::text AS subject, coalesce(p.total, 0)::text AS expected, coalesce(b.total, 0)::text AS actual
           FROM account a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM posting GROUP BY account_id) p ON p.account_id = a.id
           LEFT JOIN (SELECT account_id, sum(balance) AS total FROM account_balance GROUP BY account_id) b ON b.account_id = a.id
           WHERE coalesce(p.total, 0) <> coalesce(b.total, 0)`,
        ],
        [
          'wallet_not_negative',
          `SELECT a.id::text AS subject, '>= 0' AS expected, sum(b.balance)::text AS actual
           FROM account a JOIN account_balance b ON b.account_id = a.id
           WHERE a.kind = 'wallet' GROUP BY a.id HAVING sum(b.balance) < 0`,
        ],
        [
          'lots_equal_wallet',
          `SELECT a.id::text AS subject, coalesce(b.total, 0)::text AS expected, coalesce(l.total, 0)::text AS actual
           FROM account a
           LEFT JOIN (SELECT account_id, sum(balance) AS total FROM account_balance GROUP BY account_id) b ON b.account_id = a.id
           LEFT JOIN (SELECT account_id, sum(remaining) AS total FROM lot GROUP BY account_id) l ON l.account_id = a.id
           WHERE a.kind = 'wallet' AND a.asset = 'CP' AND coalesce(b.total, 0) <> coalesce(l.total, 0)`,
        ],
        [
          'lot_consumption_explains_lot',
          `SELECT l.id::text AS subject, (l.amount - l.remaining)::text AS expected, coalesce(c.total, 0)::text AS actual
           FROM lot l LEFT JOIN (SELECT lot_id, sum(amount) AS total FROM lot_consumption GROUP BY lot_id) c ON c.lot_id = l.id
           WHERE l.amount - l.remaining <> coalesce(c.total, 0)`,
        ],
      ];
      const differences: IntegrityDifference[] = [];
      for (const [check, sql] of checks) {
        const rows: Array<{ subject: string; expected: string; actual: string }> = await tx.query(`${sql} LIMIT ${DIFFERENCES_MAX + 1}`);
        for (const row of rows) differences.push({ check, ...row });
      }
      const [counts] = await tx.query(
        `SELECT (SELECT count(*) FROM journal_entry)::int AS entries, (SELECT count(*) FROM account)::int AS accounts, (SELECT count(*) FROM lot)::int AS lots`,
      );
      return {
        ok: differences.length === 0,
        checkedAt: this.clock.now(),
        entriesChecked: counts.entries,
        accountsChecked: counts.accounts,
        lotsChecked: counts.lots,
        differences: differences.slice(0, DIFFERENCES_MAX),
      };
    });
  }
}
