import { LedgerFoundation1732350000000 } from './1732350000000-ledger-foundation';

/** Every migration in order. Never edit one that has landed: add a new one. */
export const migrations = [LedgerFoundation1732350000000];
