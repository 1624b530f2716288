import { Client } from 'pg';
import { ensureDatabase } from '../src/db/embedded';
import { signInstruction, type PartnerKey } from '@coalition-hub/partner-sdk';
import {
  HUB_ID,
  graphqlLoad,
  inParallel,
  newOperatorKey,
  startBenchHub,
  type BenchDatabase,
  type BenchHub,
  type LoadResult,
} from './harness';

/**
 * Scale-out (docs/scaling.md): the same load against one hub process and against two hub
 * processes on the same database, the client spreading its connections over both (autocannon
 * takes the two URLs and gives connection i the URL i mod 2, as a round-robin load balancer
 * would). Runs alternate (one, two, one, two, …) so that a noisy machine weighs on both alike;
 * both processes run throughout, the second only idles during the one-process runs.
 *
 * Two loads, each measured on its own: signed issues by one partner to many members, and members
 * reading `me { balance available combinedBalance { totalCp } tier { name } }`. Rate limits are
 * off (they would cap the load, not measure the processes).
 */
const ISSUE = `mutation($i: String!) { issuePoints(instruction: $i) { __typename ... on ErrorResult { errorCode } } }`;
const ME = JSON.stringify({ query: '{ me { balance available combinedBalance { totalCp } tier { name } } }' });

export interface ScaleOutOptions {
  requests: number;
  connections: number;
  members: number;
  /** Rounds per load; each round runs one process, two, and two with half the pool each, back to back. */
  repeat: number;
}

type RunResult = LoadResult;

const PARTNER = 'BUSY';

/** `count` issues of 10 CP to the members in turn, signed now (before the clock starts), as GraphQL bodies. */
async function signIssues(key: PartnerKey, members: string[], count: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const signed = await signInstruction({
      partnerId: PARTNER,
      hubId: HUB_ID,
      key,
      op: 'issue',
      lifetimeSeconds: 300,
      fields: { member: members[i % members.length]!, amount: '10' },
    });
    bodies.push(JSON.stringify({ query: ISSUE, variables: { i: signed.jws } }));
  }
  return bodies;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function line(label: string, result: RunResult, unit: string): string {
  return (
    `  ${label.padEnd(29)} ${result.throughput.toFixed(0).padStart(6)} ${unit}  latency p50 ${result.p50} ms  p90 ${result.p90} ms  ` +
    `p99 ${result.p99} ms  max ${result.max} ms  failures ${result.failures}`
  );
}

function summary(name: string, one: RunResult[], two: RunResult[], unit: string): void {
  // Each pair ran back to back, so its ratio is what the machine's drift affects least: the median of those is the figure.
  const pairs = one.map((run, index) => two[index]!.throughput / run.throughput);
  const p99s = one.map((run, index) => two[index]!.p99 / run.p99);
  console.log(
    `  ${name}: median one ${median(one.map((run) => run.throughput)).toFixed(0)} ${unit} (p99 ${median(one.map((run) => run.p99))} ms), ` +
      `two ${median(two.map((run) => run.throughput)).toFixed(0)} ${unit} (p99 ${median(two.map((run) => run.p99))} ms); ` +
      `ratio two/one ×${median(pairs).toFixed(2)} (median of pairs: ${pairs.map((ratio) => ratio.toFixed(2)).join(', ')}), ` +
      `p99 ×${median(p99s).toFixed(2)}`,
  );
}

export async function scaleOut(database: BenchDatabase, options: ScaleOutOptions): Promise<void> {
  console.log(
    `scale-out: one hub process vs two on one database; ${options.requests} requests per run, ${options.connections} connections, ` +
      `${options.members} members, ${options.repeat} rounds per load`,
  );
  const name = `bench_scale_out_${Date.now().toString(36)}`;
  const env = { RATE_LIMIT_PARTNER_PER_SECOND: '0', RATE_LIMIT_IP_PER_SECOND: '0' };
  const halfPool = { ...env, DATABASE_POOL_SIZE: '10' };
  const operatorKey = await newOperatorKey();
  const hubs: BenchHub[] = [];
  try {
    // The first migrates the database; the others start on it as more processes of one deployment would.
    // Two pairs: with the default pool each (twice the database connections of one process), and with half of it each (the same).
    for (const hubEnv of [env, env, halfPool, halfPool]) hubs.push(await startBenchHub(database, name, { env: hubEnv, operatorKey }));
    const [first, second, halfA, halfB] = hubs as [BenchHub, BenchHub, BenchHub, BenchHub];
    const partner = await first.registerPartner(PARTNER);
    const members = Array.from({ length: options.members }, (_, i) => `m${i}`);
    await inParallel(members, 8, async (member) => {
      const enrolled = await partner.client.enrollMember({ member });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
      const issued = await partner.client.issuePoints({ member, amount: '100' });
      if (!issued.ok) throw new Error(JSON.stringify(issued));
    });
    const tokens = await Promise.all(members.map((member) => partner.client.memberToken(member, 3600)));
    // Statistics for the planner before the clock starts (a server may run without autovacuum).
    const owner = new Client({ connectionString: await ensureDatabase(database.serverUrl, name) });
    await owner.connect();
    await owner.query('VACUUM ANALYZE').finally(() => owner.end());
    const setups: Array<{ label: string; urls: string[] }> = [
      { label: 'one process (pool 20)', urls: [first.url] },
      { label: 'two processes (pool 20 each)', urls: [first.url, second.url] },
      { label: 'two processes (pool 10 each)', urls: [halfA.url, halfB.url] },
    ];

    console.log(`issues (one partner, ${options.members} members):`);
    const issues: RunResult[][] = setups.map(() => []);
    for (let round = 0; round < options.repeat; round += 1) {
      for (const [index, setup] of setups.entries()) {
        const bodies = await signIssues(partner.key, members, options.requests);
        let next = 0;
        const result = await graphqlLoad(
          setup.urls,
          options,
          () => ({ body: bodies[next++ % bodies.length]! }),
          (body) => body.includes('"IssueReceipt"'),
        );
        issues[index]!.push(result);
        console.log(line(setup.label, result, 'issues/s'));
      }
    }

    console.log(`member reads (me { balance available combinedBalance tier }, ${options.members} members):`);
    const reads: RunResult[][] = setups.map(() => []);
    for (let round = 0; round < options.repeat; round += 1) {
      for (const [index, setup] of setups.entries()) {
        let next = 0;
        const result = await graphqlLoad(
          setup.urls,
          options,
          () => ({ body: ME, headers: { authorization: `Bearer ${tokens[next++ % tokens.length]}` } }),
          (body) => body.includes('"balance"'),
        );
        reads[index]!.push(result);
        console.log(line(setup.label, result, 'reads/s '));
      }
    }

    // Every accepted issue counted once, whichever process took it.
    const integrity = await first.graphql('{ ledgerIntegrity { ok differences { check } } }', {}, first.operatorToken);
    if (!integrity.data?.ledgerIntegrity?.ok) throw new Error(`integrity failed: ${JSON.stringify(integrity)}`);
    for (const index of [1, 2]) {
      summary(`issues, ${setups[index]!.label}`, issues[0]!, issues[index]!, 'issues/s');
      summary(`member reads, ${setups[index]!.label}`, reads[0]!, reads[index]!, 'reads/s');
    }
  } finally {
    for (const hub of hubs) await hub.stop();
  }
}
