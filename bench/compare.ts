import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { signInstruction, type PartnerClient, type PartnerKey } from '@coalition-hub/partner-sdk';
import { systemClock } from '../src/common/clock';
import { createDataSource } from '../src/db/data-source';
import { dropDatabase, ensureDatabase } from '../src/db/embedded';
import { IntegrityService } from '../src/ledger/integrity.service';
import {
  compareToAdjacentPgbench,
  describeTarget,
  formatLine,
  growthChange,
  summarise,
  type Compared,
  type Measure,
  type MeasureKind,
  type Summary,
} from './compare-report';
import { explainCaptured, formatExplained } from './explain';
import { growthLoad } from './growth';
import { HUB_ID, inParallel, startBenchHub, type BenchDatabase, type BenchHub } from './harness';
import { checkpoint, initialisePgbench, runPgbench, vacuumAnalyze, waitForQuietHub } from './pgbench';
import { paced } from './paced';

/**
 * `npm run bench -- compare` (docs/benchmarks.md, "Side by side with pgbench"): pgbench TPC-B
 * and the hub on the same database server, interleaved —
 *   pgbench, issue, pgbench, redeem, pgbench, reads, pgbench, batch, pgbench, issue at half load, redeem at half load
 * (the runs at half load evenly paced, bench/paced.ts, after a CHECKPOINT)
 * per round — each hub figure as a ratio to the mean of the pgbench runs just before and after
 * it, with p50/p90/p99/max and the issue's target. With --growth the hub's database then gets a
 * bulk load (bench/growth.ts) and the rounds run again. Every statement the hub sent is then
 * EXPLAINed. Failures (HTTP errors, unexpected results, a ledger integrity difference) are
 * counted and make the command exit non-zero.
 */
export interface CompareOptions {
  seconds: number;
  rounds: number;
  connections: number;
  members: number;
  partners: number;
  /** pgbench -i -s */
  scale: number;
  pgbenchThreads: number;
  batchSize: number;
  batchConnections: number;
  growth: boolean;
  entries: number;
  membersBulk: number;
  /** Tables with at least this many rows count as large for the EXPLAIN check. */
  largeRows: number;
  /** Keep the hub's and pgbench's databases on a DATABASE_URL server (dropped by default). */
  keep: boolean;
  /** Seconds each half-load run is sent at its pace before it is measured (after the CHECKPOINT that precedes them). */
  halfWarmup: number;
}

const ISSUE = `mutation($i: String!) { issuePoints(instruction: $i) { __typename } }`;
const REDEEM = `mutation($i: String!) { redeemPoints(instruction: $i) { __typename } }`;
const BATCH = `mutation($i: [String!]!) { submitInstructions(instructions: $i) { ... on InstructionBatch { results { index result { __typename } } } } }`;
const READ = JSON.stringify({ query: '{ me { balance available combinedBalance { totalCp } tier { name } } }' });
const PGBENCH_DATABASE = 'compare_pgbench';
/** What each member gets before the runs, so that redeems always find points. */
const SEED_CP = '1000';

interface Partner {
  id: string;
  key: PartnerKey;
  client: PartnerClient;
}

/** The hub under test and its members: member i is `m<i>` at partner i mod partners. */
interface Fixture {
  hub: BenchHub;
  partners: Partner[];
  members: number;
  tokens: string[];
  batchAvailable: boolean;
  /** Next member to sign for, so that successive runs spread over all members. */
  cursor: number;
  /** Each kind's last measured rate, to size the next run's pre-signed instructions. */
  lastRate: Partial<Record<MeasureKind, number>>;
}

const progress = (line: string) => process.stderr.write(`compare: ${line}\n`);

function memberAt(fixture: Fixture, i: number): { partner: Partner; ref: string } {
  const index = i % fixture.members;
  return { partner: fixture.partners[index % fixture.partners.length]!, ref: `m${index}` };
}

/** Signs `count` instructions of `op` ahead of the clock, to members in turn across partners. */
async function signAhead(fixture: Fixture, op: 'issue' | 'redeem', count: number, amount: string): Promise<string[]> {
  const signed: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const { partner, ref } = memberAt(fixture, fixture.cursor++);
    const instruction = await signInstruction({
      partnerId: partner.id,
      hubId: HUB_ID,
      key: partner.key,
      op,
      lifetimeSeconds: 300,
      fields: { member: ref, amount },
    });
    signed.push(instruction.jws);
  }
  return signed;
}

interface Driven {
  /** Instructions (or reads) that came back as expected. */
  ok: number;
  failed: number;
  exhausted: boolean;
  result: autocannon.Result;
}

