import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { APP_ROLE, derivedAppUrl } from './app-role';
import { createDataSource } from './data-source';
import { pgCode } from './with-transaction';
import { processTime } from '../common/clock';

/**
 * The pool member reads go to when DATABASE_READ_URL names a streaming replica of the hub's
 * database (docs/scaling.md, "Read replicas"). Nothing is migrated or set up there: a replica is
 * read-only, and its schema, roles and passwords are the primary's, replicated. The hub logs in as
 * the same role as on the primary (coalition_hub_app), so the replica grants it exactly what the
 * primary does; every transaction on this pool is read-only as well, so a write sent here by
 * mistake fails even where the URL names a primary.
 */

/** How the pool shows in pg_stat_activity, beside the primary's `coalition-hub`. */
export const READ_APPLICATION_NAME = 'coalition-hub-read';

/**
 * The read URL as the app role: as given when it already names that role; else with the
 * credentials of APP_DATABASE_URL when that is set; else with the password derived from the
 * owner's, as on the primary (the owner's password is the same on a replica).
 */
export function readAppUrl(readUrl: string, explicitAppUrl: string | undefined): string {
  const url = new URL(readUrl);
  if (decodeURIComponent(url.username) === APP_ROLE) return readUrl;
  if (explicitAppUrl) {
    const app = new URL(explicitAppUrl);
    url.username = app.username;
    url.password = app.password;
    return url.toString();
  }
  return derivedAppUrl(readUrl);
}

/**
 * What a replica answers while it has not replayed the primary's set-up yet: the app role or the
 * database does not exist there yet (a hub that has just migrated a new primary), or the standby
 * is still starting. Each passes once replay catches up; anything else is a real error.
 */
const NOT_REPLAYED_YET = new Set(['28000', '3D000', '57P03']);

export interface ReadReplicaWait {
  /** How long to wait for the replica to replay the role and the database; default 60 s. */
  timeoutMs?: number;
  /** Called on each failed attempt that will be retried (the hub logs it). */
  onRetry?: (reason: string) => void;
}

/**
 * Waits until the app role can log in to the replica: right after the first migration of a primary,
 * the role reaches the standby only when the standby replays it, a moment later.
 */
async function awaitReplay(url: string, wait: ReadReplicaWait): Promise<void> {
  const deadline = processTime.ms() + (wait.timeoutMs ?? 60_000);
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      return;
    } catch (error) {
      if (!NOT_REPLAYED_YET.has(pgCode(error) ?? '') || processTime.ms() + delay > deadline) throw error;
      wait.onRetry?.(error instanceof Error ? error.message : String(error));
      await new Promise((done) => setTimeout(done, delay));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export async function openReadDataSource(
  readUrl: string,
  explicitAppUrl: string | undefined,
  poolSize?: number,
  wait: ReadReplicaWait = {},
): Promise<DataSource> {
  const dataSource = createDataSource(readAppUrl(readUrl, explicitAppUrl), poolSize);
  const extra = (dataSource.options.extra ?? {}) as { options?: string };
  dataSource.setOptions({
    extra: {
      ...extra,
      application_name: READ_APPLICATION_NAME,
      options: `${extra.options ?? ''} -c default_transaction_read_only=on`.trim(),
    },
  });
  try {
    await awaitReplay(readAppUrl(readUrl, explicitAppUrl), wait);
    await dataSource.initialize();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`DATABASE_READ_URL: cannot connect as ${new URL(readAppUrl(readUrl, explicitAppUrl)).username}: ${reason}`, {
      cause: error,
    });
  }
  return dataSource;
}
