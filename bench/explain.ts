import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import type { CapturedStatement } from './sql-capture';

/**
 * EXPLAIN (not ANALYZE: nothing is executed) of every statement the hub sent during a compare
 * run, with the parameters of its latest call, on the hub's database as it is now (after the
 * growth load, when there was one). For each: how often it was sent, whether its plan reads
 * through an index, and any sequential scan of a large table (pg_class.reltuples at least
 * `largeRows`), which is flagged.
 */
export interface ExplainedStatement {
  calls: number;
  /** Sent at least 1 % as often as the most frequent statement: part of the measured traffic, not of setup or of the benchmark's own checks. */
  hot?: boolean;
  text: string;
  indexAccess: boolean;
  seqScans: string[];
  largeSeqScans: string[];
  error?: string;
}

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const EXPLAINABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b/i;
const INDEX_NODES = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Index Scan', 'Bitmap Heap Scan']);

/** The relations a plan scans sequentially, and whether any node reads through an index. */
export function scansOf(plan: PlanNode): { indexAccess: boolean; seqScans: string[] } {
  let indexAccess = false;
  const seqScans: string[] = [];
  const visit = (node: PlanNode) => {
    if (node['Node Type'] && INDEX_NODES.has(node['Node Type'])) indexAccess = true;
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) seqScans.push(node['Relation Name']);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  return { indexAccess, seqScans };
}

export async function explainCaptured(databaseUrl: string, captureFile: string, largeRows: number): Promise<ExplainedStatement[]> {
  const captured = (JSON.parse(readFileSync(captureFile, 'utf8')) as CapturedStatement[])
    .filter((statement) => EXPLAINABLE.test(statement.text))
    .sort((a, b) => b.calls - a.calls);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const sizes = new Map<string, number>(
      (
        await client.query<{ relname: string; reltuples: number }>(
          `SELECT relname, reltuples::float8 AS reltuples FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace`,
        )
      ).rows.map((row) => [row.relname, Number(row.reltuples)]),
    );
    const explained: ExplainedStatement[] = [];
    for (const statement of captured) {
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
          `EXPLAIN (FORMAT JSON) ${statement.text}`,
          statement.values ?? [],
        );
        const { indexAccess, seqScans } = scansOf(rows[0]!['QUERY PLAN'][0]!.Plan);
        explained.push({
          calls: statement.calls,
          text: statement.text,
          indexAccess,
          seqScans,
          largeSeqScans: seqScans.filter((relation) => (sizes.get(relation) ?? 0) >= largeRows),
        });
      } catch (error) {
        explained.push({
          calls: statement.calls,
          text: statement.text,
          indexAccess: false,
          seqScans: [],
          largeSeqScans: [],
          error: (error as Error).message,
        });
      }
    }
    const hottest = Math.max(0, ...explained.map((statement) => statement.calls));
    for (const statement of explained) statement.hot = statement.calls >= hottest / 100;
    return explained;
  } finally {
    await client.end();
  }
}

/** One line per statement: calls, index/seq-scan verdict, the statement on one line (shortened). */
export function formatExplained(statement: ExplainedStatement): string {
  const oneLine = statement.text.replace(/\s+/g, ' ').trim();
  const shown = oneLine.length > 150 ? `${oneLine.slice(0, 147)}...` : oneLine;
  const verdict = statement.error
    ? `not explained (${statement.error.split('\n')[0]})`
    : statement.largeSeqScans.length > 0
      ? `SEQ SCAN of large table ${statement.largeSeqScans.join(', ')}`
      : statement.indexAccess
        ? `index${statement.seqScans.length > 0 ? ` (seq scan of small ${statement.seqScans.join(', ')})` : ''}`
        : statement.seqScans.length > 0
          ? `seq scan of small ${statement.seqScans.join(', ')}`
          : 'no table read';
  return `${String(statement.calls).padStart(8)} ${statement.hot ? 'hot' : '   '}  ${verdict.padEnd(40)}  ${shown}`;
}
