import type { DataSource } from 'typeorm';
import type { Config } from '../config/config';
import { CliError } from './program';

export interface DatabaseChoice {
  /** On the embedded database: the demo's (`serve --demo`) instead of the server's. */
  demo?: boolean;
  /** Connections in the pool (the default fits one command doing one thing at a time). */
  poolSize?: number;
  /**
   * Only `migrate` opens a database whose schema is behind this build; every other tool refuses it
   * (see requireMigrated).
   */
  migrating?: boolean;
}

/**
 * Runs `work` on DATABASE_URL, or without it on the embedded PostgreSQL in DATA_DIR (started for
 * the command and stopped cleanly after it: it cannot be opened while a hub is serving from it).
 * Closes everything it opened, whatever `work` does.
 */
export async function withDatabase<T>(
  config: Config,
  choice: DatabaseChoice,
  work: (dataSource: DataSource, url: string) => Promise<T>,
): Promise<T> {
  const { createDataSource } = await import('../db/data-source.js');
  const { ensureDatabase, startEmbeddedPostgres } = await import('../db/embedded.js');
  let embedded: { stop(): Promise<void> } | undefined;
  let url = config.databaseUrl;
  try {
    if (!url) {
      const server = await startEmbeddedPostgres({ dataDir: config.dataDir }).catch((error: unknown) => {
        throw new CliError(
          `cannot open the embedded database in ${config.dataDir} (is a hub serving from it? stop it, or set DATABASE_URL): ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      embedded = server;
      url = await ensureDatabase(server.serverUrl, choice.demo ? 'coalition_demo' : 'coalition');
    }
    const dataSource = createDataSource(url, choice.poolSize ?? 2);
    await dataSource.initialize();
    try {
      if (!choice.migrating) await requireMigrated(dataSource);
      return await work(dataSource, url);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * Tools work on a database at this build's schema, and never migrate it as a side effect (a
 * settlement report run from a newer checkout must not change production's schema): `migrate`
 * does that, or the hub at its start.
 */
async function requireMigrated(dataSource: DataSource): Promise<void> {
  const { pendingMigrations } = await import('../db/data-source.js');
  const pending = await pendingMigrations(dataSource);
  if (pending.length > 0) {
    throw new CliError(
      `the database is ${pending.length} migration(s) behind this build: run \`coalition-hub migrate\` first (or start the hub, which migrates)`,
    );
  }
}
