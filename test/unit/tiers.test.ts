import { parseTiers } from '../../src/config/tiers';
import { applyMultiplier, tierFor } from '../../src/members/tiers';

describe('tiers', () => {
  const rules = parseTiers('Gold:5000, Base:0, Silver:1000');

  it('reads thresholds in any order and sorts them', () => {
    expect(rules.map((rule) => rule.name)).toEqual(['Base', 'Silver', 'Gold']);
  });

  it.each([
    [0n, 'Base', 'Silver', 1000n],
    [999n, 'Base', 'Silver', 1n],
    [1000n, 'Silver', 'Gold', 4000n],
    [5000n, 'Gold', null, null],
    [-20n, 'Base', 'Silver', 1020n],
  ])('puts %p CP earned in %s (next %s, %p to go)', (earned, name, next, toNext) => {
    expect(tierFor(rules, earned, 365)).toEqual({ name, earnedInWindow: earned, windowDays: 365, next, toNext });
  });

  it.each(['Silver:1000', 'Base:0,Base:10', 'Base:zero', 'base:0', 'Base'])('refuses the configuration %p', (text) => {
    expect(() => parseTiers(text)).toThrow(/TIERS/);
  });

  it('multiplies exactly and rounds half-even: 15 × 1.5 = 22.5 → 22, 17 × 1.5 = 25.5 → 26, 3 × 1.333333333333 = 4', () => {
    expect(applyMultiplier(15n, '1.5')).toBe(22n);
    expect(applyMultiplier(17n, '1.5')).toBe(26n);
    expect(applyMultiplier(3n, '1.333333333333')).toBe(4n);
    expect(applyMultiplier(100n, '1')).toBe(100n);
  });
});
