import { createHash } from 'node:crypto';
import { Client } from 'pg';

/**
 * Named prepared statements for every parameterised statement (docs/architecture.md, "Prepared
 * statements"). node-postgres sends a query without a name as an unnamed statement, which
 * PostgreSQL parses and plans again every time; a query with a name is parsed once per connection
 * and then only bound and executed. This client class (given to the pool) names each statement
 * that has parameters after a hash of its text, so the same SQL gets the same name on every
 * connection and nothing else changes for the callers (TypeORM, the rate limiter, plain SQL).
 *
 * Statements without parameters (BEGIN, COMMIT, DDL, migrations' scripts) stay unnamed. A
 * connection keeps at most NAMED_PER_CONNECTION_MAX statements: SQL built at run time (a variable
 * number of placeholders) cannot fill the server's memory; past the bound, new texts go unnamed.
 * Should a table change under a prepared statement so that its result columns differ (a
 * migration by another instance), PostgreSQL refuses it once ("cached plan must not change
 * result type"); that text then goes unnamed on that connection.
 */
export const NAMED_PER_CONNECTION_MAX = 256;

/** Text → statement name; bounded, so that dynamic texts are hashed rather than remembered. */
const names = new Map<string, string>();
const REMEMBERED_NAMES_MAX = 4096;

export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `s_${createHash('sha1').update(text).digest('base64url')}`;
    if (names.size < REMEMBERED_NAMES_MAX) names.set(text, name);
  }
  return name;
}

const CACHED_PLAN_CHANGED = '0A000';

type QueryCallback = (error: Error | null, result?: unknown) => void;

export class PreparingClient extends Client {
  private readonly named = new Set<string>();
  private readonly unnamed = new Set<string>();

  // node-postgres's query has many overloads; only (text, values[, callback]) with values is named.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's own declaration returns any
  override query(...args: unknown[]): any {
    const [text, values, callback] = args as [unknown, unknown, QueryCallback | undefined];
    const passThrough = () => (super.query as (...rest: unknown[]) => unknown).apply(this, args);
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0) return passThrough();
    const name = statementName(text);
    if (this.unnamed.has(name) || (!this.named.has(name) && this.named.size >= NAMED_PER_CONNECTION_MAX)) return passThrough();
    this.named.add(name);
    const planChanged = (error: unknown) => {
      if ((error as { code?: string } | null)?.code === CACHED_PLAN_CHANGED) this.unnamed.add(name);
    };
    // pg-pool's own query (the rate limiter's path) passes a callback; TypeORM awaits the promise.
    if (typeof callback === 'function') {
      return super.query({ name, text, values }, (error: Error | null, result: unknown) => {
        planChanged(error);
        callback(error, result);
      });
    }
    return super.query({ name, text, values }).catch((error: unknown) => {
      planChanged(error);
      throw error;
    });
  }
}
