/**
 * Compile-time checks of the per-op error codes. `npm run typecheck` compiles this file (it is
 * never run): each `@ts-expect-error` line must fail to compile, and an unused one is itself an
 * error, so the file fails the type check as soon as one of these mistakes is accepted.
 */
import { DomainError, ErrorCode, fail } from '../../src/common/errors';
import type { OpError } from '../../src/common/op-errors';
import { present } from '../../src/graphql/present';
import {
  FundingLimitExceeded,
  HoldClosed,
  HoldExpired,
  HoldNotFound,
  InvalidInput,
  NotFound,
  failuresOf,
  instructionRejections,
  type ErrorClass,
} from '../../src/graphql/types/error-result.type';
import { IssueReceipt, RedeemReceipt } from '../../src/graphql/types/receipt.type';
import { issueFailures, redeemFailures } from '../../src/graphql/types/results.type';
import type { Operation } from '../../src/operations/registry';
import type { MovementResult } from '../../src/operations/context';

declare const issueOutcome: MovementResult | OpError<'issue'>;
declare const captureOutcome: MovementResult | OpError<'capture'>;

export const checks = [
  // fail() keeps its code in the type.
  (): DomainError<ErrorCode.HOLD_CLOSED> => fail(ErrorCode.HOLD_CLOSED, 'closed'),
  // @ts-expect-error HOLD_NOT_FOUND is not HOLD_CLOSED
  (): DomainError<ErrorCode.HOLD_CLOSED> => fail(ErrorCode.HOLD_NOT_FOUND, 'no hold'),

  // An op returns only the codes of its list.
  async (): Promise<MovementResult | OpError<'issue'>> => fail(ErrorCode.FUNDING_LIMIT_EXCEEDED, 'no money'),
  // @ts-expect-error an issue never closes a hold: HOLD_CLOSED is not in OP_ERRORS.issue
  async (): Promise<MovementResult | OpError<'issue'>> => fail(ErrorCode.HOLD_CLOSED, 'closed'),
  // An untyped DomainError could be anything, so it is refused too.
  // @ts-expect-error DomainError<ErrorCode> is wider than the issue codes
  async (error: DomainError): Promise<MovementResult | OpError<'issue'>> => error,

  // The registry of signed-instruction operations holds each op to its list.
  (async () => fail(ErrorCode.UNKNOWN_MEMBER, 'who?')) satisfies Operation<'issue'>,
  // @ts-expect-error a void cannot be refused for an unknown member
  (async () => fail(ErrorCode.UNKNOWN_MEMBER, 'who?')) satisfies Operation<'void'>,

  // A GraphQL failure list stands for exactly its op's codes.
  () => failuresOf('fund', [NotFound, InvalidInput]),
  // @ts-expect-error InvalidInput is missing: fund can return INVALID_INPUT
  () => failuresOf('fund', [NotFound]),
  // @ts-expect-error HoldClosed is extra: fund never returns HOLD_CLOSED
  () => failuresOf('fund', [NotFound, InvalidInput, HoldClosed]),
  // @ts-expect-error void's union must hold every instruction rejection too
  () => failuresOf('void', [HoldNotFound, HoldClosed, HoldExpired]),
  () => failuresOf('void', [...instructionRejections, HoldNotFound, HoldClosed, HoldExpired]),

  // A result type is the type of one code.
  (): ErrorClass<ErrorCode.FUNDING_LIMIT_EXCEEDED> => FundingLimitExceeded,
  // @ts-expect-error HoldClosed is not the type of FUNDING_LIMIT_EXCEEDED
  (): ErrorClass<ErrorCode.FUNDING_LIMIT_EXCEEDED> => HoldClosed,

  // A resolver can present an outcome only in a union that holds all of its codes.
  () => present(issueOutcome, IssueReceipt, issueFailures),
  // @ts-expect-error a capture's HOLD_* codes have no type in RedeemResult's failures
  () => present(captureOutcome, RedeemReceipt, redeemFailures),
];
