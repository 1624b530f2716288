import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { isDomainError } from '../common/errors';
import { addMonths } from '../ledger/apply-entry';
import { postEntry, type EntryPosting } from '../ledger/kernel';
import { CP, type NewEntry } from '../ledger/ledger.repository';

const DAY_MS = 86_400_000;

/** What an entry that issues CP of one partner needs beyond the entry's own fields. */
export interface IssuanceEntry extends NewEntry {
  amount: bigint;
  walletId: string;
  /** The issuing partner's CP issuance counter-account. */
  counterId: string;
  /** From `drawFunding`: the funding postings, already checked under their lock. */
  funding: readonly EntryPosting[];
  /** The issuing partner's contract in force: its lot lifetime and return window. */
  contract: { lotLifetimeMonths: number; pendingDays: number };
  counterShards: number;
  /** The wallet's balance read under its row lock earlier in the transaction, when the caller has it. */
  lockedBalance?: bigint;
}

/**
 * Every way the hub creates CP of one issuer — an issue, a grant, a referral bonus, a stamp card's
 * reward — posts the same entry (docs/ledger.md, "Operations and their postings"): the issuer's issuance counter −n,
 * the member's wallet +n, the funding postings, and one lot of that issuer, expiring after the
 * contract's lot lifetime and pending for its return window. Only the entry type and its `rates`
 * differ. The caller has already drawn the funding, so the kernel cannot refuse it: a refusal is a bug.
 */
export async function postIssuance(tx: EntityManager, entry: IssuanceEntry): Promise<{ balance: bigint; vestsAt: Date | null }> {
  const { amount, walletId, counterId, funding, contract, counterShards, lockedBalance, ...fields } = entry;
  const vestsAt = contract.pendingDays > 0 ? new Date(entry.recordedAt.getTime() + contract.pendingDays * DAY_MS) : null;
  const posted = await postEntry(tx, {
    ...fields,
    postings: [
      { accountId: counterId, asset: CP, amount: -amount, floored: false },
      { accountId: walletId, asset: CP, amount, floored: true },
      ...funding,
    ],
    lots: {
      create: [
        {
          accountId: walletId,
          issuerPartnerId: entry.partnerId,
          amount,
          issuedAt: entry.recordedAt,
          expiresAt: addMonths(entry.recordedAt, contract.lotLifetimeMonths),
          vestsAt,
        },
      ],
    },
    counterShards,
    ...(lockedBalance === undefined ? {} : { lockedBalances: new Map([[walletId, lockedBalance]]) }),
  });
  assert(!isDomainError(posted), `${entry.type} entry ${entry.id} was refused: ${isDomainError(posted) ? posted.message : ''}`);
  const balance = posted.balances.get(walletId);
  assert(balance !== undefined, 'the entry moved the wallet, so its new balance is known');
  return { balance, vestsAt };
}
