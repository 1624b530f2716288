import Decimal from 'decimal.js';
import { assert } from '../common/assert';
import { Exact } from '../common/decimal';

/**
 * Exchange maths (DESIGN.md §2, §4), pure: whole units in, whole units out, exact decimals in
 * between. Every leg rounds half-even to a whole unit; what rounding keeps back or adds is not
 * lost: it is the residual, in CP, that the hub books to its rounding account, so that
 * value in = value out + residual, exactly.
 */
export const CP_ASSET = 'CP';

export interface Rate {
  /** CP per one point of the asset (for CP itself: 1). */
  cpPerPoint: Exact;
}

export interface Conversion {
  from: string;
  to: string;
  /** Points of `from` the member gives. */
  amountIn: bigint;
  /** CP in between (for X → Y, the CP that pass through; for X → CP, the CP the member gets). */
  cpAmount: bigint;
  /** Points of `to` the member gets. */
  amountOut: bigint;
  /** amountIn × rate(from) − amountOut × rate(to), in CP, exact: positive when the hub keeps a fraction. */
  residualCp: string;
}

const halfEven = (value: Exact): bigint => BigInt(value.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed(0));

export function convert(from: string, to: string, amountIn: bigint, rateFrom: Rate, rateTo: Rate): Conversion {
  assert(amountIn > 0n, 'convert a positive amount');
  assert(from !== to, 'an exchange changes the asset');
  assert(rateFrom.cpPerPoint.gt(0) && rateTo.cpPerPoint.gt(0), 'rates are positive');
  const valueIn = new Exact(amountIn.toString()).mul(rateFrom.cpPerPoint);
  const cpAmount = from === CP_ASSET ? amountIn : halfEven(valueIn);
  const amountOut = to === CP_ASSET ? cpAmount : halfEven(new Exact(cpAmount.toString()).div(rateTo.cpPerPoint));
  const valueOut = new Exact(amountOut.toString()).mul(rateTo.cpPerPoint);
  return { from, to, amountIn, cpAmount, amountOut, residualCp: valueIn.minus(valueOut).toFixed() };
}

export const CP_RATE: Rate = { cpPerPoint: new Exact(1) };
