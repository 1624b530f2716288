/**
 * Money never travels as a JS number: the Amount scalar carries decimal-digit strings and bigints,
 * parsePositiveAmount reads instruction amounts, and list cursors are opaque.
 */
import fc from 'fast-check';
import { parseValue as parseGraphQLLiteral } from 'graphql';
import { bigintColumn, parsePositiveAmount, sumBigints } from '../../src/common/bigint';
import { decodeCursor, encodeCursor } from '../../src/common/ids';
import { AmountScalar } from '../../src/graphql/scalars';

const MAX = 10n ** 15n;

describe('AmountScalar.serialize', () => {
  it.each([
    [0n, '0'],
    [1500n, '1500'],
    [-20n, '-20'],
    [2n ** 63n - 1n, '9223372036854775807'],
    [10n ** 30n, '1000000000000000000000000000000'],
  ])('writes the bigint %p as the string %p', (value, text) => {
    expect(AmountScalar.serialize(value)).toBe(text);
  });

  it('writes any bigint as its exact decimal string', () => {
    fc.assert(fc.property(fc.bigInt(), (value) => expect(AmountScalar.serialize(value)).toBe(value.toString())));
  });

  it.each(['1500', '-20', '0', '12345678901234567890123'])('passes the digit string "%s" through unchanged', (text) => {
    expect(AmountScalar.serialize(text)).toBe(text);
  });

  it.each([
    ['a number', 1500],
    ['an unsafe integer', 2 ** 60],
    ['a float', 1.5],
    ['NaN', Number.NaN],
    ['a decimal string', '1.5'],
    ['an exponent string', '1e3'],
    ['an empty string', ''],
    ['a padded string', ' 10'],
    ['null', null],
    ['a boolean', true],
  ])('refuses to write %s', (_, value) => {
    expect(() => AmountScalar.serialize(value)).toThrow(TypeError);
  });
});

describe('AmountScalar.parseValue (variables)', () => {
  it.each([
    ['1500', 1500n],
    ['-20', -20n],
    ['0', 0n],
    ['9223372036854775807', 2n ** 63n - 1n],
    ['-9223372036854775808', -(2n ** 63n)],
  ])('reads "%s" as the bigint %p', (text, value) => {
    expect(AmountScalar.parseValue(text)).toBe(value);
  });

  it('reads every decimal string within PostgreSQL bigint back to the same bigint', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        expect(AmountScalar.parseValue(value.toString())).toBe(value);
      }),
    );
  });

  it.each(['9223372036854775808', '-9223372036854775809', '9999999999999999999'])('refuses %s, beyond PostgreSQL bigint', (text) => {
    expect(() => AmountScalar.parseValue(text)).toThrow(TypeError);
  });

  it.each([
    ['a JSON number', 1500],
    ['a float', 1.5],
    ['a bigint (not JSON)', 1500n],
    ['a decimal string', '1.5'],
    ['an exponent string', '1e3'],
    ['a string with a plus sign', '+5'],
    ['a string of 20 digits', '1'.repeat(20)],
    ['an empty string', ''],
    ['a padded string', '10 '],
    ['null', null],
  ])('refuses %s', (_, value) => {
    expect(() => AmountScalar.parseValue(value)).toThrow(TypeError);
  });
});

describe('AmountScalar.parseLiteral (inline arguments)', () => {
  it.each([
    ['"1500"', 1500n],
    ['"-20"', -20n],
    ['"9223372036854775807"', 2n ** 63n - 1n],
  ])('reads the string literal %s', (literal, value) => {
    expect(AmountScalar.parseLiteral(parseGraphQLLiteral(literal))).toBe(value);
  });

  it.each([
    ['an Int literal', '1500'],
    ['a Float literal', '1.5'],
    ['a string of 20 digits', `"${'1'.repeat(20)}"`],
    ['a decimal string', '"1.5"'],
    ['an enum-like name', 'ONE'],
    ['null', 'null'],
    ['a list', '["1"]'],
    ['an object', '{ value: "1" }'],
  ])('refuses %s', (_, literal) => {
    expect(() => AmountScalar.parseLiteral(parseGraphQLLiteral(literal))).toThrow(TypeError);
  });
});

