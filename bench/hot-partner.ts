import { enrollAndSignIssues, graphqlLoad, startBenchHub, type BenchDatabase, type LoadResult } from './harness';

/**
 * Hot accounts (docs/ledger.md, "Balances and sharded counters"): every issue at a partner touches that partner's issuance account.
 * One busy partner issues to many members as fast as the hub takes it, once with the
 * counter-account on a single balance row and once sharded; throughput and latency are compared.
 */
const ISSUE = `mutation($i: String!) { issuePoints(instruction: $i) { __typename ... on ErrorResult { errorCode } } }`;

export interface HotPartnerOptions {
  requests: number;
  connections: number;
  members: number;
}

interface RunResult extends LoadResult {
  shards: number;
}

async function runOnce(database: BenchDatabase, shards: number, options: HotPartnerOptions): Promise<RunResult> {
  const hub = await startBenchHub(database, `bench_hot_partner_${shards}_${Date.now().toString(36)}`, {
    env: { LEDGER_COUNTER_SHARDS: String(shards) },
  });
  try {
    const bodies = await enrollAndSignIssues(await hub.registerPartner('BUSY'), 'BUSY', options, ISSUE);
    let next = 0;
    const result = await graphqlLoad(
      hub.url,
      options,
      () => ({ body: bodies[next++ % bodies.length]! }),
      (body) => body.includes('"IssueReceipt"'),
    );
    // The ledger must be exact after the storm: every accepted issue counted once.
    const integrity = await hub.graphql('{ ledgerIntegrity { ok differences { check } } }', {}, hub.operatorToken);
    if (!integrity.data?.ledgerIntegrity?.ok) throw new Error(`integrity failed: ${JSON.stringify(integrity)}`);
    return { shards, ...result };
  } finally {
    await hub.stop();
  }
}

export async function hotPartner(database: BenchDatabase, options: HotPartnerOptions): Promise<void> {
  console.log(`hot-partner: ${options.requests} issues by one partner to ${options.members} members, ${options.connections} connections`);
  const results: RunResult[] = [];
  for (const shards of [1, 8]) {
    const result = await runOnce(database, shards, options);
    results.push(result);
    console.log(
      `  shards=${String(shards).padStart(2)}  ${result.throughput.toFixed(0).padStart(6)} issues/s  ` +
        `latency p50 ${result.p50} ms  p90 ${result.p90} ms  p99 ${result.p99} ms  max ${result.max} ms  failures ${result.failures}`,
    );
  }
  const [single, sharded] = results as [RunResult, RunResult];
  console.log(
    `  ratio sharded/single: throughput ×${(sharded.throughput / single.throughput).toFixed(2)}, p99 latency ×${(sharded.p99 / single.p99).toFixed(2)}`,
  );
}