/**
 * One timed autocannon run. `next` gives each request's body and headers; when it has none left
 * (all pre-signed instructions sent) the run stops early, and the few requests already being
 * set up get a trivial query that is not counted (the note says so).
 */
async function drive(
  fixture: Fixture,
  options: { connections: number; seconds: number },
  next: () => { body: string; headers?: Record<string, string> } | undefined,
  check: (status: number, body: string) => { ok: number; failed: number },
): Promise<Driven> {
  let ok = 0;
  let failed = 0;
  let exhausted = false;
  const filler = JSON.stringify({ query: '{ __typename }' });
  const tracker = autocannon({
    url: `${fixture.hub.url}/graphql`,
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        setupRequest: (request, context) => {
          const request_ = next();
          context.counted = request_ !== undefined;
          if (!request_) {
            // Deferred: the first requests are set up while autocannon is still starting, before it has a stop().
            if (!exhausted) setImmediate(() => tracker.stop());
            exhausted = true;
            return { ...request, headers: { 'content-type': 'application/json' }, body: filler };
          }
          return { ...request, headers: { 'content-type': 'application/json', ...request_.headers }, body: request_.body };
        },
        onResponse: (status, body, context) => {
          if (!context.counted) return;
          const outcome = check(status, body);
          ok += outcome.ok;
          failed += outcome.failed;
        },
      },
    ],
  });
  const result = await tracker;
  return { ok, failed: failed + result.errors, exhausted, result };
}

function measureOf(kind: MeasureKind, driven: Driven): Measure {
  return {
    kind,
    rate: driven.ok / driven.result.duration,
    p50: driven.result.latency.p50,
    p90: driven.result.latency.p90,
    p99: driven.result.latency.p99,
    max: driven.result.latency.max,
    failures: driven.failed,
    note: driven.exhausted ? `stopped after ${driven.result.duration.toFixed(1)} s: every pre-signed instruction sent` : undefined,
  };
}

/** The first few failures of the run in progress (an unexpected answer, a request error), printed under its line. */
let failureSamples: string[] = [];
const sampleFailure = (sample: string) => {
  if (failureSamples.length < 3) failureSamples.push(sample.replace(/\s+/g, ' ').slice(0, 300));
};

const typenameIs = (expected: string) => (status: number, body: string) => {
  if (status === 200 && body.includes(`"__typename":"${expected}"`)) return { ok: 1, failed: 0 };
  sampleFailure(`HTTP ${status}: ${body}`);
  return { ok: 0, failed: 1 };
};

/** Enough pre-signed instructions for a run at twice the last rate (or `guess` per second the first time). */
function capacity(fixture: Fixture, kind: MeasureKind, seconds: number, guess: number): number {
  return Math.ceil(Math.max(fixture.lastRate[kind] ?? guess, 50) * 2 * seconds) + 100;
}

async function singleInstructions(
  fixture: Fixture,
  op: 'issue' | 'redeem',
  options: CompareOptions,
  overallRate?: number,
): Promise<Measure> {
  const kind: MeasureKind = overallRate === undefined ? op : `${op}@half`;
  const count =
    overallRate === undefined ? capacity(fixture, kind, options.seconds, 1000) : overallRate * (options.seconds + options.halfWarmup) + 100;
  const query = op === 'issue' ? ISSUE : REDEEM;
  const bodies = (await signAhead(fixture, op, count, op === 'issue' ? '10' : '1')).map((jws) =>
    JSON.stringify({ query, variables: { i: jws } }),
  );
  let n = 0;
  const nextBody = () => (n < bodies.length ? { body: bodies[n++]! } : undefined);
  const check = typenameIs(op === 'issue' ? 'IssueReceipt' : 'RedeemReceipt');
  if (overallRate !== undefined) {
    // At a given load, evenly paced (bench/paced.ts): autocannon's rate sends each second's share in a burst.
    const pace = (seconds: number) =>
      paced(
        `${fixture.hub.url}/graphql`,
        { rate: overallRate, seconds, connections: options.connections, onError: (error) => sampleFailure(String(error)) },
        nextBody,
        check,
      );
    // The warm-up: the same pace, not timed (its failures still count). Right after a checkpoint every page an
    // instruction first touches is written whole to the WAL; the warm-up's p99 is printed too.
    const warmup = options.halfWarmup > 0 ? await pace(options.halfWarmup) : undefined;
    const run = await pace(options.seconds);
    const { p50, p90, p99, max } = run;
    return {
      kind,
      rate: run.ok / run.duration,
      p50,
      p90,
      p99,
      max,
      failures: run.failed + (warmup?.failed ?? 0),
      note:
        `offered ${overallRate}/s, evenly paced; slowest 1 % due at ${run.tail}` +
        (warmup ? `; after ${options.halfWarmup} s at that pace (p99 ${warmup.p99.toFixed(0)} ms, slowest 1 % at ${warmup.tail})` : ''),
    };
  }
  const driven = await drive(fixture, { connections: options.connections, seconds: options.seconds }, nextBody, check);
  const measure = measureOf(kind, driven);
  fixture.lastRate[kind] = measure.rate;
  return measure;
}

