import { GraphQLScalarType, Kind } from 'graphql';

/**
 * An integer amount of points or minor currency units, as a string of decimal digits (optionally
 * negative, for postings). Never a JSON number: amounts above 2^53 would silently lose precision.
 */
export const AmountScalar = new GraphQLScalarType({
  name: 'Amount',
  description: 'An integer amount (points or minor units) as a decimal string, e.g. "1500" or "-20".',
  serialize(value: unknown): string {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return value;
    throw new TypeError(`Amount cannot represent ${String(value)}`);
  },
  parseValue(value: unknown): bigint {
    if (typeof value === 'string' && /^-?[0-9]{1,19}$/.test(value)) return BigInt(value);
    throw new TypeError('Amount must be a string of decimal digits');
  },
  parseLiteral(ast): bigint {
    if (ast.kind === Kind.STRING && /^-?[0-9]{1,19}$/.test(ast.value)) return BigInt(ast.value);
    throw new TypeError('Amount must be a string of decimal digits');
  },
});
