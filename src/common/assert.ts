/** A broken invariant: a bug, never an expected outcome. Not caught; surfaces as INTERNAL_SERVER_ERROR. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
