/**
 * The arithmetic of `npm run bench -- compare` (docs/benchmarks.md, "Side by side with pgbench"):
 * reading pgbench's output, percentiles, each hub figure's ratio to the pgbench runs next to it,
 * the targets and their verdicts. No I/O here, so that it is unit-tested on its own.
 */

/** What one timed run measured. Latencies in milliseconds. */
export interface Measure {
  kind: MeasureKind;
  /** Transactions (pgbench), instructions or reads per second. */
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
  /** Anything the reader must know about the run (e.g. it stopped early). */
  note?: string;
}

export type MeasureKind = 'pgbench' | 'issue' | 'redeem' | 'reads' | 'batch' | 'issue@half' | 'redeem@half';

export const UNITS: Record<MeasureKind, string> = {
  pgbench: 'tps',
  issue: 'issues/s',
  redeem: 'redeems/s',
  reads: 'reads/s',
  batch: 'instr/s',
  'issue@half': 'issues/s',
  'redeem@half': 'redeems/s',
};

/** What the summary lines of a pgbench run (PostgreSQL 15 and later) say. */
export interface PgbenchSummary {
  tps: number;
  latencyAverageMs: number;
  latencyStddevMs?: number;
  processed: number;
  failed: number;
  /** Lowest and highest tps of the `-P` progress intervals, when there were any. */
  progressTps?: { min: number; max: number };
}

function numberAfter(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Reads pgbench's stdout (and, if given, its stderr with the `-P` progress lines). */
export function parsePgbenchOutput(stdout: string, stderr = ''): PgbenchSummary {
  const tps = numberAfter(stdout, /^tps = ([0-9.]+)/m);
  const latencyAverageMs = numberAfter(stdout, /^latency average = ([0-9.]+) ms/m);
  const processed = numberAfter(stdout, /^number of transactions actually processed: ([0-9]+)/m);
  if (tps === undefined || latencyAverageMs === undefined || processed === undefined)
    throw new Error(`pgbench printed no summary:\n${stdout}\n${stderr}`);
  const progress = [...`${stdout}\n${stderr}`.matchAll(/^progress: [0-9.]+ s, ([0-9.]+) tps/gm)].map((match) => Number(match[1]));
  return {
    tps,
    latencyAverageMs,
    latencyStddevMs: numberAfter(stdout, /^latency stddev = ([0-9.]+) ms/m),
    processed,
    failed: numberAfter(stdout, /^number of failed transactions: ([0-9]+)/m) ?? 0,
    progressTps: progress.length > 0 ? { min: Math.min(...progress), max: Math.max(...progress) } : undefined,
  };
}

/**
 * Latencies (ms) from pgbench's per-transaction log (`-l`): each line is
 * `client_id transaction_no time script_no time_epoch time_us [schedule_lag]`, `time` the
 * transaction's latency in microseconds, or `failed`/`skipped` instead of a number.
 */
export function parsePgbenchLog(text: string): { latenciesMs: number[]; failed: number } {
  const latenciesMs: number[] = [];
  let failed = 0;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const micros = Number(fields[2]);
    if (Number.isFinite(micros)) latenciesMs.push(micros / 1000);
    else failed += 1;
  }
  return { latenciesMs, failed };
}

/** Nearest-rank percentiles and the maximum of `values` (any order; the array is not changed). */
export function percentiles(values: readonly number[]): { p50: number; p90: number; p99: number; max: number } {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.length - 1]! };
}

/** A hub figure with the pgbench TPS it is compared with: the mean of the pgbench runs just before and just after it. */
export interface Compared {
  measure: Measure;
  baselineTps?: number;
  ratio?: number;
}

export function compareToAdjacentPgbench(sequence: readonly Measure[]): Compared[] {
  const compared: Compared[] = [];
  sequence.forEach((measure, index) => {
    if (measure.kind === 'pgbench') return;
    const before = sequence
      .slice(0, index)
      .reverse()
      .find((m) => m.kind === 'pgbench');
    const after = sequence.slice(index + 1).find((m) => m.kind === 'pgbench');
    const neighbours = [before, after].filter((m): m is Measure => m !== undefined);
    if (neighbours.length === 0) return compared.push({ measure });
    const baselineTps = neighbours.reduce((sum, m) => sum + m.rate, 0) / neighbours.length;
    compared.push({ measure, baselineTps, ratio: measure.rate / baselineTps });
  });
  return compared;
}

/** The issue's targets (docs/benchmarks.md). */
export interface Target {
  minRatio?: number;
  minRate?: number;
  maxP99?: number;
}

