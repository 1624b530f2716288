import { GraphQLScalarType, Kind } from 'graphql';
import { decimalText, parseDecimal } from '../common/decimal';

/**
 * An integer amount of points or minor currency units, as a string of decimal digits (optionally
 * negative, for postings). Never a JSON number: amounts above 2^53 would silently lose precision.
 */
const BIGINT_MAX = 2n ** 63n - 1n;

/** Within PostgreSQL's bigint, so that an accepted amount can always be stored. */
function parseAmount(value: unknown): bigint {
  if (typeof value === 'string' && /^-?[0-9]{1,19}$/.test(value)) {
    const amount = BigInt(value);
    if (amount <= BIGINT_MAX && amount >= -BIGINT_MAX - 1n) return amount;
  }
  throw new TypeError('Amount must be a string of decimal digits within a 64-bit integer');
}

export const AmountScalar = new GraphQLScalarType({
  name: 'Amount',
  description: 'An integer amount (points or minor units) as a decimal string, e.g. "1500" or "-20".',
  serialize(value: unknown): string {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return value;
    throw new TypeError(`Amount cannot represent ${String(value)}`);
  },
  parseValue: (value: unknown): bigint => parseAmount(value),
  parseLiteral: (ast): bigint => parseAmount(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** An exact, non-negative decimal as a string ("0.8", "0.333333333333"): prices and rates, never floats. */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'An exact non-negative decimal as a string, at most 12 digits before and after the point, e.g. "0.8".',
  serialize(value: unknown): string {
    if (typeof value === 'string' && parseDecimal(value) !== null) return value;
    throw new TypeError(`Decimal cannot represent ${String(value)}`);
  },
  parseValue: (value: unknown): string => readDecimal(value),
  parseLiteral: (ast): string => readDecimal(ast.kind === Kind.STRING ? ast.value : undefined),
});

function readDecimal(value: unknown): string {
  const decimal = parseDecimal(value);
  if (decimal === null) throw new TypeError('Decimal must be a string such as "0.8" (at most 12 digits before and after the point)');
  return decimalText(decimal);
}
