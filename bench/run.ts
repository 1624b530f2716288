import { parseArgs } from 'node:util';
import { startBenchDatabase } from './harness';
import { hotPartner } from './hot-partner';
import { memberReads } from './member-reads';
import { settlementClose } from './settlement-close';
import { statementStream } from './statement-stream';
import { webhooksSlow } from './webhooks-slow';
import { batchBench } from './batch';

/**
 * npm run bench -- hot-partner [--requests 4000] [--connections 32] [--members 200]
 * npm run bench -- member-reads [--requests 4000] [--connections 32]
 * npm run bench -- statement [--entries 1000000] [--small 100000]
 * npm run bench -- close [--history 100000] [--small-period 1000] [--repeat 3]   (closes of small periods: JIT must not dominate)
 * npm run bench -- webhooks-slow [--requests 2000] [--connections 16] [--members 200]   (instruction latency with a 5 s webhook receiver vs none)
 * npm run bench -- batch [--requests 20000] [--connections 4] [--members 500] [--sizes 100,500] [--pgbench] [--pgbench-clients 32] [--pgbench-seconds 20]   (instructions/s through submitInstructions)
 * npm run bench -- all   (hot-partner and member-reads; statement runs on its own: it loads a million entries)
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      // No parse-time defaults: each benchmark has its own (see `or` below).
      requests: { type: 'string' },
      connections: { type: 'string' },
      members: { type: 'string' },
      entries: { type: 'string', default: '1000000' },
      small: { type: 'string', default: '100000' },
      history: { type: 'string', default: '100000' },
      'small-period': { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '3' },
      sizes: { type: 'string', default: '100,500' },
      pgbench: { type: 'boolean', default: false },
      'pgbench-clients': { type: 'string', default: '32' },
      'pgbench-seconds': { type: 'string', default: '20' },
    },
  });
  const name = positionals[0] ?? 'all';
  const or = (given: string | undefined, fallback: number): number => (given === undefined ? fallback : Number(given));
  const options = { requests: or(values.requests, 4000), connections: or(values.connections, 32), members: or(values.members, 200) };
  if (!['hot-partner', 'member-reads', 'statement', 'close', 'webhooks-slow', 'batch', 'all'].includes(name))
    throw new Error(`unknown benchmark ${name}: hot-partner, member-reads, statement, close, webhooks-slow, batch or all`);
  const database = await startBenchDatabase();
  try {
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all') await memberReads(database, options);
    if (name === 'webhooks-slow') await webhooksSlow(database, options);
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
    if (name === 'statement') await statementStream(database, { entries: Number(values.entries), small: Number(values.small) });
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
