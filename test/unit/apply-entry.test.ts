/**
 * The pure ledger rules (docs/ledger.md, "Rules" and invariant 1): entries balance per asset, lots are consumed
 * first-expiring-first-out, expiry dates add whole months. Property-based where a rule holds
 * for every input.
 */
import fc from 'fast-check';
import { AssertionError } from '../../src/common/assert';
import {
  addMonths,
  allocateFifo,
  assertBalanced,
  netByAccount,
  unbalancedAssets,
  type OpenLot,
  type Posting,
} from '../../src/ledger/apply-entry';

const ASSETS = ['CP', 'ACME.STARS', 'BOLT.MILES'] as const;

const accountId = fc.bigInt({ min: 1n, max: 10n ** 12n }).map(String);
const positiveAmount = fc.bigInt({ min: 1n, max: 10n ** 15n });

/** Lots in FIFO order, with unique ids and positive remainders. */
const openLots = fc
  .uniqueArray(
    fc.record({
      id: accountId,
      issuerPartnerId: fc.constantFrom('ACME', 'BOLT', 'CAFE'),
      remaining: fc.bigInt({ min: 1n, max: 10n ** 9n }),
    }),
    {
      minLength: 1,
      maxLength: 20,
      selector: (lot) => lot.id,
    },
  )
  .map((lots): OpenLot[] => lots);

const totalOf = (lots: readonly OpenLot[]) => lots.reduce((sum, lot) => sum + lot.remaining, 0n);

/** Lots and an amount they cover. */
const lotsAndCoveredAmount = openLots.chain((lots) => fc.tuple(fc.constant(lots), fc.bigInt({ min: 1n, max: totalOf(lots) })));

/** A balanced entry: a shuffled set of transfers, each a debit and a credit of the same asset and amount. */
const balancedPostings = fc
  .array(fc.record({ from: accountId, to: accountId, asset: fc.constantFrom(...ASSETS), amount: positiveAmount }), {
    minLength: 1,
    maxLength: 10,
  })
  .chain((transfers) =>
    fc.shuffledSubarray(
      transfers.flatMap((t): Posting[] => [
        { accountId: t.from, asset: t.asset, amount: -t.amount },
        { accountId: t.to, asset: t.asset, amount: t.amount },
      ]),
      { minLength: transfers.length * 2, maxLength: transfers.length * 2 },
    ),
  );

const expectAssertion = (run: () => unknown) => expect(run).toThrow(AssertionError);

describe('allocateFifo', () => {
  it('takes exactly the amount, never more than a lot holds, from a prefix of the lots in their order', () => {
    fc.assert(
      fc.property(lotsAndCoveredAmount, ([lots, amount]) => {
        const takes = allocateFifo(lots, amount);
        expect(takes.reduce((sum, take) => sum + take.amount, 0n)).toBe(amount);
        expect(takes.map((take) => take.lotId)).toEqual(lots.slice(0, takes.length).map((lot) => lot.id));
        takes.forEach((take, index) => {
          const lot = lots[index]!;
          expect(take.issuerPartnerId).toBe(lot.issuerPartnerId);
          expect(take.amount > 0n).toBe(true);
          expect(take.amount <= lot.remaining).toBe(true);
          // Every lot but the last one touched is emptied: nothing later is touched while an earlier lot has points.
          if (index < takes.length - 1) expect(take.amount).toBe(lot.remaining);
        });
      }),
    );
  });

  it('touches no more lots than needed: the lots before the last one touched fall short of the amount', () => {
    fc.assert(
      fc.property(lotsAndCoveredAmount, ([lots, amount]) => {
        const takes = allocateFifo(lots, amount);
        expect(totalOf(lots.slice(0, takes.length - 1)) < amount).toBe(true);
        expect(totalOf(lots.slice(0, takes.length)) >= amount).toBe(true);
      }),
    );
  });

  it('does not modify the lots it is given', () => {
    fc.assert(
      fc.property(lotsAndCoveredAmount, ([lots, amount]) => {
        const before = lots.map((lot) => ({ ...lot }));
        allocateFifo(lots, amount);
        expect(lots).toEqual(before);
      }),
    );
  });

  it('empties every lot when the amount is everything they hold', () => {
    fc.assert(
      fc.property(openLots, (lots) => {
        const takes = allocateFifo(lots, totalOf(lots));
        expect(takes.map((take) => [take.lotId, take.amount])).toEqual(lots.map((lot) => [lot.id, lot.remaining]));
      }),
    );
  });

  it('throws an AssertionError when the lots do not cover the amount', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant<OpenLot[]>([]), openLots), fc.bigInt({ min: 1n, max: 10n ** 6n }), (lots, shortfall) => {
        expectAssertion(() => allocateFifo(lots, totalOf(lots) + shortfall));
      }),
    );
  });

  it('throws an AssertionError for a zero or negative amount', () => {
    const lots: OpenLot[] = [{ id: '1', issuerPartnerId: 'ACME', remaining: 10n }];
    expectAssertion(() => allocateFifo(lots, 0n));
    expectAssertion(() => allocateFifo(lots, -5n));
  });

  it('throws an AssertionError when handed an empty lot before the amount is covered', () => {
    const lots: OpenLot[] = [
      { id: '1', issuerPartnerId: 'ACME', remaining: 0n },
      { id: '2', issuerPartnerId: 'BOLT', remaining: 10n },
    ];
    expectAssertion(() => allocateFifo(lots, 5n));
  });

  it('follows the worked example: 1,200 CP from lots of 1,000 (A) and 500 (B) takes 1,000 from A and 200 from B', () => {
    const lots: OpenLot[] = [
      { id: '11', issuerPartnerId: 'A', remaining: 1000n },
      { id: '12', issuerPartnerId: 'B', remaining: 500n },
    ];
    expect(allocateFifo(lots, 1200n)).toEqual([
      { lotId: '11', issuerPartnerId: 'A', amount: 1000n },
      { lotId: '12', issuerPartnerId: 'B', amount: 200n },
    ]);
  });
});

