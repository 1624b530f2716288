import { parseArgs } from 'node:util';
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
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '4000' },
      connections: { type: 'string', default: '32' },
      members: { type: 'string', default: '200' },
      entries: { type: 'string', default: '1000000' },
      small: { type: 'string', default: '100000' },
      history: { type: 'string', default: '100000' },
      'small-period': { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const name = positionals[0] ?? 'all';
  const options = { requests: Number(values.requests), connections: Number(values.connections), members: Number(values.members) };
  if (!['hot-partner', 'member-reads', 'statement', 'close', 'webhooks-slow', 'scale-out', 'all'].includes(name))
    throw new Error(`unknown benchmark ${name}: hot-partner, member-reads, statement, close, webhooks-slow, scale-out or all`);
  const database = await startBenchDatabase();
  try {
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all') await memberReads(database, options);
    if (name === 'webhooks-slow') await webhooksSlow(database, options);
    if (name === 'scale-out') await scaleOut(database, { ...options, repeat: Number(values.repeat) });
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
