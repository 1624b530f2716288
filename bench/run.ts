import { parseArgs } from 'node:util';
import { compare } from './compare';
import { startBenchDatabase } from './harness';
import { hotPartner } from './hot-partner';
import { memberReads } from './member-reads';
import { scaleOut } from './scale-out';
import { settlementClose } from './settlement-close';
import { statementStream } from './statement-stream';
import { webhooksSlow } from './webhooks-slow';

/**
 * npm run bench -- hot-partner [--requests 4000] [--connections 32] [--members 200]
 * npm run bench -- member-reads [--requests 4000] [--connections 32]
 * npm run bench -- statement [--entries 1000000] [--small 100000]
 * npm run bench -- close [--history 100000] [--small-period 1000] [--repeat 3]   (closes of small periods: JIT must not dominate)
 * npm run bench -- webhooks-slow [--requests 2000] [--connections 16] [--members 200]   (instruction latency with a 5 s webhook receiver vs none)
 * npm run bench -- scale-out [--requests 4000] [--connections 32] [--members 200] [--repeat 3]   (one hub process vs two on one database, interleaved)
 * npm run bench -- all   (hot-partner and member-reads; statement runs on its own: it loads a million entries)
 * npm run bench -- compare [--seconds 15] [--rounds 2] [--connections 32] [--members 10000] [--partners 10] [--scale 10]
 *     [--pgbench-threads 2] [--batch-size 500] [--batch-connections 4] [--keep]
 *     [--growth [--entries 10000000] [--members-bulk 1000000]] [--large-rows 10000]
 *   (pgbench TPC-B and the hub side by side, interleaved; `growth` is compare --growth; docs/benchmarks.md)
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '4000' },
      connections: { type: 'string', default: '32' },
      members: { type: 'string' },
      entries: { type: 'string' },
      small: { type: 'string', default: '100000' },
      history: { type: 'string', default: '100000' },
      'small-period': { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '15' },
      rounds: { type: 'string', default: '2' },
      partners: { type: 'string', default: '10' },
      scale: { type: 'string', default: '10' },
      'pgbench-threads': { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '500' },
      'batch-connections': { type: 'string', default: '4' },
      growth: { type: 'boolean', default: false },
      'members-bulk': { type: 'string', default: '1000000' },
      'large-rows': { type: 'string', default: '10000' },
      keep: { type: 'boolean', default: false },
    },
  });
  const name = positionals[0] ?? 'all';
  const options = { requests: Number(values.requests), connections: Number(values.connections), members: Number(values.members ?? '200') };
  if (!['hot-partner', 'member-reads', 'statement', 'close', 'webhooks-slow', 'compare', 'growth', 'scale-out', 'all'].includes(name))
    throw new Error(`unknown benchmark ${name}: hot-partner, member-reads, statement, close, webhooks-slow, compare, growth, scale-out or all`);
  const database = await startBenchDatabase();
  try {
    if (name === 'compare' || name === 'growth') {
      const failures = await compare(database, {
        seconds: Number(values.seconds),
        rounds: Number(values.rounds),
        connections: Number(values.connections),
        members: Number(values.members ?? '10000'),
        partners: Number(values.partners),
        scale: Number(values.scale),
        pgbenchThreads: Number(values['pgbench-threads']),
        batchSize: Number(values['batch-size']),
        batchConnections: Number(values['batch-connections']),
        growth: name === 'growth' || values.growth === true,
        entries: Number(values.entries ?? '10000000'),
        membersBulk: Number(values['members-bulk']),
        largeRows: Number(values['large-rows']),
        keep: values.keep === true,
      });
      if (failures > 0) process.exitCode = 1;
    }
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all') await memberReads(database, options);
    if (name === 'webhooks-slow') await webhooksSlow(database, options);
    if (name === 'scale-out') await scaleOut(database, { ...options, repeat: Number(values.repeat) });
    if (name === 'statement')
      await statementStream(database, { entries: Number(values.entries ?? '1000000'), small: Number(values.small) });
    if (name === 'close')
      await settlementClose(database, {
        history: Number(values.history),
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