async function memberReads(fixture: Fixture, options: CompareOptions): Promise<Measure> {
  let n = 0;
  const driven = await drive(
    fixture,
    { connections: options.connections, seconds: options.seconds },
    () => ({ body: READ, headers: { authorization: `Bearer ${fixture.tokens[n++ % fixture.tokens.length]}` } }),
    (status, body) =>
      status === 200 && body.includes('"totalCp"') && !body.includes('"errors"') ? { ok: 1, failed: 0 } : { ok: 0, failed: 1 },
  );
  return measureOf('reads', driven);
}

async function batches(fixture: Fixture, options: CompareOptions): Promise<Measure> {
  const count = capacity(fixture, 'batch', options.seconds, 2000);
  const signed = await signAhead(fixture, 'issue', count, '10');
  const bodies: string[] = [];
  for (let from = 0; from < signed.length; from += options.batchSize)
    bodies.push(JSON.stringify({ query: BATCH, variables: { i: signed.slice(from, from + options.batchSize) } }));
  let n = 0;
  const driven = await drive(
    fixture,
    { connections: options.batchConnections, seconds: options.seconds },
    () => (n < bodies.length ? { body: bodies[n++]! } : undefined),
    (status, body) => {
      const sent = options.batchSize;
      if (status !== 200) return { ok: 0, failed: sent };
      try {
        const results = (JSON.parse(body) as { data?: { submitInstructions?: { results?: Array<{ result?: { __typename?: string } }> } } })
          .data?.submitInstructions?.results;
        if (!results) return { ok: 0, failed: sent };
        const ok = results.filter((r) => r.result?.__typename === 'IssueReceipt').length;
        return { ok, failed: sent - ok };
      } catch {
        return { ok: 0, failed: sent };
      }
    },
  );
  const measure = measureOf('batch', driven);
  measure.note = [`${options.batchSize} per call, ${options.batchConnections} connections; latency per call`, measure.note]
    .filter(Boolean)
    .join('; ');
  fixture.lastRate.batch = measure.rate;
  return measure;
}

/** Whether this build has the batch mutation: a real request, refused by validation if the field is not in the schema. */
async function hasBatch(hub: BenchHub): Promise<boolean> {
  const answer = await hub.graphql(BATCH, { i: [] }, hub.operatorToken);
  const errors: Array<{ message?: string }> = answer.errors ?? [];
  return !errors.some((error) => /Cannot query field "submitInstructions"/.test(error.message ?? ''));
}

/**
 * The ledger integrity check (the service behind `ledgerIntegrity`), run here on the hub's database
 * rather than over HTTP: after a large growth load it takes longer than an HTTP client waits.
 */
async function integrity(hub: BenchHub): Promise<number> {
  const dataSource = createDataSource(hub.databaseUrl, 1);
  await dataSource.initialize();
  try {
    const report = await new IntegrityService(dataSource, systemClock).check();
    if (report.ok) return 0;
    console.log(`  LEDGER INTEGRITY FAILED: ${JSON.stringify(report.differences.slice(0, 10))}`);
    return 1;
  } finally {
    await dataSource.destroy();
  }
}

