import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PartnerClient, signInstruction } from '@coalition-hub/partner-sdk';
import { dropDatabase, ensureDatabase } from '../src/db/embedded';
import { HUB_ID, startBenchHub, type BenchDatabase, type BenchHub } from './harness';
import { vacuumAnalyze } from './pgbench';

/**
 * Batches (docs/batches.md): instructions per second through submitInstructions, as a partner's
 * nightly import or a till back online sends them. `connections` clients each send batches of
 * issues of their own partner (10 CP to members in turn), signed ahead of the clock, one request
 * at a time per connection; each batch size runs on its own fresh hub database. Percentiles are
 * of whole batches. With --pgbench, PostgreSQL's TPC-B runs on the same server before and after
 * (interleaved with the batch runs) and the ratio instructions/s ÷ TPS is printed.
 */
const BATCH = `mutation($instructions: [String!]!) {
  submitInstructions(instructions: $instructions) {
    __typename
    ... on InstructionBatch { results { index result { __typename } } }
  }
}`;

const run = promisify(execFile);

export interface BatchBenchOptions {
  /** Instructions per batch size and run. */
  requests: number;
  connections: number;
  /** Members per partner. */
  members: number;
  sizes: number[];
  pgbench: boolean;
  pgbenchClients: number;
  pgbenchSeconds: number;
}

interface BatchRun {
  size: number;
  instructions: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  refused: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function enrollInBatches(hub: BenchHub, partnerId: string, members: number) {
  const registered = await hub.registerPartner(partnerId);
  // Large batches on a loaded 2-core machine take longer than the SDK's default 10 s timeout.
  const partner = {
    key: registered.key,
    client: new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId, key: registered.key, timeoutMs: 600_000 }),
  };
  const refs = Array.from({ length: members }, (_, i) => `m${i}`);
  for (let from = 0; from < refs.length; from += 500) {
    const outcomes = await partner.client.submitMany(
      refs.slice(from, from + 500).map((member) => ({ op: 'enroll' as const, fields: { member } })),
    );
    if (outcomes.some((outcome) => !outcome.ok)) throw new Error(`enrolment at ${partnerId} failed`);
    // Some history before the statistics are taken (as compare seeds): plans made over empty ledger tables would scan them.
    const seeded = await partner.client.submitMany(
      refs.slice(from, from + 500).map((member) => ({ op: 'issue' as const, fields: { member, amount: '1' } })),
    );
    if (seeded.some((outcome) => !outcome.ok)) throw new Error(`seed issues at ${partnerId} failed`);
  }
  return partner;
}

