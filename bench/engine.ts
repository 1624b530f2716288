import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { signInstruction } from '@coalition-hub/partner-sdk';
import { dropDatabase } from '../src/db/embedded';
import { evaluate, type CampaignState, type EarnRuleVersion, type EngineActivity, type MemberFacts } from '../src/engine/evaluate';
import { HUB_ID, startBenchHub, type BenchDatabase } from './harness';
import { vacuumAnalyze } from './pgbench';

/**
 * The loyalty engine's cost (docs/loyalty-engine.md, docs/benchmarks.md "Loyalty engine"): what
 * evaluating an activity against 20 earn rules and 10 active campaigns adds to an instruction.
 *
 * 1. `evaluate` alone, in this process: microseconds per call (the pure function, no I/O).
 * 2. Through the hub, in runs of `requests` each at `connections` clients, every round in another
 *    order: `issuePoints` of a fixed amount; `submitActivity` of the same 5-line basket at a partner
 *    with one earn rule and no campaign (an activity without the engine's work); and at a partner
 *    with the 20 rules and 10 campaigns. CPU per instruction is the CPU time of the benchmark's own
 *    processes (the hub, the PostgreSQL backends of its database, this client, read from /proc), so
 *    other work on the machine does not count; the machine's busy time is printed beside it. What
 *    the engine adds is the difference between the two activities; the ratios against issuePoints
 *    are printed too.
 */
export interface EngineBenchOptions {
  requests: number;
  connections: number;
  members: number;
  rounds: number;
}

const CATEGORIES = ['coffee', 'food', 'books', 'fuel', 'garden'];

function rulesAndCampaigns(partnerId: string, start: Date): { rules: EarnRuleVersion[]; campaigns: CampaignState[] } {
  const rules: EarnRuleVersion[] = Array.from({ length: 20 }, (_, i) => ({
    ruleId: `r${i}`,
    version: 1,
    name: `Rule ${i}`,
    kind: 'spend',
    pointsPerUnit: (1 + i / 7).toFixed(3),
    unitMinor: 100n,
    category: i === 0 ? null : CATEGORIES[i % CATEGORIES.length]!,
    sku: null,
    action: null,
    points: null,
    minBasketMinor: 0n,
    capPerDay: i % 4 === 0 ? 100_000n : null,
    capPerMonth: null,
  }));
  const campaigns: CampaignState[] = Array.from({ length: 10 }, (_, i) => ({
    campaignId: `c${i}`,
    version: 1,
    name: `Campaign ${i}`,
    kind: i % 2 ? 'bonus' : 'multiplier',
    multiplier: i % 2 ? null : '1.1',
    bonusPoints: i % 2 ? 5n : null,
    trigger: 'purchase',
    startsAt: new Date(start.getTime() - 86_400_000),
    endsAt: new Date(start.getTime() + 86_400_000),
    funders: [{ partnerId, share: '1', issuePrice: '1' }],
    target: { kind: 'all' },
    stacking: 'stackable',
    priority: i,
    perMemberLimit: null,
    memberAwards: 0,
    // Two campaigns have a budget (each activity then locks their rows, after its wallet), the rest none.
    pointsCap: i < 2 ? 1_000_000_000n : null,
    pointsUsed: 0n,
    moneyCapMinor: null,
    moneyUsedMinor: 0n,
    strict: false,
    heldOut: false,
  }));
  return { rules, campaigns };
}

const basket = () => CATEGORIES.map((category, i) => ({ category, sku: `SKU-${i}`, quantity: 1 + (i % 3), amount: String(250 + i * 130) }));

