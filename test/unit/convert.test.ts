import fc from 'fast-check';
import { Exact } from '../../src/common/decimal';
import { convert, CP_RATE, type Rate } from '../../src/exchange/convert';

const rate = (text: string): Rate => ({ cpPerPoint: new Exact(text) });
const THIRD = rate('0.333333333333');
const SEVEN_THIRDS = rate('2.333333333333');

/** value in = value out + residual, exactly, and the residual is never negative. */
function expectConserved(c: ReturnType<typeof convert>, from: Rate, to: Rate): void {
  const valueIn = new Exact(c.amountIn.toString()).mul(from.cpPerPoint);
  const valueOut = new Exact(c.amountOut.toString()).mul(to.cpPerPoint);
  expect(valueIn.minus(valueOut).eq(new Exact(c.residualCp))).toBe(true);
  expect(new Exact(c.residualCp).gte(0)).toBe(true);
}

describe('convert', () => {
  it('converts 10 points at a third of a CP each into 3 CP, keeping 0.333… CP as residual', () => {
    const c = convert('ACME.STARS', 'CP', 10n, THIRD, CP_RATE);
    expect(c).toEqual({
      from: 'ACME.STARS',
      to: 'CP',
      amountRequested: 10n,
      amountIn: 10n,
      cpAmount: 3n,
      amountOut: 3n,
      residualCp: '0.33333333333',
    });
  });

  it('converts 3 CP into ACME points at a third of a CP each: 9 points, the hub keeps a tiny fraction', () => {
    const c = convert('CP', 'ACME.STARS', 3n, CP_RATE, THIRD);
    expect(c).toMatchObject({ amountIn: 3n, amountOut: 9n, residualCp: '0.000000000003' });
  });

  it('converts at 7/3 (2.333333333333 CP per point), rounding what the member gets down', () => {
    expect(convert('BOLT.MILES', 'CP', 3n, SEVEN_THIRDS, CP_RATE)).toMatchObject({
      amountIn: 3n,
      cpAmount: 6n,
      amountOut: 6n,
      residualCp: '0.999999999999',
    });
    const out = convert('CP', 'BOLT.MILES', 7n, CP_RATE, SEVEN_THIRDS);
    expect(out).toMatchObject({ amountIn: 7n, amountOut: 3n });
    expectConserved(out, CP_RATE, SEVEN_THIRDS);
  });

  it('leaves what is not needed unconverted: 5 points at 0.5 CP give 2 CP for 4 points, and the fifth stays', () => {
    expect(convert('A.P', 'CP', 5n, rate('0.5'), CP_RATE)).toMatchObject({
      amountRequested: 5n,
      amountIn: 4n,
      amountOut: 2n,
      residualCp: '0',
    });
  });

  it('goes A → B through whole CP: value in = value out + residual', () => {
    const c = convert('ACME.STARS', 'BOLT.MILES', 100n, THIRD, SEVEN_THIRDS);
    expect(c).toMatchObject({ cpAmount: 33n, amountOut: 14n, amountIn: 100n });
    expectConserved(c, THIRD, SEVEN_THIRDS);
  });

  it('cannot mint by exchanging back and forth (the review case: 1 CP ↔ points at 1.5 CP)', () => {
    const there = convert('CP', 'X.P', 1n, CP_RATE, rate('1.5'));
    expect(there.amountOut).toBe(0n); // 1 CP is worth less than one point: nothing to quote
    const back = convert('X.P', 'CP', 1n, rate('1.5'), CP_RATE);
    expect(back.amountOut).toBe(1n);
  });

  it('conserves value, never gives more than it takes, and no round trip gains (property)', () => {
    const rates = fc.constantFrom('0.333333333333', '2.333333333333', '0.5', '1', '1.5', '3.5', '0.000001', '7', '1234.5678');
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), rates, rates, (amount, aText, bText) => {
        const [a, b] = [rate(aText), rate(bText)];
        for (const [from, to, rf, rt] of [
          ['CP', 'X.A', CP_RATE, a],
          ['X.A', 'CP', a, CP_RATE],
          ['X.A', 'Y.B', a, b],
        ] as const) {
          const c = convert(from, to, amount, rf, rt);
          expectConserved(c, rf, rt);
          expect(c.amountIn <= amount).toBe(true);
          if (c.amountOut === 0n) continue;
          const back = convert(to, from, c.amountOut, rt, rf);
          expect(back.amountOut <= c.amountIn).toBe(true);
        }
      }),
    );
  });
});
