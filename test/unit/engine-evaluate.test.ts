import fc from 'fast-check';
import {
  evaluate,
  moneyOf,
  pointsWithinMoney,
  returnTake,
  type CampaignState,
  type EarnRuleVersion,
  type EngineActivity,
  type MemberFacts,
} from '../../src/engine/evaluate';

const at = new Date('2026-11-27T10:00:00Z');

const spendRule = (over: Partial<EarnRuleVersion> = {}): EarnRuleVersion => ({
  ruleId: 'base',
  version: 1,
  name: 'Base',
  kind: 'spend',
  pointsPerUnit: '1',
  unitMinor: 100n,
  category: null,
  sku: null,
  action: null,
  points: null,
  minBasketMinor: 0n,
  capPerDay: null,
  capPerMonth: null,
  ...over,
});

const actionRule = (over: Partial<EarnRuleVersion> = {}): EarnRuleVersion => ({
  ...spendRule(),
  ruleId: 'welcome',
  name: 'Welcome',
  kind: 'action',
  pointsPerUnit: null,
  unitMinor: null,
  action: 'signup',
  points: 100n,
  ...over,
});

const campaign = (over: Partial<CampaignState> = {}): CampaignState => ({
  campaignId: 'c1',
  version: 1,
  name: 'Double',
  kind: 'multiplier',
  multiplier: '2',
  bonusPoints: null,
  trigger: 'purchase',
  startsAt: new Date('2026-11-01T00:00:00Z'),
  endsAt: new Date('2026-12-01T00:00:00Z'),
  funders: [{ partnerId: 'cafe', share: '1', issuePrice: '1' }],
  target: { kind: 'all' },
  stacking: 'stackable',
  priority: 0,
  perMemberLimit: null,
  memberAwards: 0,
  pointsCap: null,
  pointsUsed: 0n,
  moneyCapMinor: null,
  moneyUsedMinor: 0n,
  strict: false,
  heldOut: false,
  ...over,
});

const facts = (over: Partial<MemberFacts> = {}): MemberFacts => ({
  tier: 'Base',
  tierMultiplier: '1',
  boughtAtPartnerBefore: true,
  ruleUsage: {},
  ...over,
});

const purchase = (totalMinor: bigint, lines: EngineActivity extends infer A ? (A extends { lines: infer L } ? L : never) : never = []) =>
  ({ kind: 'purchase', partnerId: 'cafe', at, totalMinor, currency: 'EUR', lines }) as const;

const ok = (result: ReturnType<typeof evaluate>) => {
  if (!result.ok) throw new Error(result.message);
  return result;
};