/** Microseconds per evaluate call, median of 5 timed loops. */
function evaluateAlone(): number {
  const at = new Date();
  const { rules, campaigns } = rulesAndCampaigns('SHOP', at);
  const lines = basket().map((line) => ({
    category: line.category,
    sku: line.sku,
    quantity: BigInt(line.quantity),
    amountMinor: BigInt(line.amount),
  }));
  const activity: EngineActivity = {
    kind: 'purchase',
    partnerId: 'SHOP',
    at,
    totalMinor: lines.reduce((sum, line) => sum + line.amountMinor, 0n),
    currency: 'EUR',
    lines,
  };
  const facts: MemberFacts = { tier: 'Base', tierMultiplier: '1', boughtAtPartnerBefore: true, ruleUsage: {} };
  for (let i = 0; i < 2000; i += 1) evaluate(activity, rules, campaigns, facts);
  const loops: number[] = [];
  for (let loop = 0; loop < 5; loop += 1) {
    const started = performance.now();
    for (let i = 0; i < 2000; i += 1) evaluate(activity, rules, campaigns, facts);
    loops.push(((performance.now() - started) * 1000) / 2000);
  }
  return loops.sort((a, b) => a - b)[2]!;
}

/** The machine's busy CPU time so far, in milliseconds (all cores, all processes). */
function busyCpuMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return ((total - idle) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** One process's CPU time so far (user + system), in milliseconds; 0 once it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime: fields 14 and 15
  } catch {
    return 0;
  }
}

/**
 * The CPU the benchmark's own processes used: the hub, the PostgreSQL backends serving the hub's
 * database, and this client. Unlike the machine's busy time, other work on the machine does not
 * count (PostgreSQL's shared background writers are left out).
 */
type Kind = 'issue' | 'plain' | 'activity';
const KINDS: Kind[] = ['issue', 'plain', 'activity'];
const LABEL: Record<Kind, string> = { issue: 'issuePoints', plain: 'activity, 1 rule', activity: 'activity, 20 rules, 10 camp.' };

interface Run {
  kind: Kind;
  perSecond: number;
  /** The benchmark's own processes (OwnCpu). */
  cpuMsPerInstruction: number;
  /** The whole machine's busy time, for reference. */
  machineCpuMsPerInstruction: number;
  p50: number;
  p99: number;
}

class OwnCpu {
  private backends: number[] = [];
  constructor(
    private readonly hubPid: number,
    private readonly database: Client,
    private readonly name: string,
  ) {}

  async start(): Promise<() => Promise<number>> {
    const { rows } = await this.database.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      this.name,
    ]);
    this.backends = rows.map((row: { pid: number }) => row.pid);
    const before = new Map(this.backends.map((pid) => [pid, processCpuMs(pid)]));
    const hubBefore = processCpuMs(this.hubPid);
    const clientBefore = process.cpuUsage();
    return async () => {
      const after = await this.database.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
        this.name,
      ]);
      let backends = 0;
      for (const { pid } of after.rows as Array<{ pid: number }>) backends += processCpuMs(pid) - (before.get(pid) ?? 0);
      const client = process.cpuUsage(clientBefore);
      return backends + processCpuMs(this.hubPid) - hubBefore + (client.user + client.system) / 1000;
    };
  }
}

