import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
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
 * 2. Through the hub: the same partner, members and basket, `submitActivity` (purchase of 5 lines
 *    across 5 categories) against `issuePoints` of a fixed amount, in alternating runs of
 *    `requests` each at `connections` clients. The machine's CPU time (all processes: hub,
 *    PostgreSQL, this client) per instruction is read from /proc/stat around each run; the
 *    difference is what the engine adds per instruction, with the rate ratio beside it.
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

interface Run {
  kind: 'activity' | 'issue';
  perSecond: number;
  cpuMsPerInstruction: number;
  p50: number;
  p99: number;
}

export async function engineBench(database: BenchDatabase, options: EngineBenchOptions): Promise<number> {
  const micros = evaluateAlone();
  console.log(`evaluate alone (20 rules, 10 campaigns, 5-line basket): ${micros.toFixed(1)} µs per call (median of 5 loops of 2,000)`);
  const name = `engine_bench_${Date.now().toString(36)}`;
  const hub = await startBenchHub(database, name, { env: { RATE_LIMIT_PARTNER_PER_SECOND: '0', RATE_LIMIT_IP_PER_SECOND: '0' } });
  let failures = 0;
  try {
    const partner = await hub.registerPartner('SHOP');
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
    for (let from = 0; from < options.members; from += 500) {
      const refs = Array.from({ length: Math.min(500, options.members - from) }, (_, i) => `m${from + i}`);
      const enrolled = await partner.client.submitMany(refs.map((member) => ({ op: 'enroll' as const, fields: { member } })));
      const seeded = await partner.client.submitMany(refs.map((member) => ({ op: 'issue' as const, fields: { member, amount: '1' } })));
      if ([...enrolled, ...seeded].some((outcome) => !outcome.ok)) throw new Error('enrolment failed');
    }
    await vacuumAnalyze(hub.databaseUrl);
    const lines = basket();
    const total = String(lines.reduce((sum, line) => sum + Number(line.amount), 0));
    let cursor = 0;
    const runOne = async (kind: 'activity' | 'issue'): Promise<Run> => {
      const bodies: string[] = [];
      for (let i = 0; i < options.requests; i += 1) {
        const member = `m${cursor++ % options.members}`;
        const signed = await signInstruction({
          partnerId: 'SHOP',
          hubId: HUB_ID,
          key: partner.key,
          op: kind,
          lifetimeSeconds: 300,
          fields: kind === 'activity' ? { activity: 'purchase', member, total, currency: 'EUR', lines } : { member, amount: '40' },
        });
        const query =
          kind === 'activity'
            ? 'mutation($i: String!) { r: submitActivity(instruction: $i) { __typename } }'
            : 'mutation($i: String!) { r: issuePoints(instruction: $i) { __typename } }';
        bodies.push(JSON.stringify({ query, variables: { i: signed.jws } }));
      }
      const expected = kind === 'activity' ? 'ActivityReceipt' : 'IssueReceipt';
      const latencies: number[] = [];
      let next = 0;
      const cpuBefore = busyCpuMs();
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
      const cpu = busyCpuMs() - cpuBefore;
      latencies.sort((a, b) => a - b);
      return {
        kind,
        perSecond: options.requests / seconds,
        cpuMsPerInstruction: cpu / options.requests,
        p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
        p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      };
    };
    const runs: Run[] = [];
    await runOne('issue'); // warm-up: plans, JIT, caches
    await runOne('activity');
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const kind of round % 2 ? (['issue', 'activity'] as const) : (['activity', 'issue'] as const)) {
        const run = await runOne(kind);
        runs.push(run);
        console.log(
          `  round ${round} ${kind.padEnd(8)} ${run.perSecond.toFixed(0).padStart(5)}/s  CPU ${run.cpuMsPerInstruction.toFixed(2)} ms per instruction  ` +
            `p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms`,
        );
      }
    }
    const mean = (kind: Run['kind'], pick: (run: Run) => number) => {
      const of = runs.filter((run) => run.kind === kind);
      return of.reduce((sum, run) => sum + pick(run), 0) / of.length;
    };
    const added = mean('activity', (run) => run.cpuMsPerInstruction) - mean('issue', (run) => run.cpuMsPerInstruction);
    console.log(
      `\nengine: ${options.requests} instructions per run, ${options.connections} connections, ${options.members} members, ${options.rounds} rounds\n` +
        `  issuePoints   ${mean('issue', (run) => run.perSecond).toFixed(0)}/s, CPU ${mean('issue', (run) => run.cpuMsPerInstruction).toFixed(2)} ms per instruction\n` +
        `  submitActivity ${mean('activity', (run) => run.perSecond).toFixed(0)}/s, CPU ${mean('activity', (run) => run.cpuMsPerInstruction).toFixed(2)} ms per instruction\n` +
        `  rate ratio activity/issue ×${(mean('activity', (run) => run.perSecond) / mean('issue', (run) => run.perSecond)).toFixed(2)}; ` +
        `CPU added per activity ${added.toFixed(2)} ms (whole machine: hub, PostgreSQL and this client); evaluate alone ${(micros / 1000).toFixed(3)} ms ` +
        `→ target < 1 ms: ${micros / 1000 < 1 ? 'PASS' : 'FAIL'} (evaluation), ${added < 1 ? 'PASS' : 'ABOVE'} (whole instruction)`,
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
