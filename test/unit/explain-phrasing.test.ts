import {
  contributionsOf,
  explainEntry,
  formatAmount,
  formatDay,
  signedAmount,
  summarize,
  type ExplainEntry,
  type ExplainLot,
} from '../../src/members/explain/phrasing';

/** The wording of "explain a balance" (docs/explain.md): deterministic, one function per entry type, a generic fallback. */
const NOW = new Date('2026-11-20T12:00:00Z');
const ISSUED = new Date('2026-11-03T09:30:00Z');

function lot(overrides: Partial<ExplainLot> = {}): ExplainLot {
  return {
    lotId: '1',
    role: 'credited',
    issuerPartnerId: 'COFFEE',
    issuerName: 'Coffee Corp',
    amount: 120n,
    remaining: 120n,
    issuedAt: ISSUED,
    expiresAt: new Date('2028-11-03T09:30:00Z'),
    vestsAt: null,
    ...overrides,
  };
}

function entry(overrides: Partial<ExplainEntry> = {}): ExplainEntry {
  return {
    entryId: 'e1',
    seq: '1',
    type: 'issue',
    partnerId: 'COFFEE',
    partnerName: 'Coffee Corp',
    occurredAt: ISSUED,
    recordedAt: ISSUED,
    orderRef: 'A-17',
    rates: {},
    reverses: null,
    movements: [{ asset: 'CP', amount: 120n }],
    lots: [lot()],
    ...overrides,
  };
}

describe('explain wording', () => {
  it('formats days in UTC and amounts with thousands separators and a minus sign', () => {
    expect(formatDay(new Date('2026-11-03T23:59:59-05:00'))).toBe('4 Nov 2026');
    expect(formatAmount(1234567n)).toBe('1,234,567');
    expect(formatAmount(-999n)).toBe('999');
    expect(signedAmount(1200n)).toBe('+1,200 CP');
    expect(signedAmount(-50n)).toBe('\u221250 CP');
    expect(signedAmount(0n)).toBe('0 CP');
  });

  it('words the loyalty engine entry types: grants, referral bonuses, stamp card rewards, catalogue rewards and their refunds', () => {
    const credited = { orderRef: null, lots: [lot({ amount: 50n, remaining: 50n })], movements: [{ asset: 'CP', amount: 50n }] };
    expect(
      explainEntry(entry({ ...credited, type: 'grant', rates: { grantKind: 'compensation', reasonCode: 'late_delivery' } }), NOW).sentence,
    ).toBe('+50 CP from Coffee Corp on 3 Nov 2026: compensation (late delivery), expires 3 Nov 2028');
    expect(explainEntry(entry({ ...credited, type: 'referral', rates: { role: 'referrer' } }), NOW).sentence).toBe(
      '+50 CP referral bonus for a member you referred, paid by Coffee Corp on 3 Nov 2026, expires 3 Nov 2028',
    );
    expect(
      explainEntry(entry({ ...credited, type: 'stamp_reward', rates: { reason: 'stamp card Coffee card completed' } }), NOW).sentence,
    ).toBe('+50 CP from Coffee Corp on 3 Nov 2026: stamp card Coffee card completed, expires 3 Nov 2028');
    const spent = {
      orderRef: null,
      movements: [{ asset: 'CP', amount: -40n }],
      lots: [lot({ role: 'taken', amount: 40n, remaining: 80n })],
    };
    expect(explainEntry(entry({ ...spent, type: 'reward' }), NOW).sentence).toBe(
      "\u221240 CP for a reward from Coffee Corp's catalogue on 3 Nov 2026, from points issued by Coffee Corp on 3 Nov 2026",
    );
    const back = {
      orderRef: null,
      movements: [{ asset: 'CP', amount: 40n }],
      lots: [lot({ role: 'returned', amount: 40n, remaining: 120n })],
    };
    expect(explainEntry(entry({ ...back, type: 'reward_refund' }), NOW).sentence).toBe(
      '+40 CP back on 3 Nov 2026: a reward from Coffee Corp went unused and expired, back to points issued by Coffee Corp on 3 Nov 2026',
    );
  });

  it('words an issue with its order, expiry and what is left', () => {
    expect(explainEntry(entry(), NOW).sentence).toBe('+120 CP from Coffee Corp on 3 Nov 2026 (order A-17), expires 3 Nov 2028');
    const spent = explainEntry(entry({ orderRef: null, lots: [lot({ remaining: 70n })] }), NOW);
    expect(spent.sentence).toBe('+120 CP from Coffee Corp on 3 Nov 2026, expires 3 Nov 2028; 70 CP left');
    expect(spent).toMatchObject({ amount: 120n, expiresAt: new Date('2028-11-03T09:30:00Z'), vestsAt: null });
  });

  it('words pending points with the day they vest', () => {
    const vestsAt = new Date('2026-12-01T00:00:00Z');
    const line = explainEntry(entry({ lots: [lot({ vestsAt })] }), NOW);
    expect(line.sentence).toBe('+120 CP from Coffee Corp on 3 Nov 2026 (order A-17), vests on 1 Dec 2026, expires 3 Nov 2028');
    expect(line.vestsAt).toEqual(vestsAt);
  });

  it("lists the engine's contributions, read leniently from the entry's rates", () => {
    const rates = {
      contributions: [
        { source: 'rule', name: 'coffee-double', version: 3, points: '80', reason: '2 × on coffee' },
        { source: 'tier', name: 'Gold tier', points: 40, reason: 'Gold tier +25 %' },
        { source: 'campaign', name: 'Welcome' },
        'garbage',
        { points: '1' },
      ],
    };
    const line = explainEntry(entry({ rates }), NOW);
    expect(line.sentence).toBe(
      '+120 CP from Coffee Corp on 3 Nov 2026 (order A-17): 2 × on coffee, Gold tier +25 %, Welcome, expires 3 Nov 2028',
    );
    expect(line.contributions).toEqual([
      { source: 'rule', name: 'coffee-double', version: '3', points: '80', reason: '2 × on coffee' },
      { source: 'tier', name: 'Gold tier', version: null, points: '40', reason: 'Gold tier +25 %' },
      { source: 'campaign', name: 'Welcome', version: null, points: null, reason: null },
    ]);
    expect(contributionsOf({ contributions: 'not a list' })).toEqual([]);
  });

  it('words a tier multiplier an issue recorded', () => {
    const rates = { tier: 'Gold', tierMultiplier: '1.5', baseAmount: '80' };
    expect(explainEntry(entry({ rates, orderRef: null }), NOW).sentence).toBe(
      '+120 CP from Coffee Corp on 3 Nov 2026: 80 CP × 1.5 for Gold tier, expires 3 Nov 2028',
    );
  });

  it('words a redemption across two issuers, and an expiry', () => {
    const taken = [
      lot({ role: 'taken', amount: 30n, remaining: 0n, issuerName: 'Bakery' }),
      lot({ role: 'taken', amount: 20n, remaining: 100n }),
    ];
    const redeem = entry({
      type: 'redeem',
      partnerName: 'Airline X',
      orderRef: null,
      movements: [{ asset: 'CP', amount: -50n }],
      lots: taken,
    });
    expect(explainEntry(redeem, NOW).sentence).toBe(
      '\u221250 CP redeemed at Airline X on 3 Nov 2026, from 30 CP issued by Bakery on 3 Nov 2026 and 20 CP issued by Coffee Corp on 3 Nov 2026',
    );
    const expire = entry({
      type: 'expire',
      orderRef: null,
      occurredAt: new Date('2028-11-04T00:00:00Z'),
      movements: [{ asset: 'CP', amount: -10n }],
      lots: [lot({ role: 'taken', amount: 10n, remaining: 0n })],
    });
    expect(explainEntry(expire, NOW).sentence).toBe('\u221210 CP expired on 4 Nov 2028 (issued by Coffee Corp on 3 Nov 2026)');
  });

  it('words a type without a wording of its own generically (a new entry type)', () => {
    const grant = entry({
      type: 'goodwill',
      orderRef: 'case-9',
      rates: { contributions: [{ name: 'compensation', reason: 'late delivery' }] },
    });
    expect(explainEntry(grant, NOW).sentence).toBe(
      '+120 CP: goodwill by Coffee Corp on 3 Nov 2026 (order case-9): late delivery, expires 3 Nov 2028',
    );
    const spend = entry({
      type: 'voucher',
      orderRef: null,
      movements: [{ asset: 'CP', amount: -20n }],
      lots: [lot({ role: 'taken', amount: 20n, remaining: 100n })],
    });
    expect(explainEntry(spend, NOW).sentence).toBe(
      '\u221220 CP: voucher by Coffee Corp on 3 Nov 2026, from points issued by Coffee Corp on 3 Nov 2026',
    );
  });

  it("words a move of a partner's own unit by that unit, with no effect on CP", () => {
    const line = explainEntry(entry({ movements: [{ asset: 'ACME.STARS', amount: 300n }], lots: [] }), NOW);
    expect(line).toMatchObject({ amount: 0n, sentence: '+300 ACME.STARS from Coffee Corp on 3 Nov 2026 (order A-17)' });
  });

  it('sums up the balance, pending points and what expires soon', () => {
    expect(summarize(1250n, 30n, 1200n, NOW, 30)).toMatchObject({
      expiringBy: new Date('2026-12-20T12:00:00Z'),
      sentence: 'Balance 1,250 CP; 30 CP pending; 1,200 CP expire by 20 Dec 2026.',
    });
    expect(summarize(0n, 0n, 0n, NOW, 30).sentence).toBe('Balance 0 CP.');
  });
});