export async function engineBench(database: BenchDatabase, options: EngineBenchOptions): Promise<number> {
  const micros = evaluateAlone();
  console.log(`evaluate alone (20 rules, 10 campaigns, 5-line basket): ${micros.toFixed(1)} µs per call (median of 5 loops of 2,000)`);
  const name = `engine_bench_${Date.now().toString(36)}`;
  const hub = await startBenchHub(database, name, { env: { RATE_LIMIT_PARTNER_PER_SECOND: '0', RATE_LIMIT_IP_PER_SECOND: '0' } });
  let failures = 0;
  try {
    const partner = await hub.registerPartner('SHOP');
    // The same activity at a partner with one earn rule and no campaign: what an activity costs without the engine's work.
    const plain = await hub.registerPartner('PLAIN');
    const must = async (what: string, query: string, variables: Record<string, unknown>) => {
      const answer = await hub.graphql(query, variables, hub.operatorToken);
      const result = answer.data?.result;
      if (!result || result.__typename === undefined || 'errorCode' in result) throw new Error(`${what}: ${JSON.stringify(answer)}`);
    };
    await must('categories', `mutation($c: [String!]!) { result: setEarnCategories(partnerId: "SHOP", categories: $c) { __typename } }`, {
      c: CATEGORIES,
    });
    const { rules, campaigns } = rulesAndCampaigns('SHOP', new Date());
    for (const rule of rules)
      await must('rule', `mutation($input: EarnRuleInput!) { result: setEarnRule(partnerId: "SHOP", input: $input) { __typename } }`, {
        input: {
          ruleId: rule.ruleId,
          name: rule.name,
          kind: 'spend',
          pointsPerUnit: rule.pointsPerUnit,
          unitMinor: '100',
          category: rule.category,
          capPerDay: rule.capPerDay?.toString() ?? null,
        },
      });
    const local = (date: Date) => date.toISOString().slice(0, 16);
    for (const campaign of campaigns)
      await must('campaign', `mutation($input: CampaignInput!) { result: createCampaign(input: $input) { __typename } }`, {
        input: {
          name: campaign.name,
          kind: campaign.kind,
          multiplier: campaign.multiplier,
          bonusPoints: campaign.bonusPoints?.toString() ?? null,
          startsLocal: local(campaign.startsAt),
          endsLocal: local(new Date(campaign.endsAt.getTime() + 6 * 86_400_000)),
          timeZone: 'UTC',
          funders: [{ partnerId: 'SHOP', share: '1' }],
          priority: campaign.priority,
          pointsCap: campaign.pointsCap?.toString() ?? null,
        },
      });
    await must(
      'plain categories',
      `mutation($c: [String!]!) { result: setEarnCategories(partnerId: "PLAIN", categories: $c) { __typename } }`,
      {
        c: CATEGORIES,
      },
    );
    await must('plain rule', `mutation($input: EarnRuleInput!) { result: setEarnRule(partnerId: "PLAIN", input: $input) { __typename } }`, {
      input: { ruleId: 'base', name: 'Base', kind: 'spend', pointsPerUnit: '1', unitMinor: '100' },
    });
    for (const { client } of [partner, plain])
      for (let from = 0; from < options.members; from += 500) {
        const refs = Array.from({ length: Math.min(500, options.members - from) }, (_, i) => `m${from + i}`);
        const enrolled = await client.submitMany(refs.map((member) => ({ op: 'enroll' as const, fields: { member } })));
        const seeded = await client.submitMany(refs.map((member) => ({ op: 'issue' as const, fields: { member, amount: '1' } })));
        if ([...enrolled, ...seeded].some((outcome) => !outcome.ok)) throw new Error('enrolment failed');
      }
    await vacuumAnalyze(hub.databaseUrl);
    const lines = basket();
    const total = String(lines.reduce((sum, line) => sum + Number(line.amount), 0));
    const owner = new Client({ connectionString: hub.databaseUrl });
    await owner.connect();
    const ownCpu = new OwnCpu(hub.pid, owner, name);
    let cursor = 0;
    const runOne = async (kind: Kind): Promise<Run> => {
      const bodies: string[] = [];
      const signer = kind === 'plain' ? plain : partner;
      for (let i = 0; i < options.requests; i += 1) {
        const member = `m${cursor++ % options.members}`;
        const signed = await signInstruction({
          partnerId: kind === 'plain' ? 'PLAIN' : 'SHOP',
          hubId: HUB_ID,
          key: signer.key,
          op: kind === 'issue' ? 'issue' : 'activity',
          lifetimeSeconds: 300,
          fields: kind === 'issue' ? { member, amount: '40' } : { activity: 'purchase', member, total, currency: 'EUR', lines },
        });
        const query =
          kind === 'issue'
            ? 'mutation($i: String!) { r: issuePoints(instruction: $i) { __typename } }'
            : 'mutation($i: String!) { r: submitActivity(instruction: $i) { __typename } }';
        bodies.push(JSON.stringify({ query, variables: { i: signed.jws } }));
      }
      const expected = kind === 'issue' ? 'IssueReceipt' : 'ActivityReceipt';
      const latencies: number[] = [];
      let next = 0;
      const machineBefore = busyCpuMs();
      const own = await ownCpu.start();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: options.connections }, async () => {
          for (;;) {
            const body = bodies[next++];
            if (body === undefined) return;
            const sent = performance.now();
            const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
            const text = await response.text();
            latencies.push(performance.now() - sent);
            if (!text.includes(`"__typename":"${expected}"`)) failures += 1;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const ownMs = await own();
      const machine = busyCpuMs() - machineBefore;
      latencies.sort((a, b) => a - b);
      return {
        kind,
        perSecond: options.requests / seconds,
        cpuMsPerInstruction: ownMs / options.requests,
        machineCpuMsPerInstruction: machine / options.requests,
        p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
        p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      };
    };
    const runs: Run[] = [];
    for (const kind of KINDS) await runOne(kind); // warm-up: plans, JIT, caches
    // The warm-up filled the engine's tables (activity, usage, campaign members): statistics as autovacuum would keep them,
    // or the planner keeps the plans it chose for the empty tables and scans them (this machine runs with autovacuum off).
    await vacuumAnalyze(hub.databaseUrl);
    for (let round = 1; round <= options.rounds; round += 1) {
      // Each round in another order, so that no kind always runs first or last.
      const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
      for (const kind of order) {
        const run = await runOne(kind);
        runs.push(run);
        console.log(
          `  round ${round} ${LABEL[kind].padEnd(26)} ${run.perSecond.toFixed(0).padStart(5)}/s  CPU ${run.cpuMsPerInstruction.toFixed(2)} ms per instruction ` +
            `(machine ${run.machineCpuMsPerInstruction.toFixed(2)})  p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms`,
        );
      }
    }
    await owner.end();
    const mean = (kind: Kind, pick: (run: Run) => number) => {
      const of = runs.filter((run) => run.kind === kind);
      return of.reduce((sum, run) => sum + pick(run), 0) / of.length;
    };
    const cpu = (kind: Kind) => mean(kind, (run) => run.cpuMsPerInstruction);
    const rate = (kind: Kind) => mean(kind, (run) => run.perSecond);
    const engineAdds = cpu('activity') - cpu('plain');
    console.log(
      `\nengine: ${options.requests} instructions per run, ${options.connections} connections, ${options.members} members, ${options.rounds} rounds` +
        `\n  CPU per instruction: the hub, its PostgreSQL backends and this client (other work on the machine left out)\n` +
        KINDS.map(
          (kind) => `  ${LABEL[kind].padEnd(26)} ${rate(kind).toFixed(0).padStart(5)}/s, CPU ${cpu(kind).toFixed(2)} ms per instruction\n`,
        ).join('') +
        `  ratios against issuePoints: plain activity ×${(rate('plain') / rate('issue')).toFixed(2)} rate, ×${(cpu('plain') / cpu('issue')).toFixed(2)} CPU; ` +
        `engine activity ×${(rate('activity') / rate('issue')).toFixed(2)} rate, ×${(cpu('activity') / cpu('issue')).toFixed(2)} CPU\n` +
        `  evaluating 20 rules and 10 campaigns adds ${engineAdds.toFixed(2)} ms of CPU per activity (engine activity − plain activity); ` +
        `evaluate alone ${(micros / 1000).toFixed(3)} ms\n` +
        `  → target < 1 ms: ${micros / 1000 < 1 ? 'PASS' : 'FAIL'} (evaluate), ${engineAdds < 1 ? 'PASS' : 'ABOVE'} (engine activity over a plain one); ` +
        `an activity over an issue adds ${(cpu('activity') - cpu('issue')).toFixed(2)} ms (recording the activity, its usage, stamp cards and referrals too)`,
    );
    const integrity = await hub.graphql('{ ledgerIntegrity { ok } }', {}, hub.operatorToken);
    if (!integrity.data?.ledgerIntegrity?.ok) failures += 1;
  } finally {
    await hub.stop();
    await dropDatabase(database.serverUrl, name);
  }
  console.log(`engine: ${failures} failure(s)`);
  return failures;
}
