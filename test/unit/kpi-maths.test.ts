import { clv, ratio } from '../../src/kpis/kpi.service';
import { KPI_DEFAULTS, type KpiSettings } from '../../src/kpis/kpi-settings';

/** The exact ratios and the CLV model of docs/kpis.md: rounding named and tested. */
const settings = (margin: string, monthlyDiscountRate: string): KpiSettings => ({
  ...KPI_DEFAULTS,
  partnerId: null,
  margin,
  monthlyDiscountRate,
  setAt: null,
});

describe('ratio', () => {
  it('keeps numerator and denominator exact and rounds the value half to even at 6 places', () => {
    expect(ratio(2, 3)).toEqual({ numerator: '2', denominator: '3', value: '0.666667' });
    // 0.0000005 and 0.0000015 are ties: half to even keeps the even digit.
    expect(ratio(5, 10_000_000).value).toBe('0.000000');
    expect(ratio(15, 10_000_000).value).toBe('0.000002');
    expect(ratio(-3000, 3000).value).toBe('-1.000000');
  });

  it('has no value when the denominator is 0', () => {
    expect(ratio(14000, 0)).toEqual({ numerator: '14000', denominator: '0', value: null });
  });
});

describe('clv', () => {
  it('is m × r / (1 + d − r), rounded half to even to the minor unit', () => {
    // m = 14000 × 0.25 / (4 × 3) = 291.666…; r = 4/5; d = 0.01 → 291.666… × 0.8 / 0.21 = 1111.11…
    const value = clv(14000n, 4, 3, 4, 5, settings('0.25', '0.01'));
    expect(value).toMatchObject({ value: '1111', margin: '0.25', monthlyDiscountRate: '0.01' });
    expect(value.monthlyMarginPerMember).toEqual({ numerator: '3500', denominator: '12', value: '291.666667' });
    // m = 250 × 0.2 / 1 = 50; r = 1/2; d = 0 → 50 × 0.5 / 0.5 = 50.
    expect(clv(250n, 1, 1, 1, 2, settings('0.2', '0')).value).toBe('50');
    // m = 5 × 1 / 1 = 5; r = 1/4; d = 0 → 5 × 0.25 / 0.75 = 1.666… → 2.
    expect(clv(5n, 1, 1, 1, 4, settings('1', '0')).value).toBe('2');
  });

  it('has no value without active members, without a month to retain from, or when r ≥ 1 + d', () => {
    expect(clv(0n, 0, 3, 0, 0, settings('0.2', '0.01')).value).toBeNull();
    expect(clv(1000n, 2, 1, 0, 0, settings('0.2', '0.01')).value).toBeNull();
    expect(clv(1000n, 2, 1, 3, 3, settings('0.2', '0')).value).toBeNull();
  });
});
