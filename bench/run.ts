import { parseArgs } from 'node:util';
import { startBenchDatabase } from './harness';
import { hotPartner } from './hot-partner';
import { memberReads } from './member-reads';

/**
 * npm run bench -- hot-partner [--requests 4000] [--connections 32] [--members 200]
 * npm run bench -- member-reads [--requests 4000] [--connections 32]
 * npm run bench -- all
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '4000' },
      connections: { type: 'string', default: '32' },
      members: { type: 'string', default: '200' },
    },
  });
  const name = positionals[0] ?? 'all';
  const options = { requests: Number(values.requests), connections: Number(values.connections), members: Number(values.members) };
  if (!['hot-partner', 'member-reads', 'all'].includes(name)) throw new Error(`unknown benchmark ${name}: hot-partner, member-reads or all`);
  const database = await startBenchDatabase();
  try {
    if (name === 'hot-partner' || name === 'all') await hotPartner(database, options);
    if (name === 'member-reads' || name === 'all') await memberReads(database, options);
  } finally {
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
