import 'reflect-metadata';
import { systemClock } from '../common/clock';
import { loadConfig } from '../config/config';
import { createDataSource, migrate } from '../db/data-source';
import { ExpiryService } from '../ledger/expiry.service';
import { ContractService } from '../partners/contract.service';

/** `npm run expire`: one expiry run against DATABASE_URL, safe beside running hubs (they share its lock). */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('set DATABASE_URL (a hub on the embedded database runs expiry on its own schedule)');
  const dataSource = createDataSource(config.databaseUrl, 2);
  await dataSource.initialize();
  try {
    await migrate(dataSource);
    const contracts = new ContractService(dataSource, systemClock, config.defaultCurrency);
    const run = await new ExpiryService(dataSource, contracts, systemClock, config.counterShards).run();
    console.log(
      run.ran
        ? `expired ${run.pointsExpired} CP in ${run.lotsExpired} lots of ${run.walletsTouched} wallets (${run.entriesMade} entries)`
        : 'another process is running expiry now; nothing done',
    );
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
