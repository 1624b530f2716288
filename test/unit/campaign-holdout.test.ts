import { evaluate, type CampaignState, type MemberFacts } from '../../src/engine/evaluate';
import { holdoutPosition, isHeldOut } from '../../src/engine/holdout';
import { versusHoldout } from '../../src/kpis/campaign-results';

/**
 * Campaign holdout groups (docs/loyalty-engine.md, "Holdout"): who is held out (a pure function of the
 * campaign and member ids), what the evaluation does with a held-out member, and the results' ratio
 * against the holdout (docs/kpis.md, "Campaign results").
 */

const CAMPAIGN = '0b7c6a2e-5d1f-4c3a-9e8b-2f4a6c8e0d1b';
const OTHER_CAMPAIGN = '5e2d8c41-9a7b-4f63-b1d0-3c5e7a9b2d4f';
const MEMBER = '7f3e9a10-2b4c-4d6e-8f01-a2b3c4d5e6f7';

/** N distinct member ids, as the hub writes them (lowercase UUID text). */
const members = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

describe('who a campaign holds out', () => {
  it('is fixed by the ids alone: pinned values, so that another process or a later release decides the same', () => {
    // SHA-256("<campaign>:<member>"), first 8 bytes big-endian: u = 6006844800976277908 / 2^64 = 0.3256317091500869…
    expect(holdoutPosition(CAMPAIGN, MEMBER)).toBe(6006844800976277908n);
    expect(holdoutPosition(OTHER_CAMPAIGN, MEMBER)).toBe(5693934243099525435n);
    // The comparison is exact, down to the share's 12th decimal place.
    expect(isHeldOut(CAMPAIGN, MEMBER, '0.325631709150')).toBe(false);
    expect(isHeldOut(CAMPAIGN, MEMBER, '0.325631709151')).toBe(true);
    expect(isHeldOut(CAMPAIGN, MEMBER, '0.3')).toBe(false);
    expect(isHeldOut(CAMPAIGN, MEMBER, '0.5')).toBe(true);
    expect(isHeldOut(OTHER_CAMPAIGN, MEMBER, '0.31')).toBe(true);
  });

  it('answers the same every time, whatever the case of the ids, and never holds anyone out at share 0', () => {
    const ids = members(500);
    const first = ids.map((id) => isHeldOut(CAMPAIGN, id, '0.2'));
    expect(ids.map((id) => isHeldOut(CAMPAIGN, id, '0.2'))).toEqual(first);
    expect(ids.map((id) => isHeldOut(CAMPAIGN.toUpperCase(), id.toUpperCase(), '0.2'))).toEqual(first);
    expect(ids.filter((id) => isHeldOut(CAMPAIGN, id, '0')).length).toBe(0);
    // A larger share holds out everyone a smaller one does, and more.
    for (const id of ids) if (isHeldOut(CAMPAIGN, id, '0.1')) expect(isHeldOut(CAMPAIGN, id, '0.2')).toBe(true);
  });

  it('holds out about the share of members, each campaign independently of the others', () => {
    const ids = members(20_000);
    const count = (campaign: string, share: string) => ids.filter((id) => isHeldOut(campaign, id, share)).length;
    // Binomial standard deviations: 0.1 → 42, 0.5 → 71; the bounds are over 4 of them away.
    expect(count(CAMPAIGN, '0.1')).toBeGreaterThan(1800);
    expect(count(CAMPAIGN, '0.1')).toBeLessThan(2200);
    expect(count(CAMPAIGN, '0.5')).toBeGreaterThan(9700);
    expect(count(CAMPAIGN, '0.5')).toBeLessThan(10_300);
    // Two campaigns at 0.5: about a quarter of the members are held out of both (not the same half).
    const both = ids.filter((id) => isHeldOut(CAMPAIGN, id, '0.5') && isHeldOut(OTHER_CAMPAIGN, id, '0.5')).length;
    expect(both).toBeGreaterThan(4700);
    expect(both).toBeLessThan(5300);
  });

  it('refuses a share that is not a decimal', () => {
    expect(() => isHeldOut(CAMPAIGN, MEMBER, '-0.1')).toThrow('not a decimal');
    expect(() => isHeldOut(CAMPAIGN, MEMBER, '1e-1')).toThrow('not a decimal');
  });
});

