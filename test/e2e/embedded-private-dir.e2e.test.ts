import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { EmbeddedDatabaseError, startEmbeddedPostgres } from '../../src/db/embedded';

/**
 * The embedded PostgreSQL with DATA_DIR under a directory only its owner can enter. As root the
 * server runs as `postgres`, who cannot enter it: the cluster then lives in a place that user can
 * reach, recorded in DATA_DIR, and its data is kept between starts like anywhere else.
 */
const asRoot = process.getuid?.() === 0;
let parent: string;
let clusterDir: string | undefined;

beforeAll(() => {
  parent = mkdtempSync(join(tmpdir(), 'coalition-private-'));
  chmodSync(parent, 0o700);
});

afterAll(() => {
  if (clusterDir && !clusterDir.startsWith(parent)) rmSync(resolve(clusterDir, '..'), { recursive: true, force: true });
  rmSync(parent, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<any[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

it('starts from a chmod 700 directory, keeps its data between starts, and says in one line why a second server cannot start on it', async () => {
  const dataDir = join(parent, 'data');
  const notices: string[] = [];
  const first = await startEmbeddedPostgres({ dataDir, fast: true, notice: (line) => notices.push(line) });
  clusterDir = first.clusterDir;
  try {
    await query(first.serverUrl, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')");
    if (asRoot) {
      expect(first.clusterDir.startsWith(parent)).toBe(false);
      expect(readFileSync(join(dataDir, 'pg-location'), 'utf8').trim()).toBe(first.clusterDir);
      expect(notices.some((line) => line.includes("out of the postgres user's reach"))).toBe(true);
    } else {
      expect(first.clusterDir).toBe(resolve(dataDir, 'pg'));
    }
    const second = startEmbeddedPostgres({ dataDir, fast: true });
    await expect(second).rejects.toBeInstanceOf(EmbeddedDatabaseError);
    await expect(second).rejects.toThrow(
      /^the embedded database in \S+ is already in use \(is a hub or CLI running on it\? stop it, or set DATABASE_URL\)$/,
    );
  } finally {
    await first.stop();
  }
  const again = await startEmbeddedPostgres({ dataDir, fast: true });
  try {
    expect(again.clusterDir).toBe(first.clusterDir);
    expect(await query(again.serverUrl, 'SELECT note FROM kept')).toEqual([{ note: 'still here' }]);
  } finally {
    await again.stop();
  }
});