describe('parsePositiveAmount', () => {
  it('reads every whole number from 1 to the maximum written in canonical digits', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: MAX }), (value) => expect(parsePositiveAmount(value.toString(), MAX)).toBe(value)));
  });

  it('refuses every number above the maximum', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MAX + 1n, max: 10n ** 19n - 1n }), (value) =>
        expect(parsePositiveAmount(value.toString(), MAX)).toBeNull(),
      ),
    );
  });

  it.each([
    ['a number', 100],
    ['a bigint', 100n],
    ['"0"', '0'],
    ['"-1"', '-1'],
    ['"007"', '007'],
    ['"1.0"', '1.0'],
    ['"1e3"', '1e3'],
    ['" 1"', ' 1'],
    ['""', ''],
    ['20 digits', '9'.repeat(20)],
    ['undefined', undefined],
  ])('refuses %s', (_, text) => {
    expect(parsePositiveAmount(text, MAX)).toBeNull();
  });

  it('honours the maximum it is given, inclusively', () => {
    expect(parsePositiveAmount('500', 500n)).toBe(500n);
    expect(parsePositiveAmount('501', 500n)).toBeNull();
  });
});

describe('bigint helpers', () => {
  it('sums bigints exactly, far beyond 2^53', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n })), (values) => {
        expect(sumBigints(values)).toBe(values.reduce((sum, value) => sum + value, 0n));
      }),
    );
    expect(sumBigints([])).toBe(0n);
  });

  it('reads a PostgreSQL bigint column as a bigint and writes it as a string, without precision loss', () => {
    expect(bigintColumn.from('9223372036854775807')).toBe(9223372036854775807n);
    expect(bigintColumn.to(9007199254740993n)).toBe('9007199254740993');
    expect(bigintColumn.from(null)).toBeNull();
    expect(bigintColumn.to(null)).toBeNull();
    expect(bigintColumn.to(undefined)).toBeUndefined();
  });
});

describe('cursors', () => {
  it('decode to the key they were encoded from, for strings and bigints', () => {
    expect(decodeCursor(encodeCursor('42'))).toBe('42');
    expect(decodeCursor(encodeCursor(9007199254740993n))).toBe('9007199254740993');
    expect(decodeCursor(encodeCursor('20250301100000000000:0000000000000000042'))).toBe('20250301100000000000:0000000000000000042');
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (key) => expect(decodeCursor(encodeCursor(key))).toBe(key)));
    fc.assert(fc.property(fc.bigInt(), (key) => expect(decodeCursor(encodeCursor(key))).toBe(key.toString())));
  });

  it('are opaque base64url text', () => {
    fc.assert(fc.property(fc.string(), (key) => expect(encodeCursor(key)).toMatch(/^[A-Za-z0-9_-]*$/)));
    expect(encodeCursor('42')).not.toContain('42');
  });

  it('decode null and undefined (no cursor) to null', () => {
    expect(decodeCursor(null)).toBeNull();
    expect(decodeCursor(undefined)).toBeNull();
  });

  it.each([
    ['an empty string', ''],
    ['plain text', 'garbage'],
    ['symbols', '!!!***'],
    ['a cursor of another version', Buffer.from('v2:42').toString('base64url')],
    ['the key without a version', Buffer.from('42').toString('base64url')],
    ['standard base64 of a different prefix', Buffer.from('V1:42').toString('base64')],
  ])('decode garbage (%s) to null', (_, cursor) => {
    expect(decodeCursor(cursor)).toBeNull();
  });

  it('decode any text that is not a v1 cursor to null', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!Buffer.from(text, 'base64url').toString('utf8').startsWith('v1:'));
        expect(decodeCursor(text)).toBeNull();
      }),
    );
  });
});
