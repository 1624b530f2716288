import Decimal from 'decimal.js';
import { assert } from '../common/assert';
import { Exact } from '../common/decimal';
import { CP } from '../ledger/ledger.repository';

/**
 * Exchange maths (docs/ledger.md, "Rules"), pure: whole units in, whole units out, exact decimals in
 * between. Every leg rounds what the member receives *down* and takes only what that needs
 * (rounded up); the rest of the requested amount is simply not converted. So
 * value in = value out + residual with a residual that is never negative: the hub books it to
 * its rounding account, and no sequence of exchanges can make a point. (Half-even on each leg,
 * the default elsewhere, would let a member round in its favour twice and mint CP by
 * exchanging back and forth.)
 */
export interface Rate {
  /** CP per one point of the asset (for CP itself: 1). */
  cpPerPoint: Exact;
}

export interface Conversion {
  from: string;
  to: string;
  /** What the member asked to convert, in `from`. */
  amountRequested: bigint;
  /** What is taken from the member, in `from` (≤ requested; the rest is not converted). */
  amountIn: bigint;
  /** CP in between: created for X and/or retired at Y. */
  cpAmount: bigint;
  /** What the member gets, in `to`. */
  amountOut: bigint;
  /** amountIn × rate(from) − amountOut × rate(to), in CP, exact, ≥ 0: the hub's rounding. */
  residualCp: string;
}

const whole = (value: Exact, rounding: Decimal.Rounding): bigint => BigInt(value.toDecimalPlaces(0, rounding).toFixed(0));
const times = (amount: bigint, rate: Rate): Exact => new Exact(amount.toString()).mul(rate.cpPerPoint);
const per = (cp: bigint, rate: Rate): Exact => new Exact(cp.toString()).div(rate.cpPerPoint);

export function convert(from: string, to: string, amountRequested: bigint, rateFrom: Rate, rateTo: Rate): Conversion {
  assert(amountRequested > 0n, 'convert a positive amount');
  assert(from !== to, 'an exchange changes the asset');
  assert(rateFrom.cpPerPoint.gt(0) && rateTo.cpPerPoint.gt(0), 'rates are positive');
  // What the request is worth in whole CP (down), then in whole points of `to` (down)…
  const cpWorth = from === CP ? amountRequested : whole(times(amountRequested, rateFrom), Decimal.ROUND_FLOOR);
  const amountOut = to === CP ? cpWorth : whole(per(cpWorth, rateTo), Decimal.ROUND_FLOOR);
  // …and back: the whole CP those points need (up), and the source points those CP need (up).
  const cpAmount = to === CP ? amountOut : whole(times(amountOut, rateTo), Decimal.ROUND_CEIL);
  const amountIn = from === CP ? cpAmount : whole(per(cpAmount, rateFrom), Decimal.ROUND_CEIL);
  assert(amountIn <= amountRequested && cpAmount <= cpWorth, 'never take more than asked');
  const residual = times(amountIn, rateFrom).minus(times(amountOut, rateTo));
  assert(residual.gte(0), 'an exchange never gives more value than it takes');
  return { from, to, amountRequested, amountIn, cpAmount, amountOut, residualCp: residual.toFixed() };
}

export const CP_RATE: Rate = { cpPerPoint: new Exact(1) };
