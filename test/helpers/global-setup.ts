import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded';
import { createDataSource, migrate } from '../../src/db/data-source';
import { databaseUrl } from './database';

declare global {
  var __coalitionEmbedded: EmbeddedDatabase | undefined;
}

/**
 * One PostgreSQL for the whole run: the embedded one by default (fsync off: throw-away data),
 * or the server in DATABASE_URL. The real migrations run once into a template database that
 * every test file then clones.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = mkdtempSync(join(tmpdir(), 'coalition-test-pg-'));
    globalThis.__coalitionEmbedded = await startEmbeddedPostgres({ dataDir, fast: true, persistent: false });
    serverUrl = globalThis.__coalitionEmbedded.serverUrl;
  }
  const template = `coalition_template_${process.pid}`;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${template}`);
  await client.query(`CREATE DATABASE ${template}`);
  await client.end();
  const dataSource = createDataSource(databaseUrl(serverUrl, template), 2);
  await dataSource.initialize();
  await migrate(dataSource);
  await dataSource.destroy();
  process.env.TEST_SERVER_URL = serverUrl;
  process.env.TEST_TEMPLATE_DB = template;
}
