import { Command } from 'commander';
import { withDatabase } from '../database';

/**
 * `coalition-hub migrate`: applies pending migrations and exits (the hub also does it at start),
 * on DATABASE_URL or, without it, on the embedded database in DATA_DIR. A pool of one connection
 * on purpose: the migration lock and the migrations share it.
 */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database in DATA_DIR) and exit')
    .option('--demo', "on the embedded database: the demo's database instead of the server's")
    .action(async (options: { demo?: boolean }) => {
      const { loadConfig } = await import('../../config/config.js');
      const { migrateAll } = await import('../../db/app-role.js');
      const applied = await withDatabase(
        loadConfig({ LOG_LEVEL: 'warn', ...process.env }),
        { demo: options.demo, poolSize: 1, migrating: true },
        (dataSource, url) => migrateAll(dataSource, url),
      );
      console.log(applied.length === 0 ? 'nothing to migrate' : `applied ${applied.length} migrations: ${applied.join(', ')}`);
    });
}
