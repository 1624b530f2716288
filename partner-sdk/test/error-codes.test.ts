import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, isEnumType, isNonNullType, isObjectType } from 'graphql';
import { ERROR_CODES, isErrorCode, type ErrorCode, type FailureOutcome } from '../src';

/** The hub's schema as committed (npm run schema:print): the source of truth for typed results. */
const schema = buildSchema(readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8'));

describe('ErrorCode', () => {
  it('lists exactly the error codes of the hub schema (a code the hub adds fails here until the SDK has it)', () => {
    const type = schema.getType('ErrorCode');
    if (!isEnumType(type)) throw new Error('the schema has no enum ErrorCode');
    expect([...ERROR_CODES].sort()).toEqual(
      type
        .getValues()
        .map((value) => value.name)
        .sort(),
    );
  });

  it('is the type of errorCode in every ErrorResult of the schema', () => {
    const results = Object.values(schema.getTypeMap()).filter(
      (type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === 'ErrorResult'),
    );
    expect(results.length).toBeGreaterThan(10);
    for (const type of results) {
      if (!isObjectType(type)) continue;
      const field = type.getFields().errorCode?.type;
      expect(isNonNullType(field) ? field.ofType.toString() : String(field)).toBe('ErrorCode');
    }
  });

  it('narrows a string with isErrorCode', () => {
    expect(isErrorCode('INSUFFICIENT_BALANCE')).toBe(true);
    expect(isErrorCode('INSUFICIENT_BALANCE')).toBe(false);
  });

  it('makes a misspelt code a compile error (checked by tsc: npm run typecheck)', () => {
    const outcome = {
      ok: false,
      typename: 'InsufficientBalance',
      errorCode: 'INSUFFICIENT_BALANCE',
      message: '',
      jti: 'j',
    } satisfies FailureOutcome;
    const known: ErrorCode = outcome.errorCode;
    // @ts-expect-error a misspelt code is not an ErrorCode
    const misspelt: ErrorCode = 'INSUFICIENT_BALANCE';
    // @ts-expect-error and comparing an outcome's code with one cannot compile
    const compared = (outcome as FailureOutcome).errorCode === 'INSUFICIENT_BALANCE';
    expect([known, misspelt, compared]).toEqual(['INSUFFICIENT_BALANCE', 'INSUFICIENT_BALANCE', false]);
  });
});
