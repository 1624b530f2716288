import { assert } from '../common/assert';

/**
 * Pure ledger rules: no I/O, unit- and property-tested. The services do the I/O around them.
 */
export interface Posting {
  accountId: string;
  asset: string;
  amount: bigint;
}

/** Per asset, an entry's postings sum to zero (docs/ledger.md, "Rules"). */
export function unbalancedAssets(postings: readonly Posting[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const posting of postings) totals.set(posting.asset, (totals.get(posting.asset) ?? 0n) + posting.amount);
  for (const [asset, total] of totals) if (total === 0n) totals.delete(asset);
  return totals;
}

export function assertBalanced(postings: readonly Posting[]): void {
  assert(postings.length >= 2, 'an entry needs at least two postings');
  assert(
    postings.every((posting) => posting.amount !== 0n),
    'a posting never moves zero',
  );
  const unbalanced = unbalancedAssets(postings);
  assert(unbalanced.size === 0, `entry does not balance: ${[...unbalanced].map(([a, t]) => `${a} ${t}`).join(', ')}`);
}

/**
 * Net change per account, in ascending account order, so that the balance rows an entry updates
 * are always updated in one order. (A debit locks its wallet before that, when it reads it.)
 */
export function netByAccount(postings: readonly Posting[]): Array<[string, bigint]> {
  const net = new Map<string, bigint>();
  for (const posting of postings) net.set(posting.accountId, (net.get(posting.accountId) ?? 0n) + posting.amount);
  return [...net].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

export interface OpenLot {
  id: string;
  issuerPartnerId: string;
  remaining: bigint;
}

export interface LotTake {
  lotId: string;
  issuerPartnerId: string;
  amount: bigint;
}

/**
 * Takes `amount` from lots already ordered first-expiring-first-out. Returns what each lot
 * gives; the caller has checked that the lots cover the amount.
 */
export function allocateFifo(lots: readonly OpenLot[], amount: bigint): LotTake[] {
  assert(amount > 0n, 'allocate a positive amount');
  const takes: LotTake[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0n) break;
    assert(lot.remaining > 0n, `lot ${lot.id} is empty`);
    const take = lot.remaining < left ? lot.remaining : left;
    takes.push({ lotId: lot.id, issuerPartnerId: lot.issuerPartnerId, amount: take });
    left -= take;
  }
  assert(left === 0n, `lots fall ${left} short of ${amount}`);
  return takes;
}

/** What each issuer's lots gave, in order of first appearance, as receipts show it. */
export function totalsByIssuer(takes: readonly LotTake[]): Array<{ issuerPartnerId: string; amount: string }> {
  const totals = new Map<string, bigint>();
  for (const take of takes) totals.set(take.issuerPartnerId, (totals.get(take.issuerPartnerId) ?? 0n) + take.amount);
  return [...totals].map(([issuerPartnerId, amount]) => ({ issuerPartnerId, amount: amount.toString() }));
}

/** Adds whole months in UTC, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(date: Date, months: number): Date {
  const result = new Date(date.getTime());
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}