async function runSize(database: BenchDatabase, size: number, options: BatchBenchOptions): Promise<BatchRun> {
  const name = `batch_bench_${size}_${Date.now().toString(36)}`;
  const hub = await startBenchHub(database, name, {
    env: { RATE_LIMIT_PARTNER_PER_SECOND: '0', RATE_LIMIT_IP_PER_SECOND: '0' },
  });
  try {
    const perConnection = Math.ceil(options.requests / options.connections / size);
    // One partner per connection: a partner's batches book on one counter row and so run one after another.
    const bodies: string[][] = [];
    for (let c = 0; c < options.connections; c += 1) {
      const partnerId = `IMPORT${c}`;
      const partner = await enrollInBatches(hub, partnerId, options.members);
      const mine: string[] = [];
      for (let b = 0; b < perConnection; b += 1) {
        const jwsList = await Promise.all(
          Array.from({ length: size }, (_, i) =>
            signInstruction({
              partnerId,
              hubId: HUB_ID,
              key: partner.key,
              op: 'issue',
              lifetimeSeconds: 300,
              fields: { member: `m${(b * size + i) % options.members}`, amount: '10' },
            }).then((signed) => signed.jws),
          ),
        );
        mine.push(JSON.stringify({ query: BATCH, variables: { instructions: jwsList } }));
      }
      bodies.push(mine);
    }
    // As in compare: statistics for the members and their first entries, so that plans are made for tables of this size.
    await vacuumAnalyze(hub.databaseUrl);
    const latencies: number[] = [];
    let accepted = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(
      bodies.map(async (mine) => {
        for (const body of mine) {
          const sent = performance.now();
          const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const answer = (await response.json()) as {
            data?: { submitInstructions?: { results?: Array<{ result: { __typename: string } | null }> } };
          };
          latencies.push(performance.now() - sent);
          const results = answer.data?.submitInstructions?.results ?? [];
          if (results.length !== size) throw new Error(`batch failed: ${JSON.stringify(answer).slice(0, 300)}`);
          for (const item of results) {
            if (item.result?.__typename === 'IssueReceipt') accepted += 1;
            else refused += 1;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    // The ledger must be exact after the run: every accepted issue counted once.
    const integrity = await hub.graphql('{ ledgerIntegrity { ok differences { check } } }', {}, hub.operatorToken);
    if (!integrity.data?.ledgerIntegrity?.ok) throw new Error(`integrity failed: ${JSON.stringify(integrity)}`);
    latencies.sort((a, b) => a - b);
    return {
      size,
      instructions: accepted + refused,
      perSecond: accepted / seconds,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
      refused,
    };
  } finally {
    await hub.stop();
    await dropDatabase(database.serverUrl, name);
  }
}

/** TPC-B (pgbench's default script) at scale 10 on its own database of the same server; returns TPS. */
async function pgbenchTps(serverUrl: string, options: BatchBenchOptions): Promise<number> {
  const name = 'batch_bench_pgbench';
  const url = await ensureDatabase(serverUrl, name);
  let stdout: string;
  try {
    await run('pgbench', ['-i', '-q', '-s', '10', url], { maxBuffer: 16 * 1024 * 1024 });
    ({ stdout } = await run('pgbench', ['-c', String(options.pgbenchClients), '-j', '2', '-T', String(options.pgbenchSeconds), '-n', url], {
      maxBuffer: 16 * 1024 * 1024,
    }));
  } finally {
    await dropDatabase(serverUrl, name);
  }
  const tps = /tps = ([0-9.]+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps: ${stdout}`);
  return Number(tps[1]);
}

export async function batchBench(database: BenchDatabase, options: BatchBenchOptions): Promise<void> {
  const runs: BatchRun[] = [];
  const tps: number[] = [];
  // On a shared server pgbench may find no free connection: that run is reported and skipped.
  const measurePgbench = async () => {
    if (!options.pgbench) return;
    try {
      const value = await pgbenchTps(database.serverUrl, options);
      tps.push(value);
      console.log(`pgbench TPC-B scale 10, c=${options.pgbenchClients}: ${value.toFixed(0)} tps`);
    } catch (error) {
      console.log(`pgbench failed: ${String(error).split('\n')[0]}`);
    }
  };
  await measurePgbench();
  for (const size of options.sizes) {
    const result = await runSize(database, size, options);
    runs.push(result);
    console.log(
      `batch ${size}: ${result.perSecond.toFixed(0)} instructions/s, batch p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms`,
    );
    await measurePgbench();
  }
  const meanTps = tps.length ? tps.reduce((a, b) => a + b, 0) / tps.length : undefined;
  console.log(
    `\nsubmitInstructions: ${options.connections} connections (one partner each), ${options.members} members per partner, issues of 10 CP`,
  );
  console.log('| batch | instructions | instructions/s | batch p50 | p90 | p99 | max | refused |' + (meanTps ? ' × pgbench TPC-B |' : ''));
  console.log('|---|---|---|---|---|---|---|---|' + (meanTps ? '---|' : ''));
  for (const r of runs) {
    const ratio = meanTps ? ` ${(r.perSecond / meanTps).toFixed(2)} |` : '';
    console.log(
      `| ${r.size} | ${r.instructions} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(0)} ms | ${r.p90.toFixed(0)} ms | ${r.p99.toFixed(0)} ms | ${r.max.toFixed(0)} ms | ${r.refused} |${ratio}`,
    );
  }
  if (meanTps) console.log(`pgbench TPC-B mean of ${tps.length}: ${meanTps.toFixed(0)} tps`);
}
