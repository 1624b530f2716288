import { AssertionError } from '../../src/common/assert';
import { assertLotMovesMatchPostings, lotMovesMatchPostings, type EntryPosting } from '../../src/ledger/kernel';

/** The ledger kernel's pure check that an entry's lot moves change each CP wallet's lots by what its postings change its balance. */
const at = new Date('2025-01-01T00:00:00Z');
const later = new Date('2027-01-01T00:00:00Z');
const redeem = (amount: bigint): EntryPosting[] => [
  { accountId: '10', asset: 'CP', amount: -amount, floored: true },
  { accountId: '2', asset: 'CP', amount, floored: false },
];
const issue = (amount: bigint): EntryPosting[] => [
  { accountId: '1', asset: 'CP', amount: -amount, floored: false },
  { accountId: '10', asset: 'CP', amount, floored: true },
];

describe('lot moves must match postings', () => {
  it('accepts an issue that makes a lot of the credited amount in the credited wallet', () => {
    const lots = { create: [{ accountId: '10', issuerPartnerId: 'ACME', amount: 100n, issuedAt: at, expiresAt: later }] };
    expect(() => assertLotMovesMatchPostings(issue(100n), lots)).not.toThrow();
  });

  it('refuses an issue that makes no lot, or a lot of another amount or in another wallet', () => {
    expect(() => assertLotMovesMatchPostings(issue(100n), undefined)).toThrow(AssertionError);
    expect(() =>
      assertLotMovesMatchPostings(issue(100n), {
        create: [{ accountId: '10', issuerPartnerId: 'ACME', amount: 99n, issuedAt: at, expiresAt: later }],
      }),
    ).toThrow(/wallet 10 1/);
    expect(
      lotMovesMatchPostings(issue(100n), {
        create: [{ accountId: '11', issuerPartnerId: 'ACME', amount: 100n, issuedAt: at, expiresAt: later }],
      }),
    ).toEqual(
      new Map([
        ['10', 100n],
        ['11', -100n],
      ]),
    );
  });

  it('accepts a redemption that consumes what it debits, and refuses one that consumes less', () => {
    const consume = (amount: bigint) => ({ consume: { accountId: '10', amount, consumerPartnerId: 'SHOP', reason: 'redeem' as const } });
    expect(() => assertLotMovesMatchPostings(redeem(40n), consume(40n))).not.toThrow();
    expect(() => assertLotMovesMatchPostings(redeem(40n), consume(39n))).toThrow(AssertionError);
  });

  it('accepts a transfer whose consumed lots are copied to the recipient', () => {
    const postings: EntryPosting[] = [
      { accountId: '10', asset: 'CP', amount: -30n, floored: true },
      { accountId: '11', asset: 'CP', amount: 30n, floored: true },
    ];
    const consume = { accountId: '10', amount: 30n, consumerPartnerId: 'ACME', reason: 'transfer' as const };
    expect(() => assertLotMovesMatchPostings(postings, { consume: { ...consume, copyTo: '11' } })).not.toThrow();
    expect(() => assertLotMovesMatchPostings(postings, { consume })).toThrow(/wallet 11 30/);
  });

  it('accepts lot changes that add up to the posting, and a lot made and spent at once that moves no wallet', () => {
    const change = (amount: bigint) => ({ lotId: '5', accountId: '10', issuerPartnerId: 'ACME', consumerPartnerId: null, amount });
    expect(() =>
      assertLotMovesMatchPostings(redeem(25n), { change: { reason: 'expire', changes: [change(20n), change(5n)] } }),
    ).not.toThrow();
    expect(() => assertLotMovesMatchPostings(redeem(25n), { change: { reason: 'expire', changes: [change(20n)] } })).toThrow(
      AssertionError,
    );
    const spent = { accountId: '10', issuerPartnerId: 'ACME', amount: 9n, issuedAt: at, expiresAt: later, spentAt: 'SHOP' };
    expect(() => assertLotMovesMatchPostings([], { create: [spent] })).not.toThrow();
  });

  it('ignores accounts that carry no lots: a partner unit wallet and money accounts', () => {
    const postings: EntryPosting[] = [
      { accountId: '20', asset: 'ACME.STARS', amount: 5n, floored: true },
      { accountId: '21', asset: 'ACME.STARS', amount: -5n, floored: false },
      { accountId: '30', asset: 'EUR', amount: -100n, floored: true },
      { accountId: '31', asset: 'EUR', amount: 100n, floored: false },
    ];
    expect(() => assertLotMovesMatchPostings(postings, undefined)).not.toThrow();
  });

  it('refuses a lot change of zero and a consumption of nothing', () => {
    expect(() =>
      assertLotMovesMatchPostings([], {
        change: {
          reason: 'reversal',
          changes: [{ lotId: '5', accountId: '10', issuerPartnerId: 'A', consumerPartnerId: 'A', amount: 0n }],
        },
      }),
    ).toThrow(/never moves zero/);
    expect(() =>
      assertLotMovesMatchPostings([], { consume: { accountId: '10', amount: 0n, consumerPartnerId: 'A', reason: 'redeem' } }),
    ).toThrow(/positive amount/);
  });
});
