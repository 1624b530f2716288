import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchDatabase } from './harness';
import { hotPartner } from './hot-partner';
import { memberReads } from './member-reads';
import { settlementClose } from './settlement-close';
import { statementStream } from './statement-stream';
import { webhooksSlow } from './webhooks-slow';

/**
 * npm run bench -- hot-partner [--requests 4000] [--connections 32] [--members 200]
 * npm run bench -- member-reads [--requests 4000] [--connections 32] [--members 50] [--history 5] [--rounds 1] [--baseline DIR]
 *   (DIR: another build's checkout with dist/ built; its hub and this one are measured round by round)
 * npm run bench -- statement [--entries 1000000] [--small 100000]
 * npm run bench -- close [--history 100000] [--small-period 1000] [--repeat 3]   (closes of small periods: JIT must not dominate)
 * npm run bench -- webhooks-slow [--requests 2000] [--connections 16] [--members 200]   (instruction latency with a 5 s webhook receiver vs none)
 * npm run bench -- all   (hot-partner and member-reads; statement runs on its own: it loads a million entries)
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '4000' },
      connections: { type: 'string', default: '32' },
      members: { type: 'string' },
      entries: { type: 'string', default: '1000000' },
      small: { type: 'string', default: '100000' },
      history: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      baseline: { type: 'string' },
      'small-period': { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const name = positionals[0] ?? 'all';
  const options = { requests: Number(values.requests), connections: Number(values.connections), members: Number(values.members ?? '200') };
  if (!['hot-partner', 'member-reads', 'statement', 'close', 'webhooks-slow', 'all'].includes(name))
    throw new Error(`unknown benchmark ${name}: hot-partner, member-reads, statement, close, webhooks-slow or all`);
  const database = await startBenchDatabase();
  try {
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all')
      await memberReads(database, {
        ...options,
        members: values.members === undefined || name === 'all' ? 50 : options.members,
        history: Number(values.history ?? '5'),
        rounds: Number(values.rounds),
        baselineEntry: values.baseline ? resolve(values.baseline, 'dist/src/main.js') : undefined,
      });
    if (name === 'webhooks-slow') await webhooksSlow(database, options);
    if (name === 'statement') await statementStream(database, { entries: Number(values.entries), small: Number(values.small) });
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
