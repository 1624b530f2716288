import { graphqlLoad, inParallel, startBenchHub, type BenchDatabase, type BenchHub } from './harness';

/** What a member's app shows on every refresh: the two balances, the value of everything held, the tier. */
export const MEMBER_READ_QUERY = '{ me { balance available combinedBalance { totalCp } tier { name } } }';

export interface MemberReadsOptions {
  requests: number;
  connections: number;
  /** Members reading (one token each). */
  members: number;
  /** Issues per member before the reads: a long history must not slow a read down. */
  history: number;
  /** Rounds per hub; with a baseline the rounds alternate between the two builds. */
  rounds: number;
  /** A build to compare against (its compiled dist/src/main.js), measured in turn with this one. */
  baselineEntry?: string;
}

interface Round {
  readsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
}

/**
 * Members refreshing their app in a loop: `me { balance available combinedBalance { totalCp } tier { name } }`
 * under load, each token verified on every request. With a baseline build the same load runs against both,
 * round by round, each hub on its own database with the same history.
 */
export async function memberReads(database: BenchDatabase, options: MemberReadsOptions): Promise<void> {
  const builds: Array<{ label: string; entry?: string }> = [{ label: 'this build' }];
  if (options.baselineEntry) builds.unshift({ label: 'baseline', entry: options.baselineEntry });
  const prepared: Array<{ label: string; hub: BenchHub; tokens: string[] }> = [];
  try {
    for (const build of builds) {
      const name = `reads_member_reads_${Date.now().toString(36)}`;
      // The load comes from one address: its limit would measure the policy, not the hub (the limiter itself still runs).
      const env = { RATE_LIMIT_IP_PER_SECOND: '1000000' };
      const hub = await startBenchHub(database, name, build.entry ? { entry: build.entry, env } : { env });
      const started = Date.now();
      const tokens = await loadMembers(hub, options);
      console.log(
        `member-reads: ${build.label}: ${options.members} members × ${options.history} issues loaded in ${((Date.now() - started) / 1000).toFixed(0)} s (database ${name})`,
      );
      prepared.push({ label: build.label, hub, tokens });
    }
    console.log(`member-reads: ${options.requests} reads of ${MEMBER_READ_QUERY}, ${options.connections} connections`);
    const rounds = new Map<string, Round[]>(prepared.map(({ label }) => [label, []]));
    for (let round = 0; round < options.rounds; round += 1) {
      for (const { label, hub, tokens } of prepared) {
        const result = await readLoad(hub, tokens, options);
        rounds.get(label)!.push(result);
        console.log(
          `  ${label.padEnd(10)} round ${round + 1}: ${result.readsPerSecond.toFixed(0)} reads/s  p50 ${result.p50} ms  p90 ${result.p90} ms  ` +
            `p99 ${result.p99} ms  max ${result.max} ms  failures ${result.failures}`,
        );
      }
    }
    if (prepared.length === 2) {
      const median = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        const middle = Math.floor(sorted.length / 2);
        return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
      };
      const [base, current] = prepared.map(({ label }) => rounds.get(label)!);
      const throughput = median(current!.map((r) => r.readsPerSecond)) / median(base!.map((r) => r.readsPerSecond));
      const p99 = median(current!.map((r) => r.p99)) / median(base!.map((r) => r.p99));
      console.log(`  median over rounds: throughput ×${throughput.toFixed(2)}, p99 ×${p99.toFixed(2)} against the baseline`);
    }
  } finally {
    for (const { hub } of prepared) await hub.stop();
  }
}

/** Enrolls the members at one partner and issues `history` times to each; returns a member token per member. */
async function loadMembers(hub: BenchHub, options: MemberReadsOptions): Promise<string[]> {
  const { client } = await hub.registerPartner('SHOP');
  const members = Array.from({ length: options.members }, (_, i) => `m${i}`);
  await inParallel(members, 8, (member) => client.enrollMember({ member }));
  // Issues in turn across the members, 8 at a time (a member's own issues queue on its wallet).
  const issues = Array.from({ length: options.members * options.history }, (_, n) => ({ member: members[n % members.length]!, n }));
  await inParallel(issues, 8, async ({ member, n }) => {
    const outcome = await client.issuePoints({ member, amount: String(100 + (n % 7)) });
    if (!outcome.ok) throw new Error(`issue to ${member}: ${JSON.stringify(outcome)}`);
  });
  return Promise.all(members.map((member) => client.memberToken(member, 3600)));
}

async function readLoad(hub: BenchHub, tokens: string[], options: MemberReadsOptions): Promise<Round> {
  const body = JSON.stringify({ query: MEMBER_READ_QUERY });
  let next = 0;
  const { throughput, ...rest } = await graphqlLoad(
    hub.url,
    options,
    () => ({ body, headers: { authorization: `Bearer ${tokens[next++ % tokens.length]}` } }),
    (text) => text.includes('"totalCp"') && !text.includes('"errors"'),
  );
  return { readsPerSecond: throughput, ...rest };
}