describe('assertBalanced', () => {
  it('accepts any set of postings that sums to zero per asset', () => {
    fc.assert(
      fc.property(balancedPostings, (postings) => {
        expect(unbalancedAssets(postings).size).toBe(0);
        expect(() => assertBalanced(postings)).not.toThrow();
      }),
    );
  });

  it('rejects any set with a non-zero sum for some asset, and reports that asset and sum', () => {
    fc.assert(
      fc.property(
        balancedPostings,
        fc.nat(),
        fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }).filter((delta) => delta !== 0n),
        (postings, at, delta) => {
          const index = at % postings.length;
          const target = postings[index]!;
          const skewed = postings.map((posting, i) => (i === index ? { ...posting, amount: posting.amount + delta } : posting));
          expect(unbalancedAssets(skewed)).toEqual(new Map([[target.asset, delta]]));
          expectAssertion(() => assertBalanced(skewed));
        },
      ),
    );
  });

  it('rejects a set that balances in total but not per asset', () => {
    const postings: Posting[] = [
      { accountId: '1', asset: 'CP', amount: -100n },
      { accountId: '2', asset: 'ACME.STARS', amount: 100n },
    ];
    expect(unbalancedAssets(postings)).toEqual(
      new Map([
        ['CP', -100n],
        ['ACME.STARS', 100n],
      ]),
    );
    expectAssertion(() => assertBalanced(postings));
  });

  it('rejects an otherwise balanced set that contains a zero-amount posting', () => {
    fc.assert(
      fc.property(balancedPostings, accountId, fc.constantFrom(...ASSETS), fc.nat(), (postings, account, asset, at) => {
        const withZero = [...postings];
        withZero.splice(at % (postings.length + 1), 0, { accountId: account, asset, amount: 0n });
        expect(unbalancedAssets(withZero).size).toBe(0);
        expectAssertion(() => assertBalanced(withZero));
      }),
    );
  });

  it('rejects fewer than two postings', () => {
    expectAssertion(() => assertBalanced([]));
    fc.assert(
      fc.property(accountId, fc.constantFrom(...ASSETS), fc.bigInt(), (account, asset, amount) => {
        expectAssertion(() => assertBalanced([{ accountId: account, asset, amount }]));
      }),
    );
  });
});

