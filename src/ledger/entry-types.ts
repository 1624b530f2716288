/**
 * What a journal entry can be, in one list: the database's CHECK on journal_entry.type, the
 * GraphQL enum EntryType and the TypeScript type come from (or are tested against) it.
 */
export const ENTRY_TYPES = [
  'issue',
  'redeem',
  'expire',
  'reversal',
  'transfer',
  'exchange',
  'adjustment',
  'funding',
  'reward',
  'reward_refund',
  'grant',
  'referral',
  'stamp_reward',
] as const;

export type EntryType = (typeof ENTRY_TYPES)[number];

/** The entries that take points out of lots (lot_consumption.kind). */
export const LOT_CONSUMPTION_KINDS = ['redeem', 'expire', 'reversal', 'transfer', 'exchange'] as const satisfies readonly EntryType[];
