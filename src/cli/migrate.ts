import 'reflect-metadata';
import { loadConfig } from '../config/config';
import { createDataSource, migrate } from '../db/data-source';

/** `npm run migrate`: applies pending migrations to DATABASE_URL (the hub also does it at start). */
async function main(): Promise<void> {
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('set DATABASE_URL (the embedded database is migrated when the hub starts)');
  const dataSource = createDataSource(databaseUrl, 1);
  await dataSource.initialize();
  try {
    const pending = await dataSource.showMigrations();
    await migrate(dataSource);
    console.log(pending ? 'migrations applied' : 'nothing to migrate');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
