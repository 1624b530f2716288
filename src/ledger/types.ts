/** The ledger's row types (docs/ledger.md, "Domain"). The migrations own the tables; the kernel writes them with SQL. */
export type OwnerKind = 'member' | 'partner' | 'hub';
export type AccountKind =
  | 'wallet'
  | 'issuance'
  | 'redemption'
  | 'native_pool'
  | 'exchange'
  | 'breakage'
  | 'fees'
  | 'rounding'
  | 'settlement'
  | 'prefunding'
  | 'exposure'
  | 'funding';
export type EntryType = 'issue' | 'redeem' | 'expire' | 'reversal' | 'transfer' | 'exchange' | 'adjustment' | 'funding' | 'stamp_reward';

/** An account as readers see it. */
export interface Account {
  id: string;
  ownerKind: OwnerKind;
  ownerId: string;
  asset: string;
  kind: AccountKind;
  createdAt: Date;
}
