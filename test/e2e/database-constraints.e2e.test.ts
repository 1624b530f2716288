import { Client } from 'pg';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { databaseUrl, testServerUrl } from '../helpers/database';

/**
 * The money rules hold in the database itself, not only in the hub's code: these tests go
 * around the hub with plain SQL and try to break them.
 */
let hub: TestHub;
let acme: TestPartner;
let sql: Client;
let walletId: string;
let issuanceId: string;
let entryId: string;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'm1' });
  const issued = await acme.client.issuePoints({ member: 'm1', amount: '100' });
  if (!issued.ok) throw new Error('issue failed');
  entryId = issued.data.entryId;
  sql = new Client({ connectionString: databaseUrl(testServerUrl(), hub.databaseName) });
  await sql.connect();
  const accounts = await sql.query(
    `SELECT id, kind FROM account WHERE kind IN ('wallet', 'issuance') AND (owner_id = 'ACME' OR owner_kind = 'member')`,
  );
  walletId = accounts.rows.find((row) => row.kind === 'wallet').id;
  issuanceId = accounts.rows.find((row) => row.kind === 'issuance').id;
});

afterAll(async () => {
  await sql.end();
  await hub.stop();
});

async function inTransaction(statements: (client: Client) => Promise<unknown>): Promise<unknown> {
  await sql.query('BEGIN');
  try {
    await statements(sql);
    await sql.query('COMMIT');
    return null;
  } catch (error) {
    await sql.query('ROLLBACK');
    return error;
  }
}

describe('database constraints', () => {
  it('refuses at commit a journal entry whose postings do not sum to zero', async () => {
    const error = await inTransaction(async (client) => {
      await client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', 'sql-1', 'issue', 'k', 'h', 'x')`,
      );
      await client.query(
        `INSERT INTO journal_entry (id, type, partner_id, jti, occurred_at, request_hash)
         VALUES ('00000000-0000-4000-8000-000000000001', 'issue', 'ACME', 'sql-1', now(), 'h')`,
      );
      await client.query(
        `INSERT INTO posting (entry_id, account_id, asset, amount) VALUES
         ('00000000-0000-4000-8000-000000000001', $1, 'CP', -10), ('00000000-0000-4000-8000-000000000001', $2, 'CP', 9)`,
        [issuanceId, walletId],
      );
    });
    expect(String(error)).toMatch(/does not balance/);
    expect((error as { code?: string }).code).toBe('23514');
  });

  it('refuses to update or delete postings and journal entries (append-only)', async () => {
    for (const statement of [
      `UPDATE posting SET amount = amount * 2 WHERE entry_id = '${entryId}'`,
      `DELETE FROM posting WHERE entry_id = '${entryId}'`,
      `UPDATE journal_entry SET partner_id = 'ACME' WHERE id = '${entryId}'`,
      `DELETE FROM journal_entry WHERE id = '${entryId}'`,
      'TRUNCATE posting CASCADE',
    ]) {
      const error = await inTransaction((client) => client.query(statement));
      expect(String(error)).toMatch(/append-only/);
    }
  });

  it('refuses a wallet balance below zero', async () => {
    const error = await inTransaction((client) =>
      client.query('UPDATE account_balance SET balance = -1 WHERE account_id = $1', [walletId]),
    );
    expect((error as { code?: string }).code).toBe('23514');
  });

  it('refuses a second balance row for a wallet, whatever the code asks (a wallet has one row, never below zero)', async () => {
    const error = await inTransaction((client) =>
      client.query(`INSERT INTO account_balance (account_id, kind, shard, balance) VALUES ($1, 'wallet', 1, -5)`, [walletId]),
    );
    expect((error as { code?: string }).code).toBe('23514');
    const mislabelled = await inTransaction((client) =>
      client.query(`INSERT INTO account_balance (account_id, kind, shard, balance) VALUES ($1, 'issuance', 1, -5)`, [walletId]),
    );
    expect((mislabelled as { code?: string }).code).toBe('23503');
  });

  it('refuses a second instruction with the same partner and jti', async () => {
    const [{ jti }] = (await sql.query(`SELECT jti FROM journal_entry WHERE id = $1`, [entryId])).rows;
    const error = await inTransaction((client) =>
      client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', $1, 'issue', 'k', 'h', 'x')`,
        [jti],
      ),
    );
    expect((error as { code?: string }).code).toBe('23505');
  });

  it('refuses a posting in an asset other than its account’s', async () => {
    const error = await inTransaction(async (client) => {
      await client.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws) VALUES ('ACME', 'sql-2', 'issue', 'k', 'h', 'x')`,
      );
      await client.query(
        `INSERT INTO journal_entry (id, type, partner_id, jti, occurred_at, request_hash)
         VALUES ('00000000-0000-4000-8000-000000000002', 'issue', 'ACME', 'sql-2', now(), 'h')`,
      );
      await client.query(
        `INSERT INTO posting (entry_id, account_id, asset, amount) VALUES
         ('00000000-0000-4000-8000-000000000002', $1, 'ACME.STARS', -10), ('00000000-0000-4000-8000-000000000002', $2, 'ACME.STARS', 10)`,
        [issuanceId, walletId],
      );
    });
    expect((error as { code?: string }).code).toBe('23503');
  });

  it('refuses a lot that gives away more than it holds', async () => {
    const error = await inTransaction((client) => client.query('UPDATE lot SET remaining = amount + 1'));
    expect((error as { code?: string }).code).toBe('23514');
  });

  it('answers InvalidAmount, not an internal error, when a balance would pass the bigint limit', async () => {
    const [{ balance }] = (await sql.query('SELECT balance::text FROM account_balance WHERE account_id = $1', [walletId])).rows;
    await sql.query('UPDATE account_balance SET balance = 9223372036854775800 WHERE account_id = $1', [walletId]);
    try {
      const outcome = await acme.client.issuePoints({ member: 'm1', amount: '10' });
      expect(outcome).toMatchObject({ ok: false, typename: 'InvalidAmount', errorCode: 'INVALID_AMOUNT' });
    } finally {
      await sql.query('UPDATE account_balance SET balance = $2 WHERE account_id = $1', [walletId, balance]);
    }
  });

  it('in a batch, fails only the instruction whose balance would pass the limit; the others of its run apply', async () => {
    if (!(await acme.client.enrollMember({ member: 'm2' })).ok) throw new Error('enrol failed');
    const [{ balance }] = (await sql.query('SELECT balance::text FROM account_balance WHERE account_id = $1', [walletId])).rows;
    await sql.query('UPDATE account_balance SET balance = 9223372036854775800 WHERE account_id = $1', [walletId]);
    try {
      const outcomes = await acme.client.submitMany([
        { op: 'issue', fields: { member: 'm2', amount: '3' } },
        { op: 'issue', fields: { member: 'm1', amount: '10' } },
        { op: 'issue', fields: { member: 'm2', amount: '4' } },
      ]);
      expect(
        outcomes.map((outcome) =>
          outcome.ok ? (outcome.data as { amount: string }).amount : 'errorCode' in outcome ? outcome.errorCode : outcome,
        ),
      ).toEqual(['3', 'INVALID_AMOUNT', '4']);
    } finally {
      await sql.query('UPDATE account_balance SET balance = $2 WHERE account_id = $1', [walletId, balance]);
    }
  });

  it('agrees with the integrity check after all these attempts: nothing got through', async () => {
    expect(await hub.integrity()).toEqual({ ok: true, differences: [] });
  });
});