describe('evaluate', () => {
  it('earns per spend unit with an exact decimal rate, floored', () => {
    const result = ok(evaluate(purchase(1999n), [spendRule({ pointsPerUnit: '0.1' })], [], facts()));
    // 19.99 × 0.1 = 1.999 → 1
    expect(result.contributions.map((c) => c.points)).toEqual([1n]);
    expect(result.total).toBe(1n);
  });

  it('counts only the lines of a category rule, and respects the minimum basket', () => {
    const lines = [
      { category: 'coffee', sku: 'ESP', quantity: 2n, amountMinor: 600n },
      { category: 'food', sku: 'CRO', quantity: 1n, amountMinor: 400n },
    ];
    const rules = [spendRule(), spendRule({ ruleId: 'coffee', name: 'Coffee', category: 'coffee', pointsPerUnit: '2' })];
    const result = ok(evaluate(purchase(1000n, lines), rules, [], facts()));
    expect(result.contributions.map((c) => [c.source.id, c.points])).toEqual([
      ['base', 10n],
      ['coffee', 12n],
    ]);
    const small = ok(evaluate(purchase(1000n, lines), [spendRule({ minBasketMinor: 1001n })], [], facts()));
    expect(small.total).toBe(0n);
    expect(small.notes[0]).toMatch(/minimum/);
  });

  it('applies the tier multiplier, then campaigns by priority with stacking, each floored on its own', () => {
    const result = ok(
      evaluate(
        purchase(1050n),
        [spendRule()],
        [
          campaign({ campaignId: 'a', name: 'Low', priority: 1, kind: 'bonus', multiplier: null, bonusPoints: 5n }),
          campaign({ campaignId: 'b', name: 'High', priority: 9, multiplier: '1.5' }),
          campaign({ campaignId: 'c', name: 'Solo', priority: 5, stacking: 'exclusive' }),
        ],
        facts({ tier: 'Gold', tierMultiplier: '1.25' }),
      ),
    );
    // base 10.5 → 10; tier 10.5 × 0.25 = 2.625 → 2; High 10.5 × 0.5 = 5.25 → 5; Solo excluded; Low +5.
    expect(result.contributions.map((c) => [c.source.kind, c.source.id, c.points])).toEqual([
      ['rule', 'base', 10n],
      ['tier', 'Gold', 2n],
      ['campaign', 'b', 5n],
      ['campaign', 'a', 5n],
    ]);
    expect(result.contributions[1]!.reason).toBe('Gold tier +25 %');
    expect(result.notes.some((note) => note.startsWith('Solo'))).toBe(true);
  });

  it('targets tiers and members new at the partner; honours windows and per-member limits', () => {
    const gold = campaign({ target: { kind: 'tiers', tiers: ['Gold'] } });
    expect(ok(evaluate(purchase(1000n), [spendRule()], [gold], facts())).total).toBe(10n);
    expect(ok(evaluate(purchase(1000n), [spendRule()], [gold], facts({ tier: 'Gold' }))).total).toBe(20n);
    const first = campaign({ target: { kind: 'new_at_partner' }, kind: 'bonus', multiplier: null, bonusPoints: 50n });
    expect(ok(evaluate(purchase(1000n), [spendRule()], [first], facts({ boughtAtPartnerBefore: false }))).total).toBe(60n);
    expect(ok(evaluate(purchase(1000n), [spendRule()], [first], facts())).total).toBe(10n);
    const over = campaign({ endsAt: at });
    expect(ok(evaluate(purchase(1000n), [spendRule()], [over], facts())).total).toBe(10n);
    const limited = campaign({ perMemberLimit: 1, memberAwards: 1 });
    expect(ok(evaluate(purchase(1000n), [spendRule()], [limited], facts())).total).toBe(10n);
  });

  it('caps a rule per member per day and month', () => {
    const rule = spendRule({ capPerDay: 15n, capPerMonth: 100n });
    const result = ok(evaluate(purchase(1000n), [rule], [], facts({ ruleUsage: { base: { day: 8n, month: 20n } } })));
    expect(result.total).toBe(7n);
    expect(result.contributions[0]!.reason).toMatch(/capped: 7 of 10/);
  });

  it('splits a coalition campaign between its funders and stops exactly at the budget', () => {
    const shared = campaign({
      kind: 'bonus',
      multiplier: null,
      bonusPoints: 100n,
      funders: [
        { partnerId: 'cafe', share: '0.6', issuePrice: '1' },
        { partnerId: 'bank', share: '0.4', issuePrice: '0.5' },
      ],
    });
    const split = ok(evaluate(purchase(0n), [], [shared], facts()));
    expect(split.contributions.map((c) => [c.fundingPartnerId, c.points, c.moneyMinor])).toEqual([
      ['bank', 40n, 20n],
      ['cafe', 60n, 60n],
    ]);
    const capped = ok(evaluate(purchase(0n), [], [{ ...shared, pointsCap: 1000n, pointsUsed: 970n }], facts()));
    expect(capped.total).toBe(30n);
    expect(capped.notes[0]).toMatch(/up to its cap/);
    const strict = evaluate(purchase(0n), [], [{ ...shared, pointsCap: 1000n, pointsUsed: 970n, strict: true }], facts());
    expect(strict.ok).toBe(false);
    const money = ok(evaluate(purchase(0n), [], [{ ...shared, moneyCapMinor: 50n }], facts()));
    // bank: 40 points cost 20; cafe: 30 left → 30 points.
    expect(money.contributions.map((c) => [c.fundingPartnerId, c.points])).toEqual([
      ['bank', 40n],
      ['cafe', 30n],
    ]);
  });

  it('earns fixed points per action; engagement earns only with a rule', () => {
    const action = { kind: 'action', partnerId: 'cafe', at, action: 'signup' } as const;
    const welcome = campaign({ kind: 'bonus', multiplier: null, bonusPoints: 100n, trigger: 'signup', name: 'Welcome' });
    const result = ok(evaluate(action, [actionRule()], [welcome], facts()));
    expect(result.contributions.map((c) => c.reason)).toEqual(['Welcome: 100 for signup', 'Welcome campaign +100']);
    expect(ok(evaluate({ ...action, action: 'engagement' }, [actionRule()], [], facts())).total).toBe(0n);
  });
});

