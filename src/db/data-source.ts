import 'reflect-metadata';
import { DataSource, MigrationExecutor } from 'typeorm';
import { migrations } from '../../migrations';
import { MemberEntity, PartnerEntity, PartnerKeyEntity } from './entities';
import { PreparingClient } from './prepared';

/** The tables read through TypeORM repositories; everything else is SQL. */
export const entities = [PartnerEntity, PartnerKeyEntity, MemberEntity];

/** Arbitrary but fixed: the advisory lock that lets exactly one instance migrate at a time. */
const MIGRATION_LOCK = 7_301_001;

export function createDataSource(url: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: false,
    // READ COMMITTED for every connection, whatever the server's default, without a
    // SET TRANSACTION round trip per transaction; and no statement may run away with the database.
    // Parameterised statements are named prepared statements, planned once per connection (prepared.ts):
    // force_generic_plan keeps PostgreSQL to that one plan. Left to choose ('auto'), it re-plans a
    // statement over an array parameter (unnest($1), = ANY($1)) on every call, because the plan
    // for an array of unknown length looks dearer than one for the array at hand: for a member read
    // that planning was most of the database's work (docs/benchmarks.md, "Generic plans").
    extra: {
      Client: PreparingClient,
      max: poolSize,
      application_name: 'coalition-hub',
      options: '-c default_transaction_isolation=read\\ committed -c statement_timeout=30s -c plan_cache_mode=force_generic_plan',
    },
  });
}

/**
 * Runs pending migrations, serialised across instances by an advisory lock, and returns the
 * names of those it applied. The lock and the migrations share one connection, so a pool of
 * one is enough (with the lock on a connection of its own, the migrations waited for a second
 * connection that a pool of one never frees).
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all';
    return (await executor.executePendingMigrations()).map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * The migrations this build knows that the database has not applied (all of them on a database
 * never migrated). Reads only: unlike TypeORM's showMigrations it creates no migrations table.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const known = dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
  const [table]: Array<{ present: boolean }> = await dataSource.query(`SELECT to_regclass('migrations') IS NOT NULL AS present`);
  if (!table?.present) return known;
  const rows: Array<{ name: string }> = await dataSource.query('SELECT name FROM migrations');
  const applied = new Set(rows.map((row) => row.name));
  return known.filter((name) => !applied.has(name));
}

/** The URL a data source made by createDataSource connects with (for a pool of its own on the same role). */
export function urlOf(dataSource: DataSource): string {
  const { url } = dataSource.options as { url?: string };
  if (!url) throw new Error('the data source was made without a URL');
  return url;
}