async function setUp(database: BenchDatabase, options: CompareOptions, captureFile: string): Promise<Fixture> {
  const hub = await startBenchHub(database, `compare_hub_${Date.now().toString(36)}`, {
    // The load comes from one address and ten partners: the limits would measure the policy, not the hub (the limiter's own statements still run).
    env: {
      RATE_LIMIT_IP_PER_SECOND: '1000000',
      RATE_LIMIT_PARTNER_PER_SECOND: '1000000',
      SQL_CAPTURE_FILE: captureFile,
    },
    nodeFlags: ['--require', resolve(__dirname, 'sql-capture.js')],
  });
  const partners: Partner[] = [];
  for (let p = 0; p < options.partners; p += 1) {
    const id = `SHOP${p}`;
    partners.push({ id, ...(await hub.registerPartner(id)) });
  }
  const fixture: Fixture = { hub, partners, members: options.members, tokens: [], batchAvailable: false, cursor: 0, lastRate: {} };
  const indexes = Array.from({ length: options.members }, (_, i) => i);
  let done = 0;
  await inParallel(indexes, 32, async (i) => {
    const { partner, ref } = memberAt(fixture, i);
    const enrolled = await partner.client.enrollMember({ member: ref });
    if (!enrolled.ok) throw new Error(`enroll ${ref}: ${JSON.stringify(enrolled)}`);
    const issued = await partner.client.issuePoints({ member: ref, amount: SEED_CP });
    if (!issued.ok) throw new Error(`seed issue ${ref}: ${JSON.stringify(issued)}`);
    if (++done % 1000 === 0) progress(`enrolled and seeded ${done}/${options.members} members`);
  });
  const readers = indexes.slice(0, Math.min(options.members, 1000));
  fixture.tokens = await Promise.all(
    readers.map((i) => {
      const { partner, ref } = memberAt(fixture, i);
      return partner.client.memberToken(ref, 3600);
    }),
  );
  fixture.batchAvailable = await hasBatch(hub);
  return fixture;
}

/** One round of interleaved runs; prints each as it ends. */
async function round(fixture: Fixture, pgbenchUrl: string, options: CompareOptions, label: string): Promise<Measure[]> {
  const sequence: Measure[] = [];
  const pg = async () => {
    const measure = await runPgbench(pgbenchUrl, {
      connections: options.connections,
      threads: options.pgbenchThreads,
      seconds: options.seconds,
    });
    sequence.push(measure);
    console.log(`  ${formatLine('pgbench', measure, undefined, measure.note)}`);
  };
  const hub = async (run: () => Promise<Measure>) => {
    failureSamples = [];
    const measure = await run();
    sequence.push(measure);
    console.log(`  ${formatLine(measure.kind, measure, undefined, measure.note)}`);
    for (const sample of failureSamples) console.log(`      failure: ${sample}`);
    // Calls still in flight when the client stopped (a batch takes seconds) finish before the next run.
    const waited = await waitForQuietHub(fixture.hub.databaseUrl);
    if (waited >= 1) progress(`${label}: waited ${waited.toFixed(1)} s for the hub's calls still running after ${measure.kind}`);
  };
  progress(`${label}: VACUUM ANALYZE of the hub's database`);
  await vacuumAnalyze(fixture.hub.databaseUrl);
  await pg();
  await hub(() => singleInstructions(fixture, 'issue', options));
  await pg();
  await hub(() => singleInstructions(fixture, 'redeem', options));
  await pg();
  await hub(() => memberReads(fixture, options));
  await pg();
  if (fixture.batchAvailable) {
    await hub(() => batches(fixture, options));
    await pg();
  }
  const half = (kind: MeasureKind) => Math.max(1, Math.round((sequence.find((m) => m.kind === kind)?.rate ?? 2) / 2));
  await checkpoint(fixture.hub.databaseUrl);
  await hub(() => singleInstructions(fixture, 'issue', options, half('issue')));
  await hub(() => singleInstructions(fixture, 'redeem', options, half('redeem')));
  return sequence;
}

function printSummary(title: string, summaries: Summary[], batchAvailable: boolean): void {
  console.log(`\n${title}`);
  for (const s of summaries) {
    // A half-load run is offered half the measured rate: its ratio says nothing, its p99 does.
    const ratio =
      s.ratio === undefined || s.kind.endsWith('@half')
        ? ''
        : s.runs > 1
          ? `ratio ×${s.ratio.toFixed(3)} (${s.ratioMin!.toFixed(3)}–${s.ratioMax!.toFixed(3)})`
          : `ratio ×${s.ratio.toFixed(3)}`;
    const target = s.target ? `target ${describeTarget(s.target)}: ${s.verdict}` : '';
    console.log(`  ${formatLine(s.kind, s, undefined, [ratio, target].filter(Boolean).join('  '))}`);
  }
  if (!batchAvailable) console.log('  batch: not available in this build');
}