describe('evaluate, properties', () => {
  const digits = fc.bigInt({ min: 0n, max: 10_000_000n });
  const rate = fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 999 })).map(([i, f]) => `${i}.${f}`);
  // Rule and campaign ids are unique (a partner's rules in force, the campaigns in scope).
  const arbitraryRules = fc.uniqueArray(
    fc.record({
      ruleId: fc.constantFrom('a', 'b', 'c', 'd'),
      rate,
      unit: fc.bigInt({ min: 1n, max: 1000n }),
      category: fc.option(fc.constantFrom('x', 'y')),
    }),
    { maxLength: 4, selector: (rule) => rule.ruleId },
  );
  const arbitraryCampaigns = fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('p', 'q', 'r'),
      multiplier: rate.map((r) => `1${r.slice(r.indexOf('.'))}`),
      priority: fc.integer({ min: -3, max: 3 }),
      exclusive: fc.boolean(),
      cap: fc.option(fc.bigInt({ min: 0n, max: 500n })),
    }),
    { maxLength: 3, selector: (one) => one.id },
  );

  it('is deterministic and independent of the order rules and campaigns come in; every contribution is positive and whole', () => {
    fc.assert(
      fc.property(digits, arbitraryRules, arbitraryCampaigns, fc.constantFrom('1', '1.25', '2'), (total, rules, campaigns, multiplier) => {
        const versions = rules.map((r) => spendRule({ ruleId: r.ruleId, pointsPerUnit: r.rate, unitMinor: r.unit, category: r.category }));
        const states = campaigns.map((c) =>
          campaign({
            campaignId: c.id,
            multiplier: c.multiplier,
            priority: c.priority,
            stacking: c.exclusive ? 'exclusive' : 'stackable',
            pointsCap: c.cap,
          }),
        );
        const activity = purchase(total, [{ category: 'x', sku: null, quantity: 1n, amountMinor: total / 2n }]);
        const one = evaluate(activity, versions, states, facts({ tierMultiplier: multiplier, tier: 'T' }));
        const two = evaluate(activity, [...versions].reverse(), [...states].reverse(), facts({ tierMultiplier: multiplier, tier: 'T' }));
        expect(two).toEqual(one);
        if (one.ok) {
          for (const c of one.contributions) expect(c.points > 0n).toBe(true);
          expect(one.total).toBe(one.contributions.reduce((s, c) => s + c.points, 0n));
          for (const state of states) {
            const used = one.contributions.filter((c) => c.source.id === state.campaignId && c.source.kind === 'campaign');
            if (state.pointsCap !== null) expect(used.reduce((s, c) => s + c.points, 0n) <= state.pointsCap).toBe(true);
          }
        }
      }),
    );
  });

  it('returns of all parts of a purchase, in any split, give back exactly what each part earned, never more', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        fc.array(fc.bigInt({ min: 0n, max: 100_000n }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
        (total, parts, weights) => {
          const sum = weights.reduce((s, w) => s + w, 0);
          const returns = weights.map((w) => (total * BigInt(w)) / BigInt(sum));
          returns[returns.length - 1]! += total - returns.reduce((s, r) => s + r, 0n);
          for (const part of parts) {
            let returned = 0n;
            let reversed = 0n;
            for (const amount of returns) {
              const take = returnTake(part, total, returned, amount, reversed);
              expect(take >= 0n).toBe(true);
              reversed += take;
              returned += amount;
              expect(reversed <= part).toBe(true);
            }
            expect(reversed).toBe(part);
          }
        },
      ),
    );
  });

  it('never lets money exceed what is left, and fits as many points as it can', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 100_000n }), rate, fc.bigInt({ min: 0n, max: 100_000n }), (wanted, price, left) => {
        const points = pointsWithinMoney(wanted, price, left);
        expect(points <= wanted).toBe(true);
        expect(moneyOf(points, price) <= left).toBe(true);
        if (points < wanted) expect(moneyOf(points + 1n, price) > left).toBe(true);
      }),
    );
  });
});
