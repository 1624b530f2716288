import { createHmac } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from './data-source';
import { migrateJobQueue } from './job-queue-schema';
import { pgCode } from './with-transaction';

/** The role the running hub connects as (made by the least-privilege migration). */
export const APP_ROLE = 'coalition_hub_app';

/** SQLSTATEs of a refused login: wrong password, or no such login allowed. */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

/**
 * The app role's password, derived from the owner's: every instance configured with the same
 * owner URL derives the same one, so none needs to be stored or shared, and whoever has it
 * already has the owner's password, which can do more.
 */
function derivedPassword(ownerPassword: string): string {
  return createHmac('sha256', ownerPassword).update(`${APP_ROLE} login`).digest('base64url');
}

/** The owner URL with the app role as user (and the derived password when the owner has one). */
export function derivedAppUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  const ownerPassword = decodeURIComponent(url.password);
  url.username = APP_ROLE;
  url.password = ownerPassword ? derivedPassword(ownerPassword) : '';
  return url.toString();
}

async function canLogIn(url: string): Promise<boolean | Error> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (LOGIN_REFUSED.has(pgCode(error) ?? '')) return false;
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The URL the running hub connects with. An explicit APP_DATABASE_URL wins. Otherwise the app
 * role on the owner's server: with a password derived from the owner's, which the owner sets
 * (once per cluster) when the role cannot log in with it yet; without a password when the owner
 * URL has none (trust, peer or certificate authentication).
 */
export async function appDatabaseUrl(ownerUrl: string, explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  const url = derivedAppUrl(ownerUrl);
  const first = await canLogIn(url);
  if (first === true) return url;
  if (first instanceof Error) throw first;
  const password = new URL(url).password;
  if (!password) {
    throw new Error(`the hub's role ${APP_ROLE} cannot log in without a password: set APP_DATABASE_URL (see docs/security.md)`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error('unexpected characters in the derived password');
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    // Several instances may start at once: a concurrent change of the role's row is retried.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await owner.query(`ALTER ROLE ${APP_ROLE} WITH LOGIN PASSWORD '${password}'`);
        break;
      } catch (error) {
        if (pgCode(error) === '42501') {
          throw new Error(`the owner may not set the password of ${APP_ROLE}: set APP_DATABASE_URL (see docs/security.md)`);
        }
        if (attempt >= 5 || !/concurrently/.test(String(error))) throw error;
        await new Promise((done) => setTimeout(done, 50 * attempt));
      }
    }
  } finally {
    await owner.end();
  }
  const second = await canLogIn(url);
  if (second !== true)
    throw second instanceof Error
      ? second
      : new Error(`the hub's role ${APP_ROLE} cannot log in: set APP_DATABASE_URL (see docs/security.md)`);
  return url;
}

/**
 * Takes temporary tables from PUBLIC (and so from the app role) in this database, as the
 * least-privilege migration does: a database cloned from a template starts with the default
 * privileges again. Where the owner of the tables does not own the database this is not allowed;
 * then the database's owner must do it once (docs/security.md).
 */
async function refuseTemporaryTables(owner: DataSource): Promise<void> {
  await owner
    .query(`DO $do$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $do$`)
    .catch((error: unknown) => {
      if (pgCode(error) !== '42501') throw error;
    });
}

/**
 * The hub's migrations, then the job queue's schema (graphile-worker's own migrations), both as
 * the owner. Returns the names of the hub's migrations it applied.
 */
export async function migrateAll(owner: DataSource, ownerUrl: string): Promise<string[]> {
  const applied = await migrate(owner);
  await migrateJobQueue(ownerUrl, APP_ROLE, (sql) => owner.query(sql));
  return applied;
}

/**
 * Migrates as the owner (`ownerUrl`), then opens the hub's pool as the app role: the running hub
 * never holds the owner's rights.
 */
export async function openHubDataSource(ownerUrl: string, explicitAppUrl: string | undefined, poolSize?: number): Promise<DataSource> {
  const owner = createDataSource(ownerUrl, 2);
  await owner.initialize();
  try {
    await migrateAll(owner, ownerUrl);
    await refuseTemporaryTables(owner);
  } finally {
    await owner.destroy();
  }
  const dataSource = createDataSource(await appDatabaseUrl(ownerUrl, explicitAppUrl), poolSize);
  await dataSource.initialize();
  return dataSource;
}