describe('explain wording of exchanges', () => {
  const base = { type: 'exchange', partnerName: 'Acme', orderRef: null } as const;

  it('words points exchanged into CP, out of CP, and between two partners’ units', () => {
    const into = entry({
      ...base,
      movements: [
        { asset: 'CP', amount: 90n },
        { asset: 'ACME.STARS', amount: -300n },
      ],
      lots: [lot({ amount: 90n, remaining: 90n, issuerName: 'Acme' })],
    });
    expect(explainEntry(into, NOW).sentence).toBe('+90 CP for 300 ACME.STARS exchanged at Acme on 3 Nov 2026, expires 3 Nov 2028');
    const out = entry({
      ...base,
      partnerName: 'Bolt',
      movements: [
        { asset: 'CP', amount: -1500n },
        { asset: 'BOLT.MILES', amount: 45n },
      ],
      lots: [lot({ role: 'taken', amount: 1500n, remaining: 0n })],
    });
    expect(explainEntry(out, NOW).sentence).toBe(
      '\u22121,500 CP exchanged for 45 BOLT.MILES at Bolt on 3 Nov 2026, from points issued by Coffee Corp on 3 Nov 2026',
    );
    const between = entry({
      ...base,
      movements: [
        { asset: 'ACME.STARS', amount: -300n },
        { asset: 'BOLT.MILES', amount: 45n },
      ],
      lots: [],
    });
    expect(explainEntry(between, NOW)).toMatchObject({
      amount: 0n,
      sentence: '300 ACME.STARS exchanged for 45 BOLT.MILES at Acme on 3 Nov 2026',
    });
  });
});
