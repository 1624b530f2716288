import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { newOperatorKey, startBenchHub, type BenchHub } from '../../bench/harness';
import { Client } from 'pg';
import { databaseUrl, dropTestDatabase, testServerUrl } from '../helpers/database';

/**
 * Invariant 4 of docs/ledger.md: an acknowledged (receipted) transaction is never lost, even if the
 * process is killed right after; an unacknowledged one is either fully applied or not at all.
 * The hub runs as a real process (the built dist/), is killed with SIGKILL in the middle of a
 * burst of issues, and is started again on the same database.
 */
const ENTRY = resolve(__dirname, '../../dist/src/main.js');
const database = `coalition_crash_${process.pid}`;
let hub: BenchHub | undefined;

afterAll(async () => {
  await hub?.stop();
  await dropTestDatabase(database);
});

it('keeps every receipted issue with its event and applies no instruction halfway when the hub is killed mid-burst', async () => {
  expect(existsSync(ENTRY)).toBe(true); // npm test builds the hub first
  const server = { serverUrl: testServerUrl(), stop: async () => undefined };
  const operatorKey = await newOperatorKey();
  hub = await startBenchHub(server, database, { entry: ENTRY, operatorKey });
  const { client } = await hub.registerPartner('CRASH');
  const enrolled = await client.enrollMember({ member: 'm1' });
  expect(enrolled.ok).toBe(true);

  const receipted: string[] = [];
  const burst = Array.from({ length: 150 }, (_, i) =>
    client.issuePoints({ member: 'm1', amount: '1' }, { jti: `burst-${i}` }).then(
      (outcome) => {
        if (outcome.ok) receipted.push(outcome.jti);
      },
      () => undefined, // the connection died with the process: no answer, no receipt
    ),
  );
  while (receipted.length < 20) await new Promise((done) => setTimeout(done, 5));
  await hub.kill();
  await Promise.all(burst);
  expect(receipted.length).toBeGreaterThanOrEqual(20);

  hub = await startBenchHub(server, database, { entry: ENTRY, operatorKey });
  const again = await hub.graphql('{ ledgerIntegrity { ok differences { check subject } } }', {}, hub.operatorToken);
  expect(again.data.ledgerIntegrity).toEqual({ ok: true, differences: [] });

  // Every receipted jti is in the ledger; every entry there is whole (integrity above), and the
  // balance is exactly the number of issues that committed, receipted or not.
  const sql = new Client({ connectionString: databaseUrl(testServerUrl(), database) });
  await sql.connect();
  try {
    const entries = (await sql.query(`SELECT jti FROM journal_entry WHERE partner_id = 'CRASH'`)).rows.map((row) => row.jti as string);
    expect(entries).toEqual(expect.arrayContaining(receipted));
    const member = await hub.graphql('{ memberByRef(ref: "m1") { balance } }', {}, await client.accessToken());
    expect(member.data.memberByRef.balance).toBe(String(entries.length));
    // The outbox commits with the change: every receipted issue has its points.issued event, and
    // exactly the issues that committed have one each (none for what the kill cut short).
    const events = (
      await sql.query(`SELECT data->>'jti' AS jti FROM event WHERE partner_id = 'CRASH' AND type = 'points.issued'`)
    ).rows.map((row) => row.jti as string);
    expect(events).toEqual(expect.arrayContaining(receipted));
    expect([...events].sort()).toEqual([...entries].sort());
  } finally {
    await sql.end();
  }
});