export async function compare(database: BenchDatabase, options: CompareOptions): Promise<number> {
  const captureDir = mkdtempSync(join(tmpdir(), 'compare-sql-'));
  const captureFile = join(captureDir, 'statements.json');
  const server = new Client({ connectionString: database.serverUrl });
  await server.connect();
  const version = (await server.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await server.end();
  console.log(
    `compare: PostgreSQL ${version}; ${options.rounds} round(s) of ${options.seconds} s runs at c=${options.connections}; ` +
      `${options.partners} partners, ${options.members} members; pgbench TPC-B scale ${options.scale}, -j ${options.pgbenchThreads}`,
  );
  progress(`pgbench -i -s ${options.scale} into ${PGBENCH_DATABASE}`);
  const pgbenchUrl = await ensureDatabase(database.serverUrl, PGBENCH_DATABASE);
  await initialisePgbench(pgbenchUrl, options.scale);
  progress(`starting the hub, enrolling ${options.members} members and issuing ${SEED_CP} CP to each`);
  const fixture = await setUp(database, options, captureFile);
  let failures = 0;
  let explained = false;
  try {
    const measureRounds = async (stage: string) => {
      const compared: Compared[] = [];
      const pgbench: Measure[] = [];
      for (let r = 1; r <= options.rounds; r += 1) {
        console.log(`\n${stage}, round ${r}/${options.rounds}`);
        const sequence = await round(fixture, pgbenchUrl, options, `${stage} round ${r}`);
        failures += sequence.reduce((sum, m) => sum + m.failures, 0);
        failures += await integrity(fixture.hub);
        compared.push(...compareToAdjacentPgbench(sequence));
        pgbench.push(...sequence.filter((m) => m.kind === 'pgbench'));
      }
      return summarise(compared, pgbench);
    };
    const before = await measureRounds(options.growth ? 'before growth' : 'side by side');
    printSummary(
      `summary${options.growth ? ' before growth' : ''} (means over rounds; ratio = hub rate / mean tps of the pgbench runs before and after)`,
      before,
      fixture.batchAvailable,
    );
    if (options.growth) {
      await growthLoad(fixture.hub.databaseUrl, {
        entries: options.entries,
        members: options.membersBulk,
        partners: fixture.partners.map((p) => p.id),
        progress,
      });
      progress('ledger integrity check after the load');
      failures += await integrity(fixture.hub);
      progress('VACUUM ANALYZE after the load');
      await vacuumAnalyze(fixture.hub.databaseUrl);
      const after = await measureRounds(`after growth (+${options.entries} entries, +${options.membersBulk} members)`);
      printSummary('summary after growth', after, fixture.batchAvailable);
      console.log(
        `\ngrowth: change of each figure (ratio to pgbench; rate for pgbench itself), must hold within 15 % (half-load runs: see their p99)`,
      );
      for (const a of after) {
        const b = before.find((s) => s.kind === a.kind);
        if (!b) continue;
        const { change, holds } = growthChange(b, a);
        console.log(
          `  ${a.kind.padEnd(12)} ${(b.ratio ?? b.rate).toFixed(3).padStart(9)} → ${(a.ratio ?? a.rate).toFixed(3).padStart(9)}  ` +
            `${(change * 100).toFixed(1).padStart(6)} %  p99 ${b.p99.toFixed(0)} → ${a.p99.toFixed(0)} ms  ` +
            `${a.kind === 'pgbench' || a.kind.endsWith('@half') ? '' : holds ? 'HOLDS' : 'DROPS'}`,
        );
      }
    }
    // Two hubs on one database (bench/scale-out.ts) run here once that benchmark is wired in: it takes `database` and prints its own ratio.
    await fixture.hub.stop();
    console.log(`\nEXPLAIN of every statement the hub sent (calls, plan, statement); large = at least ${options.largeRows} rows`);
    const statements = await explainCaptured(fixture.hub.databaseUrl, captureFile, options.largeRows);
    for (const statement of statements) console.log(formatExplained(statement));
    const hot = statements.filter((s) => s.hot);
    const largeScans = hot.filter((s) => s.largeSeqScans.length > 0);
    console.log(
      `  ${statements.length} statements, ${hot.length} hot (sent at least 1 % as often as the most frequent): ` +
        `${hot.filter((s) => s.indexAccess).length} with index access, ${largeScans.length} with a sequential scan of a large table, ` +
        `${hot.filter((s) => s.error).length} not explained`,
    );
    for (const statement of largeScans)
      console.log(`  FLAG: hot statement scans ${statement.largeSeqScans.join(', ')}: ${formatExplained(statement).trim()}`);
    explained = true;
  } finally {
    await fixture.hub.stop();
    rmSync(captureDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL && !options.keep) {
      await dropDatabase(database.serverUrl, PGBENCH_DATABASE);
      await dropDatabase(database.serverUrl, new URL(fixture.hub.databaseUrl).pathname.slice(1));
    }
  }
  console.log(`\ncompare: ${failures} failure(s)${explained ? '' : ', EXPLAIN not reached'}`);
  return failures;
}
