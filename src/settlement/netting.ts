import { assert } from '../common/assert';

/**
 * Multilateral netting (docs/settlement.md, "Netting"), pure. Each participant's net position in minor units —
 * positive: it owes; negative: it is owed — sums to zero over all participants, the hub included
 * (it keeps its revenue and holds the float for points not yet redeemed). The transfers settle
 * every position to exactly zero with at most (participants − 1) of them: the largest debtor
 * pays the largest creditor, each step closing at least one position.
 */
export interface SettlementTransfer {
  payer: string;
  payee: string;
  amountMinor: bigint;
}

export interface Netting {
  transfers: SettlementTransfer[];
  /** What would move if every bilateral obligation were paid as is. */
  grossMinor: bigint;
  /** What moves after netting. */
  netMinor: bigint;
}

export function settle(positions: ReadonlyMap<string, bigint>): SettlementTransfer[] {
  const total = [...positions.values()].reduce((sum, value) => sum + value, 0n);
  assert(total === 0n, `net positions must sum to zero, they sum to ${total}`);
  const debtors = [...positions].filter(([, value]) => value > 0n).map(([who, value]) => ({ who, left: value }));
  const creditors = [...positions].filter(([, value]) => value < 0n).map(([who, value]) => ({ who, left: -value }));
  // Deterministic: largest first, ties by name, so that re-running a close gives the same transfers.
  const order = (a: { who: string; left: bigint }, b: { who: string; left: bigint }) =>
    a.left > b.left ? -1 : a.left < b.left ? 1 : a.who < b.who ? -1 : a.who > b.who ? 1 : 0;
  const transfers: SettlementTransfer[] = [];
  while (debtors.length > 0 && creditors.length > 0) {
    debtors.sort(order);
    creditors.sort(order);
    const debtor = debtors[0]!;
    const creditor = creditors[0]!;
    const amount = debtor.left < creditor.left ? debtor.left : creditor.left;
    transfers.push({ payer: debtor.who, payee: creditor.who, amountMinor: amount });
    debtor.left -= amount;
    creditor.left -= amount;
    if (debtor.left === 0n) debtors.shift();
    if (creditor.left === 0n) creditors.shift();
  }
  assert(debtors.length === 0 && creditors.length === 0, 'netting left a position open');
  return transfers;
}

/** Net positions from bilateral obligations (payer owes payee), then their settlement and gross vs net. */
export function net(obligations: readonly SettlementTransfer[]): Netting {
  const positions = new Map<string, bigint>();
  let grossMinor = 0n;
  for (const { payer, payee, amountMinor } of obligations) {
    assert(amountMinor >= 0n, 'an obligation is not negative');
    positions.set(payer, (positions.get(payer) ?? 0n) + amountMinor);
    positions.set(payee, (positions.get(payee) ?? 0n) - amountMinor);
    grossMinor += amountMinor;
  }
  const transfers = settle(positions);
  return { transfers, grossMinor, netMinor: transfers.reduce((sum, transfer) => sum + transfer.amountMinor, 0n) };
}
