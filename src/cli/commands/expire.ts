import { Command } from 'commander';
import { withDatabase } from '../database';

/** `coalition-hub expire`: one expiry run, safe beside running hubs (they share its lock). */
export function expireCommand(): Command {
  return new Command('expire')
    .description('run the expiry job once: lots past their expiry go to breakage (DATABASE_URL, or the embedded database in DATA_DIR)')
    .option('--demo', "on the embedded database: the demo's database instead of the server's")
    .action(async (options: { demo?: boolean }) => {
      const { systemClock } = await import('../../common/clock.js');
      const { loadConfig } = await import('../../config/config.js');
      const { ExpiryService } = await import('../../operations/expire.js');
      const { ContractService } = await import('../../partners/contract.service.js');
      const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
      const run = await withDatabase(config, { demo: options.demo }, async (dataSource) => {
        const contracts = new ContractService(dataSource, systemClock, config.defaultCurrency);
        return new ExpiryService(dataSource, contracts, systemClock, config.counterShards).run();
      });
      console.log(
        run.ran
          ? `expired ${run.pointsExpired} CP in ${run.lotsExpired} lots of ${run.walletsTouched} wallets (${run.entriesMade} entries)`
          : 'another process is running expiry now; nothing done',
      );
    });
}
