import fc from 'fast-check';
import { Exact } from '../../src/common/decimal';
import { convert, CP_RATE, type Rate } from '../../src/exchange/convert';

const rate = (text: string): Rate => ({ cpPerPoint: new Exact(text) });
const THIRD = rate('0.333333333333');
const SEVEN_THIRDS = rate('2.333333333333');

/** value in = value out + residual, exactly, for any conversion. */
function expectConserved(c: ReturnType<typeof convert>, from: Rate, to: Rate): void {
  const valueIn = new Exact(c.amountIn.toString()).mul(from.cpPerPoint);
  const valueOut = new Exact(c.amountOut.toString()).mul(to.cpPerPoint);
  expect(valueIn.minus(valueOut).eq(new Exact(c.residualCp))).toBe(true);
}

describe('convert', () => {
  it('converts 10 points at a third of a CP each into 3 CP, keeping 0.33333333333 CP as residual', () => {
    const c = convert('ACME.STARS', 'CP', 10n, THIRD, CP_RATE);
    expect(c).toEqual({ from: 'ACME.STARS', to: 'CP', amountIn: 10n, cpAmount: 3n, amountOut: 3n, residualCp: '0.33333333333' });
  });

  it('converts 3 CP into ACME points at a third of a CP each: 9 points, the hub keeps a tiny fraction', () => {
    const c = convert('CP', 'ACME.STARS', 3n, CP_RATE, THIRD);
    expect(c.amountOut).toBe(9n);
    expect(c.residualCp).toBe('0.000000000003');
  });

  it('converts at 7/3 (2.333333333333 CP per point) both ways with half-even rounding', () => {
    expect(convert('BOLT.MILES', 'CP', 3n, SEVEN_THIRDS, CP_RATE)).toMatchObject({ cpAmount: 7n, residualCp: '-0.000000000001' });
    const out = convert('CP', 'BOLT.MILES', 7n, CP_RATE, SEVEN_THIRDS);
    expect(out.amountOut).toBe(3n);
    expectConserved(out, CP_RATE, SEVEN_THIRDS);
  });

  it('rounds a tie half-even: 5 points at 0.5 CP are 2 CP (2.5 → 2), 7 are 4 (3.5 → 4)', () => {
    expect(convert('A.P', 'CP', 5n, rate('0.5'), CP_RATE).cpAmount).toBe(2n);
    expect(convert('A.P', 'CP', 7n, rate('0.5'), CP_RATE).cpAmount).toBe(4n);
  });

  it('goes A → B through whole CP: value in = value out + residual', () => {
    const c = convert('ACME.STARS', 'BOLT.MILES', 100n, THIRD, SEVEN_THIRDS);
    expect(c).toMatchObject({ cpAmount: 33n, amountOut: 14n });
    expectConserved(c, THIRD, SEVEN_THIRDS);
  });

  it('never creates or destroys value, and never rounds by more than half a unit per leg (property)', () => {
    const rates = fc.constantFrom('0.333333333333', '2.333333333333', '0.5', '1', '0.000001', '7', '1234.5678');
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), rates, rates, fc.boolean(), fc.boolean(), (amount, fromText, toText, fromCp, toCp) => {
        const [from, to] = [fromCp ? 'CP' : 'X.A', toCp && !fromCp ? 'CP' : 'Y.B'];
        const [rateFrom, rateTo] = [from === 'CP' ? CP_RATE : rate(fromText), to === 'CP' ? CP_RATE : rate(toText)];
        const c = convert(from, to, amount, rateFrom, rateTo);
        expectConserved(c, rateFrom, rateTo);
        const residual = new Exact(c.residualCp).abs();
        const bound = new Exact('0.5').plus(new Exact('0.5').mul(rateTo.cpPerPoint));
        expect(residual.lte(bound)).toBe(true);
      }),
    );
  });
});
