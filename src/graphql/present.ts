import { type ClassType } from 'type-graphql';
import { DomainError, isDomainError } from '../common/errors';
import { toErrorResult, type ErrorResult } from './types/error-result.type';

/**
 * A service outcome as a member of a result union: the success as an instance of its GraphQL
 * type (so the union can tell which type it is), or the error as its typed result.
 */
export function present<Success extends object>(
  outcome: object | DomainError,
  Type: ClassType<Success>,
  failures: ReadonlyArray<new () => ErrorResult>,
): Success | ErrorResult {
  if (isDomainError(outcome)) return toErrorResult(outcome, failures);
  return Object.assign(new Type(), outcome);
}