const at = new Date('2026-11-27T10:00:00Z');
const purchase = { kind: 'purchase', partnerId: 'cafe', at, totalMinor: 1000n, currency: 'EUR', lines: [] } as const;
const rule = {
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
} as const;
const facts: MemberFacts = { tier: 'Base', tierMultiplier: '1', boughtAtPartnerBefore: true, ruleUsage: {} };
const campaign = (over: Partial<CampaignState> = {}): CampaignState => ({
  campaignId: 'c1',
  version: 1,
  name: 'Bonus',
  kind: 'bonus',
  multiplier: null,
  bonusPoints: 50n,
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
const ok = (result: ReturnType<typeof evaluate>) => {
  if (!result.ok) throw new Error(result.message);
  return result;
};

describe('evaluating an activity of a held-out member', () => {
  it('awards nothing from the campaign and lists it as held out; the same campaign not held out awards', () => {
    const held = ok(evaluate(purchase, [rule], [campaign({ heldOut: true })], facts));
    expect(held.contributions.map((c) => [c.source.kind, c.points])).toEqual([['rule', 10n]]);
    expect(held.total).toBe(10n);
    expect(held.heldOut).toEqual([{ campaignId: 'c1', version: 1 }]);
    // Nothing on the receipt tells the till that the member is held out.
    expect(held.notes).toEqual([]);
    const treated = ok(evaluate(purchase, [rule], [campaign()], facts));
    expect(treated.total).toBe(60n);
    expect(treated.heldOut).toEqual([]);
    expect(treated.notes).toEqual([]);
  });

  it('does not keep other campaigns from applying, as if it did not exist', () => {
    const exclusive = campaign({ campaignId: 'c1', name: 'Exclusive', stacking: 'exclusive', priority: 9, heldOut: true });
    const other = campaign({ campaignId: 'c2', name: 'Other', bonusPoints: 5n });
    const result = ok(evaluate(purchase, [rule], [exclusive, other], facts));
    expect(result.contributions.map((c) => [c.source.id, c.points])).toEqual([
      ['base', 10n],
      ['c2', 5n],
    ]);
    expect(result.heldOut).toEqual([{ campaignId: 'c1', version: 1 }]);
    // An exclusive campaign the member has already had applied blocks a held-out one: it would not have applied.
    const blocked = ok(
      evaluate(
        purchase,
        [rule],
        [
          { ...exclusive, heldOut: false },
          { ...other, heldOut: true },
        ],
        facts,
      ),
    );
    expect(blocked.heldOut).toEqual([]);
  });

  it('uses no budget, never refuses for one, and is not listed where the campaign would have given nothing', () => {
    const strictExhausted = campaign({ pointsCap: 100n, pointsUsed: 100n, strict: true, heldOut: true });
    const spent = ok(evaluate(purchase, [rule], [strictExhausted], facts));
    expect(spent.total).toBe(10n);
    expect(spent.heldOut).toEqual([]);
    expect(evaluate(purchase, [rule], [{ ...strictExhausted, heldOut: false }], facts)).toMatchObject({
      ok: false,
      code: 'CAMPAIGN_BUDGET_EXHAUSTED',
    });
    // Some budget left: held out (and the budget is what the caller leaves untouched: nothing is contributed).
    const left = ok(evaluate(purchase, [rule], [campaign({ pointsCap: 100n, pointsUsed: 99n, heldOut: true })], facts));
    expect(left.heldOut).toEqual([{ campaignId: 'c1', version: 1 }]);
    expect(left.contributions.filter((c) => c.source.kind === 'campaign')).toEqual([]);
    // Not its trigger, outside its target, or nothing to multiply: it would not have applied.
    const action = { kind: 'action', partnerId: 'cafe', at, action: 'review' } as const;
    expect(ok(evaluate(action, [], [campaign({ heldOut: true })], facts)).heldOut).toEqual([]);
    expect(
      ok(evaluate(purchase, [rule], [campaign({ heldOut: true, target: { kind: 'tiers', tiers: ['Gold'] } })], facts)).heldOut,
    ).toEqual([]);
    const multiplier = campaign({ kind: 'multiplier', multiplier: '2', bonusPoints: null, heldOut: true });
    expect(ok(evaluate(purchase, [], [multiplier], facts)).heldOut).toEqual([]);
    expect(ok(evaluate(purchase, [rule], [multiplier], facts)).heldOut).toEqual([{ campaignId: 'c1', version: 1 }]);
  });
});

describe('incremental purchases per member against the holdout', () => {
  it('is Pr/Nr − Ph/Nh as one exact ratio (Pr·Nh − Ph·Nr) / (Nr·Nh)', () => {
    // 7 purchases by 3 members reached, 2 by 2 held out: 7/3 − 1 = 4/3.
    expect(versusHoldout(7n, 3n, 2n, 2n)).toEqual({ numerator: '8', denominator: '6', value: '1.333333' });
    // The holdout bought more: negative.
    expect(versusHoldout(1n, 2n, 3n, 2n)).toEqual({ numerator: '-4', denominator: '4', value: '-1.000000' });
    // No member held out yet: no value.
    expect(versusHoldout(4n, 2n, 0n, 0n)).toEqual({ numerator: '0', denominator: '0', value: null });
  });
});