describe('netByAccount', () => {
  it('sums the postings of each account, once per account', () => {
    fc.assert(
      fc.property(balancedPostings, (postings) => {
        const net = netByAccount(postings);
        const accounts = net.map(([account]) => account);
        expect(new Set(accounts).size).toBe(accounts.length);
        expect(new Set(accounts)).toEqual(new Set(postings.map((posting) => posting.accountId)));
        for (const [account, total] of net) {
          expect(total).toBe(
            postings.filter((posting) => posting.accountId === account).reduce((sum, posting) => sum + posting.amount, 0n),
          );
        }
      }),
    );
  });

  it('lists accounts in ascending numeric order (the order rows are locked in), so "10" comes after "9"', () => {
    fc.assert(
      fc.property(balancedPostings, (postings) => {
        const ids = netByAccount(postings).map(([account]) => BigInt(account));
        for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
      }),
    );
    const postings: Posting[] = [
      { accountId: '10', asset: 'CP', amount: 5n },
      { accountId: '9', asset: 'CP', amount: -3n },
      { accountId: '100', asset: 'CP', amount: -2n },
      { accountId: '9', asset: 'CP', amount: -1n },
      { accountId: '2', asset: 'CP', amount: 1n },
    ];
    expect(netByAccount(postings)).toEqual([
      ['2', 1n],
      ['9', -4n],
      ['10', 5n],
      ['100', -2n],
    ]);
  });

  it('orders account ids beyond 2^53 exactly', () => {
    const big = 2n ** 53n;
    const postings: Posting[] = [
      { accountId: String(big + 2n), asset: 'CP', amount: 1n },
      { accountId: String(big + 1n), asset: 'CP', amount: -1n },
    ];
    expect(netByAccount(postings).map(([account]) => account)).toEqual([String(big + 1n), String(big + 2n)]);
  });
});

describe('addMonths', () => {
  it.each([
    ['31 Jan + 1 month is 28 Feb in a common year', '2025-01-31T12:00:00.000Z', 1, '2025-02-28T12:00:00.000Z'],
    ['31 Jan + 1 month is 29 Feb in a leap year', '2024-01-31T12:00:00.000Z', 1, '2024-02-29T12:00:00.000Z'],
    ['29 Feb + 12 months is 28 Feb', '2024-02-29T08:30:00.000Z', 12, '2025-02-28T08:30:00.000Z'],
    ['29 Feb + 48 months is 29 Feb', '2024-02-29T08:30:00.000Z', 48, '2028-02-29T08:30:00.000Z'],
    ['31 Jan 2000 + 1 month is 29 Feb (divisible by 400: leap)', '2000-01-31T00:00:00.000Z', 1, '2000-02-29T00:00:00.000Z'],
    ['31 Jan 2100 + 1 month is 28 Feb (divisible by 100: not leap)', '2100-01-31T00:00:00.000Z', 1, '2100-02-28T00:00:00.000Z'],
    ['31 Aug + 1 month is 30 Sep', '2025-08-31T23:59:59.999Z', 1, '2025-09-30T23:59:59.999Z'],
    ['31 Mar − 1 month is 28 Feb', '2025-03-31T06:00:00.000Z', -1, '2025-02-28T06:00:00.000Z'],
    ['15 Dec + 1 month rolls into January', '2025-12-15T10:00:00.000Z', 1, '2026-01-15T10:00:00.000Z'],
    ['31 May + 24 months (the contract expiry) is 31 May', '2025-05-31T10:00:00.000Z', 24, '2027-05-31T10:00:00.000Z'],
    ['any date + 0 months is itself', '2025-03-01T10:00:00.000Z', 0, '2025-03-01T10:00:00.000Z'],
  ])('%s', (_, from, months, expected) => {
    expect(addMonths(new Date(from), months).toISOString()).toBe(expected);
  });

  const dates = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59.999Z'), noInvalidDate: true });
  const dayMs = 24 * 60 * 60 * 1000;
  const timeOfDay = (date: Date) => ((date.getTime() % dayMs) + dayMs) % dayMs;
  const lastDayOfMonth = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

  it('makes addMonths(d, 24) always later than d, with the same time of day', () => {
    fc.assert(
      fc.property(dates, (date) => {
        const later = addMonths(date, 24);
        expect(later.getTime()).toBeGreaterThan(date.getTime());
        expect(timeOfDay(later)).toBe(timeOfDay(date));
        expect(later.getUTCFullYear()).toBe(date.getUTCFullYear() + 2);
        expect(later.getUTCMonth()).toBe(date.getUTCMonth());
      }),
    );
  });

  it('lands in the right month, on the same day or the last day of a shorter month, for any whole number of months', () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: -600, max: 600 }), (date, months) => {
        const result = addMonths(date, months);
        const monthIndex = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
        expect(result.getUTCFullYear() * 12 + result.getUTCMonth()).toBe(monthIndex);
        expect(result.getUTCDate()).toBe(Math.min(date.getUTCDate(), lastDayOfMonth(result.getUTCFullYear(), result.getUTCMonth())));
        expect(timeOfDay(result)).toBe(timeOfDay(date));
      }),
    );
  });

  it('is monotonic in the number of months and does not modify its argument', () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: 0, max: 600 }), (date, months) => {
        const before = date.getTime();
        expect(addMonths(date, months + 1).getTime()).toBeGreaterThan(addMonths(date, months).getTime());
        expect(date.getTime()).toBe(before);
      }),
    );
  });
});
