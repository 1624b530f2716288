import type { ValueTransformer } from 'typeorm';

/** PostgreSQL bigint travels as a string in `pg`; read it as a JS bigint, never a number. */
export const bigintColumn: ValueTransformer = {
  to: (value: bigint | null | undefined) => (value === null || value === undefined ? value : value.toString()),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};

const AMOUNT_PATTERN = /^[1-9][0-9]{0,18}$/;

/** Parses a positive integer amount written as decimal digits; anything else is `null`. */
export function parsePositiveAmount(text: unknown, max: bigint): bigint | null {
  if (typeof text !== 'string' || !AMOUNT_PATTERN.test(text)) return null;
  const value = BigInt(text);
  return value <= max ? value : null;
}

export function sumBigints(values: Iterable<bigint>): bigint {
  let total = 0n;
  for (const value of values) total += value;
  return total;
}