export const TARGETS: Partial<Record<MeasureKind, Target>> = {
  issue: { minRatio: 0.2 },
  redeem: { minRatio: 0.15 },
  batch: { minRatio: 0.5 },
  reads: { minRate: 2000, maxP99: 50 },
  'issue@half': { maxP99: 100 },
  'redeem@half': { maxP99: 100 },
};

export function describeTarget(target: Target): string {
  const parts: string[] = [];
  if (target.minRatio !== undefined) parts.push(`≥${target.minRatio.toFixed(2)}×`);
  if (target.minRate !== undefined) parts.push(`≥${target.minRate}/s`);
  if (target.maxP99 !== undefined) parts.push(`p99<${target.maxP99} ms`);
  return parts.join(' ');
}

export type Verdict = 'PASS' | 'BELOW';

export function verdict(target: Target, figure: { rate: number; p99: number; ratio?: number }): Verdict {
  const ok =
    (target.minRatio === undefined || (figure.ratio !== undefined && figure.ratio >= target.minRatio)) &&
    (target.minRate === undefined || figure.rate >= target.minRate) &&
    (target.maxP99 === undefined || figure.p99 < target.maxP99);
  return ok ? 'PASS' : 'BELOW';
}

/** One kind's figures over all rounds: means of rate, ratio and percentiles, the largest max. */
export interface Summary {
  kind: MeasureKind;
  runs: number;
  rate: number;
  ratio?: number;
  ratioMin?: number;
  ratioMax?: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
  target?: Target;
  verdict?: Verdict;
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

export function summarise(compared: readonly Compared[], pgbench: readonly Measure[]): Summary[] {
  const kinds: MeasureKind[] = ['issue', 'redeem', 'batch', 'reads', 'issue@half', 'redeem@half'];
  const summaries: Summary[] = [];
  if (pgbench.length > 0)
    summaries.push({
      kind: 'pgbench',
      runs: pgbench.length,
      rate: mean(pgbench.map((m) => m.rate)),
      p50: mean(pgbench.map((m) => m.p50)),
      p90: mean(pgbench.map((m) => m.p90)),
      p99: mean(pgbench.map((m) => m.p99)),
      max: Math.max(...pgbench.map((m) => m.max)),
      failures: pgbench.reduce((sum, m) => sum + m.failures, 0),
    });
  for (const kind of kinds) {
    const runs = compared.filter((c) => c.measure.kind === kind);
    if (runs.length === 0) continue;
    const ratios = runs.map((c) => c.ratio).filter((r): r is number => r !== undefined);
    const summary: Summary = {
      kind,
      runs: runs.length,
      rate: mean(runs.map((c) => c.measure.rate)),
      ratio: ratios.length > 0 ? mean(ratios) : undefined,
      ratioMin: ratios.length > 0 ? Math.min(...ratios) : undefined,
      ratioMax: ratios.length > 0 ? Math.max(...ratios) : undefined,
      p50: mean(runs.map((c) => c.measure.p50)),
      p90: mean(runs.map((c) => c.measure.p90)),
      p99: mean(runs.map((c) => c.measure.p99)),
      max: Math.max(...runs.map((c) => c.measure.max)),
      failures: runs.reduce((sum, c) => sum + c.measure.failures, 0),
      target: TARGETS[kind],
    };
    if (summary.target) summary.verdict = verdict(summary.target, summary);
    summaries.push(summary);
  }
  return summaries;
}

/** The growth check: a figure holds when, after growth, it is at least 85 % of before (ratios for writes and batch, also rate for reads). */
export const GROWTH_TOLERANCE = 0.15;

export function growthChange(before: Summary, after: Summary): { change: number; holds: boolean } {
  const figure = (s: Summary) => s.ratio ?? s.rate;
  const change = figure(after) / figure(before) - 1;
  return { change, holds: figure(after) >= figure(before) * (1 - GROWTH_TOLERANCE) };
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) : '-');

/** One printed line of a run or a summary. */
export function formatLine(
  label: string,
  figure: { kind: MeasureKind; rate: number; p50: number; p90: number; p99: number; max: number; failures: number },
  ratio?: number,
  extra = '',
): string {
  return (
    `${label.padEnd(14)} ${figure.rate.toFixed(0).padStart(7)} ${UNITS[figure.kind].padEnd(9)} ` +
    `${ratio === undefined ? '       ' : `×${ratio.toFixed(3)}`.padStart(7)}  ` +
    `p50 ${ms(figure.p50).padStart(5)}  p90 ${ms(figure.p90).padStart(5)}  p99 ${ms(figure.p99).padStart(5)}  max ${ms(figure.max).padStart(5)} ms` +
    `  failures ${figure.failures}${extra ? `  ${extra}` : ''}`
  );
}
