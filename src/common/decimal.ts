import Decimal from 'decimal.js';

/**
 * Exact decimals for prices and rates (decimal.js, well beyond numeric(24,12)). Never a JS
 * number: 0.1 + 0.2 must be 0.3. Rounding is always named where it happens.
 */
export const Exact = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 40 });
export type Exact = InstanceType<typeof Exact>;

const DECIMAL_TEXT = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$/;

/** A non-negative decimal as written in GraphQL or JSON ("0.8", "1.2", "0.333333333333"), fitting numeric(24,12). */
export function parseDecimal(text: unknown): Exact | null {
  return typeof text === 'string' && DECIMAL_TEXT.test(text) ? new Exact(text) : null;
}

/** The canonical text of a stored decimal: no trailing zeros ("1.200000000000" → "1.2"). */
export const decimalText = (value: Exact | string): string => new Exact(value).toFixed();

/** amount × factor, rounded half to even to a whole number: points × a multiplier, or points × a price in minor units. */
export function productHalfEven(amount: bigint, factor: string): bigint {
  return BigInt(new Exact(amount.toString()).times(factor).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed(0));
}
