import fc from 'fast-check';
import { net, settle, type SettlementTransfer } from '../../src/settlement/netting';

const positionsAfter = (start: ReadonlyMap<string, bigint>, transfers: readonly SettlementTransfer[]) => {
  const left = new Map(start);
  for (const { payer, payee, amountMinor } of transfers) {
    left.set(payer, (left.get(payer) ?? 0n) - amountMinor);
    left.set(payee, (left.get(payee) ?? 0n) + amountMinor);
  }
  return left;
};

describe('netting', () => {
  it('settles the three-partner worked example (A owes 760, B 600; C is owed 900, the hub 460) in at most three transfers', () => {
    const positions = new Map([
      ['A', 760n],
      ['B', 600n],
      ['C', -900n],
      ['HUB', -460n],
    ]);
    const transfers = settle(positions);
    expect(transfers.length).toBeLessThanOrEqual(3);
    expect([...positionsAfter(positions, transfers).values()].every((value) => value === 0n)).toBe(true);
    expect(transfers).toEqual([
      { payer: 'A', payee: 'C', amountMinor: 760n },
      { payer: 'B', payee: 'HUB', amountMinor: 460n },
      { payer: 'B', payee: 'C', amountMinor: 140n },
    ]);
  });

  it('refuses positions that do not sum to zero (money would appear or vanish)', () => {
    expect(() =>
      settle(
        new Map([
          ['A', 10n],
          ['B', -9n],
        ]),
      ),
    ).toThrow(/sum to zero/);
  });

  it('reports gross and net: obligations in a circle net to nothing', () => {
    const result = net([
      { payer: 'A', payee: 'B', amountMinor: 100n },
      { payer: 'B', payee: 'C', amountMinor: 100n },
      { payer: 'C', payee: 'A', amountMinor: 100n },
    ]);
    expect(result).toEqual({ transfers: [], grossMinor: 300n, netMinor: 0n });
  });

  it('conserves money, settles every position to zero, in at most n − 1 transfers, deterministically (property)', () => {
    const names = fc.constantFrom('A', 'B', 'C', 'D', 'E', 'HUB');
    const obligation = fc.record({ payer: names, payee: names, amountMinor: fc.bigInt({ min: 0n, max: 10n ** 12n }) });
    fc.assert(
      fc.property(fc.array(obligation, { maxLength: 40 }), (obligations) => {
        const result = net(obligations);
        const positions = new Map<string, bigint>();
        for (const { payer, payee, amountMinor } of obligations) {
          positions.set(payer, (positions.get(payer) ?? 0n) + amountMinor);
          positions.set(payee, (positions.get(payee) ?? 0n) - amountMinor);
        }
        const participants = [...positions.values()].filter((value) => value !== 0n).length;
        expect([...positionsAfter(positions, result.transfers).values()].every((value) => value === 0n)).toBe(true);
        expect(result.transfers.length).toBeLessThanOrEqual(Math.max(0, participants - 1));
        expect(result.transfers.every((transfer) => transfer.amountMinor > 0n && transfer.payer !== transfer.payee)).toBe(true);
        expect(result.netMinor <= result.grossMinor).toBe(true);
        expect(net(obligations)).toEqual(result);
      }),
    );
  });
});
