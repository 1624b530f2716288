import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compare } from './compare';
import { startBenchDatabase } from './harness';
import { hotPartner } from './hot-partner';
import { memberReads } from './member-reads';
import { scaleOut } from './scale-out';
import { settlementClose } from './settlement-close';
import { statementStream } from './statement-stream';
import { webhooksSlow } from './webhooks-slow';
import { batchBench } from './batch';
import { engineBench } from './engine';
import { kpiBench } from './kpis';

/** What `npm run bench -- --help` prints; docs/benchmarks.md says what each benchmark measures. */
const USAGE = `Usage:
npm run bench -- hot-partner [--requests 4000] [--connections 32] [--members 200]
npm run bench -- member-reads [--requests 4000] [--connections 32] [--members 50] [--history 5] [--rounds 1] [--baseline DIR]
  (DIR: another build's checkout with dist/ built; its hub and this one are measured round by round)
npm run bench -- statement [--entries 1000000] [--small 100000]
npm run bench -- close [--history 100000] [--small-period 1000] [--repeat 3]   (closes of small periods: JIT must not dominate)
npm run bench -- webhooks-slow [--requests 2000] [--connections 16] [--members 200]   (instruction latency with a 5 s webhook receiver vs none)
npm run bench -- scale-out [--requests 4000] [--connections 32] [--members 200] [--repeat 3]   (one hub process vs two on one database, interleaved)
npm run bench -- batch [--requests 20000] [--connections 4] [--members 500] [--sizes 100,500] [--pgbench] [--pgbench-clients 32] [--pgbench-seconds 20]   (instructions/s through submitInstructions)
npm run bench -- engine [--requests 1000] [--connections 8] [--members 500] [--rounds 3]   (the loyalty engine: issuePoints, an activity with 1 rule, one with 20 rules and 10 campaigns; CPU per instruction)
npm run bench -- kpis [--members 20000] [--entries 200000] [--partners 10] [--queries 30] [--fresh 2000] [--reuse]   (KPI queries from bases and rollups: p50/p95 per kind, and the refresh times)
npm run bench -- all   (hot-partner and member-reads; statement runs on its own: it loads a million entries)
npm run bench -- compare [--seconds 15] [--rounds 2] [--connections 32] [--members 10000] [--partners 10] [--scale 10]
    [--pgbench-threads 2] [--batch-size 500] [--batch-connections 4] [--half-warmup 5] [--keep]
    [--growth [--entries 10000000] [--members-bulk 1000000]] [--large-rows 10000]
  (pgbench TPC-B and the hub side by side, interleaved; \`growth\` is compare --growth; docs/benchmarks.md)
`;

/** A usage mistake: said in one line with the usage, exit code 2, no stack trace. */
function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        // No parse-time defaults where benchmarks differ: each has its own (see `or` below).
        requests: { type: 'string' },
        connections: { type: 'string' },
        members: { type: 'string' },
        entries: { type: 'string' },
        small: { type: 'string', default: '100000' },
        history: { type: 'string' },
        // rounds: member-reads defaults to 1, compare to 2 (see `or` below)
        baseline: { type: 'string' },
        'small-period': { type: 'string', default: '1000' },
        repeat: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '15' },
        rounds: { type: 'string' },
        partners: { type: 'string', default: '10' },
        scale: { type: 'string', default: '10' },
        'pgbench-threads': { type: 'string', default: '2' },
        'batch-size': { type: 'string', default: '500' },
        'batch-connections': { type: 'string', default: '4' },
        growth: { type: 'boolean', default: false },
        'members-bulk': { type: 'string', default: '1000000' },
        'large-rows': { type: 'string', default: '10000' },
        keep: { type: 'boolean', default: false },
        'half-warmup': { type: 'string', default: '5' },
        sizes: { type: 'string', default: '100,500' },
        pgbench: { type: 'boolean', default: false },
        'pgbench-clients': { type: 'string', default: '32' },
        'pgbench-seconds': { type: 'string', default: '20' },
        queries: { type: 'string', default: '30' },
        fresh: { type: 'string' },
        reuse: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    usageError(error instanceof Error ? error.message.split('. ')[0]! : String(error));
  }
  const { positionals, values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const name = positionals[0] ?? 'all';
  const or = (given: string | undefined, fallback: number): number => (given === undefined ? fallback : Number(given));
  const options = { requests: or(values.requests, 4000), connections: or(values.connections, 32), members: or(values.members, 200) };
  const names = [
    'hot-partner',
    'member-reads',
    'statement',
    'close',
    'webhooks-slow',
    'batch',
    'engine',
    'kpis',
    'compare',
    'growth',
    'scale-out',
    'all',
  ];
  if (!names.includes(name)) usageError(`unknown benchmark ${name}: one of ${names.join(', ')}`);
  const database = await startBenchDatabase();
  try {
    if (name === 'compare' || name === 'growth') {
      const failures = await compare(database, {
        seconds: Number(values.seconds),
        rounds: or(values.rounds, 2),
        connections: or(values.connections, 32),
        members: or(values.members, 10000),
        partners: Number(values.partners),
        scale: Number(values.scale),
        pgbenchThreads: Number(values['pgbench-threads']),
        batchSize: Number(values['batch-size']),
        batchConnections: Number(values['batch-connections']),
        growth: name === 'growth' || values.growth === true,
        entries: or(values.entries, 10000000),
        membersBulk: Number(values['members-bulk']),
        largeRows: Number(values['large-rows']),
        keep: values.keep === true,
        halfWarmup: Number(values['half-warmup']),
      });
      if (failures > 0) process.exitCode = 1;
    }
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all')
      await memberReads(database, {
        ...options,
        members: values.members === undefined || name === 'all' ? 50 : options.members,
        history: Number(values.history ?? '5'),
        rounds: or(values.rounds, 1),
        baselineEntry: values.baseline ? resolve(values.baseline, 'dist/src/main.js') : undefined,
      });
    if (name === 'webhooks-slow') await webhooksSlow(database, options);
    if (name === 'scale-out') await scaleOut(database, { ...options, repeat: Number(values.repeat) });
    if (name === 'batch')
      await batchBench(database, {
        requests: or(values.requests, 20000),
        connections: or(values.connections, 4),
        members: or(values.members, 500),
        sizes: values.sizes.split(',').map(Number),
        pgbench: values.pgbench,
        pgbenchClients: Number(values['pgbench-clients']),
        pgbenchSeconds: Number(values['pgbench-seconds']),
      });
    if (name === 'engine') {
      const failures = await engineBench(database, {
        requests: or(values.requests, 1000),
        connections: or(values.connections, 8),
        members: or(values.members, 500),
        rounds: or(values.rounds, 3),
      });
      if (failures > 0) process.exitCode = 1;
    }
    if (name === 'kpis')
      await kpiBench(database, {
        members: or(values.members, 20000),
        entries: or(values.entries, 200000),
        partners: Number(values.partners),
        queries: Number(values.queries),
        fresh: or(values.fresh, 2000),
        reuse: values.reuse === true,
      });
    if (name === 'statement') await statementStream(database, { entries: or(values.entries, 1000000), small: Number(values.small) });
    if (name === 'close')
      await settlementClose(database, {
        history: Number(values.history ?? '100000'),
        entries: Number(values['small-period']),
        repeat: Number(values.repeat),
      });
  } finally {
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
