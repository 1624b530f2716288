import {
  compareToAdjacentPgbench,
  growthChange,
  parsePgbenchLog,
  parsePgbenchOutput,
  percentiles,
  summarise,
  TARGETS,
  verdict,
  type Measure,
  type MeasureKind,
} from '../../bench/compare-report';
import { scansOf } from '../../bench/explain';

// What pgbench 15 prints for `pgbench -c 32 -j 2 -T 20 -P 5 -l` (stdout) and its progress lines (stderr).
const STDOUT = `pgbench (15.20 (Debian 15.20-0+deb12u1), server 18.4)
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 32
number of threads: 2
maximum number of tries: 1
duration: 20 s
number of transactions actually processed: 79012
number of failed transactions: 0 (0.000%)
latency average = 8.081 ms
latency stddev = 5.124 ms
initial connection time = 40.123 ms
tps = 3950.612345 (without initial connection time)
`;
const STDERR = `starting vacuum...end.
progress: 5.0 s, 3801.4 tps, lat 8.3 ms stddev 5.0, 0 failed
progress: 10.0 s, 4102.0 tps, lat 7.8 ms stddev 4.9, 0 failed
`;

const measure = (kind: MeasureKind, rate: number, p99 = 10): Measure => ({ kind, rate, p50: 1, p90: 5, p99, max: p99 * 2, failures: 0 });

describe('pgbench output', () => {
  it('reads tps, latency, counts and the progress range', () => {
    expect(parsePgbenchOutput(STDOUT, STDERR)).toEqual({
      tps: 3950.612345,
      latencyAverageMs: 8.081,
      latencyStddevMs: 5.124,
      processed: 79012,
      failed: 0,
      progressTps: { min: 3801.4, max: 4102 },
    });
  });

  it('refuses output without a summary', () => {
    expect(() => parsePgbenchOutput('pgbench: error: connection to server failed\n')).toThrow(/no summary/);
  });

  it('reads per-transaction latencies (µs) from the log and counts failed ones', () => {
    const log = ['0 0 8123 0 1764150000 123456', '1 0 12000 0 1764150000 123999', '0 1 failed 0 1764150001 5', ''].join('\n');
    expect(parsePgbenchLog(log)).toEqual({ latenciesMs: [8.123, 12], failed: 1 });
  });
});

describe('percentiles', () => {
  it('takes nearest ranks of unsorted values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(values)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(values[0]).toBe(100);
  });

  it('gives NaN for no values', () => {
    expect(percentiles([]).p99).toBeNaN();
  });
});

describe('ratios to the adjacent pgbench runs', () => {
  it('divides by the mean of the pgbench runs before and after, or the one there is', () => {
    const compared = compareToAdjacentPgbench([
      measure('pgbench', 4000),
      measure('issue', 300),
      measure('pgbench', 2000),
      measure('redeem', 600),
      measure('issue@half', 150),
    ]);
    expect(compared.map((c) => [c.measure.kind, c.baselineTps, c.ratio])).toEqual([
      ['issue', 3000, 0.1],
      ['redeem', 2000, 0.3],
      ['issue@half', 2000, 0.075],
    ]);
  });

  it('has no ratio without any pgbench run', () => {
    expect(compareToAdjacentPgbench([measure('reads', 100)])[0]!.ratio).toBeUndefined();
  });
});

describe('targets', () => {
  it('passes a ratio at its target and not below it', () => {
    expect(verdict(TARGETS.issue!, { rate: 800, p99: 500, ratio: 0.2 })).toBe('PASS');
    expect(verdict(TARGETS.issue!, { rate: 800, p99: 500, ratio: 0.19 })).toBe('BELOW');
    expect(verdict(TARGETS.issue!, { rate: 800, p99: 500 })).toBe('BELOW');
  });

  it('needs both the rate and the p99 for reads', () => {
    expect(verdict(TARGETS.reads!, { rate: 2500, p99: 40 })).toBe('PASS');
    expect(verdict(TARGETS.reads!, { rate: 2500, p99: 50 })).toBe('BELOW');
    expect(verdict(TARGETS.reads!, { rate: 1999, p99: 10 })).toBe('BELOW');
  });

  it('summarises rounds by their means, with the verdict on the means', () => {
    const compared = compareToAdjacentPgbench([
      measure('pgbench', 1000),
      measure('redeem', 100, 20),
      measure('pgbench', 1000),
      measure('redeem', 200, 40),
      measure('pgbench', 1000),
    ]);
    const [pgbench, redeem] = summarise(compared, [measure('pgbench', 1000), measure('pgbench', 1000), measure('pgbench', 1000)]);
    expect(pgbench).toMatchObject({ kind: 'pgbench', runs: 3, rate: 1000 });
    expect(redeem).toMatchObject({ kind: 'redeem', runs: 2, rate: 150, ratioMin: 0.1, ratioMax: 0.2, p99: 30, max: 80 });
    expect(redeem!.ratio).toBeCloseTo(0.15, 10);
    expect(redeem!.verdict).toBe('PASS');
  });
});

describe('growth', () => {
  const summary = (ratio: number) => ({ kind: 'issue' as const, runs: 1, rate: 1, ratio, p50: 1, p90: 1, p99: 1, max: 1, failures: 0 });

  it('holds down to 15 % below the figure before growth', () => {
    expect(growthChange(summary(0.2), summary(0.17)).holds).toBe(true);
    expect(growthChange(summary(0.2), summary(0.169)).holds).toBe(false);
    expect(growthChange(summary(0.2), summary(0.3))).toEqual({ change: expect.closeTo(0.5, 10), holds: true });
  });
});

describe('EXPLAIN plans', () => {
  it('finds index access and sequential scans anywhere in the plan tree', () => {
    const plan = {
      'Node Type': 'Nested Loop',
      Plans: [
        { 'Node Type': 'Index Scan', 'Relation Name': 'member_link' },
        { 'Node Type': 'Hash', Plans: [{ 'Node Type': 'Seq Scan', 'Relation Name': 'partner' }] },
      ],
    };
    expect(scansOf(plan)).toEqual({ indexAccess: true, seqScans: ['partner'] });
    expect(scansOf({ 'Node Type': 'Result' })).toEqual({ indexAccess: false, seqScans: [] });
  });
});
