import { Client } from 'pg';

export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.TEST_SERVER_URL;
  if (serverUrl && process.env.TEST_TEMPLATE_DB) {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${process.env.TEST_TEMPLATE_DB} WITH (FORCE)`);
    await client.end();
  }
  await globalThis.__coalitionEmbedded?.stop();
}
