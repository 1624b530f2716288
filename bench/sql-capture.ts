import { writeFileSync } from 'node:fs';
import { Client } from 'pg';

/**
 * Preloaded into a benchmark's hub process (`node --require dist/bench/sql-capture.js`, with
 * SQL_CAPTURE_FILE set): records every distinct SQL text the hub sends through node-postgres,
 * how often, and the parameters of its latest call, and writes them to SQL_CAPTURE_FILE (JSON)
 * when the process exits. The compare benchmark EXPLAINs them afterwards (bench/explain.ts).
 * It works on any server, the system PostgreSQL included, where pg_stat_statements would need
 * a restart with shared_preload_libraries. Statements run inside database functions and
 * triggers are not seen (they never cross the wire).
 */
export interface CapturedStatement {
  text: string;
  calls: number;
  values?: unknown[];
}

const file = process.env.SQL_CAPTURE_FILE;
if (file) {
  const seen = new Map<string, CapturedStatement>();
  const original = Client.prototype.query as (...args: unknown[]) => unknown;
  (Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function capture(this: Client, ...args: unknown[]) {
    const [first, second] = args;
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string') {
      const values = Array.isArray(second) ? second : (first as { values?: unknown }).values;
      const known = seen.get(text) ?? { text, calls: 0 };
      known.calls += 1;
      // The latest call's parameters: the steady state (a dispatcher's first call starts from position zero).
      known.values = Array.isArray(values) ? values : undefined;
      seen.set(text, known);
    }
    return original.apply(this, args);
  };
  process.once('exit', () => {
    writeFileSync(
      file,
      JSON.stringify([...seen.values()], (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)),
    );
  });
}
