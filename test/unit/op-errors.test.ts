/**
 * The run-time side of the per-operation error codes (the compile-time side is
 * test/types/op-errors.types.ts): the lists themselves, and the guards that hold when the
 * types are bypassed.
 */
import 'reflect-metadata';
import { OPS } from '@coalition-hub/partner-sdk';
import { ErrorCode, fail } from '../../src/common/errors';
import { INSTRUCTION_REJECTIONS, OP_ERRORS, opMayReturn, type OpName } from '../../src/common/op-errors';
import { failuresOf, InvalidInput, NotFound } from '../../src/graphql/types/error-result.type';

it('gives every signed-instruction op the instruction rejections, and no op a code twice', () => {
  for (const op of OPS) expect(OP_ERRORS[op]).toEqual(expect.arrayContaining([...INSTRUCTION_REJECTIONS]));
  for (const codes of Object.values(OP_ERRORS)) expect(new Set(codes).size).toBe(codes.length);
});

it('uses only codes that exist', () => {
  const known = new Set<string>(Object.values(ErrorCode));
  for (const codes of Object.values(OP_ERRORS)) for (const code of codes) expect(known.has(code)).toBe(true);
});

it('lets an op pass on only the codes of its list', () => {
  expect(opMayReturn('issue', fail(ErrorCode.INVALID_AMOUNT, 'too large'))).toBe(true);
  expect(opMayReturn('enroll', fail(ErrorCode.INVALID_AMOUNT, 'too large'))).toBe(false);
  expect(opMayReturn('fund', fail(ErrorCode.RATE_LIMITED, 'slow down'))).toBe(false);
});

it('refuses at start-up a failure list that does not match its op, should the types be bypassed', () => {
  expect(failuresOf('fund', [InvalidInput, NotFound])).toEqual([InvalidInput, NotFound]);
  const bypass = failuresOf as (op: OpName, failures: readonly unknown[]) => unknown;
  expect(() => bypass('fund', [NotFound])).toThrow('the failures of fund are not the codes of OP_ERRORS.fund');
  expect(() => bypass('resolve', [NotFound, InvalidInput])).toThrow(/OP_ERRORS\.resolve/);
});
