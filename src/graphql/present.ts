import { type ClassType } from 'type-graphql';
import { DomainError, isDomainError } from '../common/errors';
import { toErrorResult, type CodesOf, type ErrorClass, type ErrorResult } from './types/error-result.type';

/** The codes of T's DomainError members that the failure list F has no result type for. */
type Unlisted<T, F extends readonly ErrorClass[]> = Exclude<Extract<T, DomainError>['code'], CodesOf<F>>;

/** T itself when every error it can be has a type in F; otherwise a type naming the codes that have none. */
export type Presentable<T, F extends readonly ErrorClass[]> = [Unlisted<T, F>] extends [never]
  ? unknown
  : { codeMissingFromUnion: Unlisted<T, F> };

/**
 * A service outcome as a member of a result union: the success as an instance of its GraphQL
 * type (so the union can tell which type it is), or the error as its typed result. The compiler
 * refuses an outcome whose error codes the failure list does not cover.
 */
export function present<T extends object, Success extends object, F extends readonly ErrorClass[]>(
  outcome: T & Presentable<T, F>,
  Type: ClassType<Success>,
  failures: F,
): Success | ErrorResult {
  if (isDomainError(outcome)) return toErrorResult(outcome, failures);
  return Object.assign(new Type(), outcome);
}
