import type { DataSource } from 'typeorm';
import { pgCode } from '../../src/db/with-transaction';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The running hub connects as a role that can do what the hub's code does and nothing more: it
 * is no superuser (so it cannot switch the append-only triggers off), owns nothing, may truncate
 * nothing, may not update or delete ledger history or settlement results, and cannot write a
 * stored balance: balances move only with postings. Every statement below goes through the
 * hub's own runtime data source. The ledger still works end to end.
 */

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
let db: DataSource;

const SHARDS = 2;

beforeAll(async () => {
  hub = await TestHub.start({ env: { LEDGER_COUNTER_SHARDS: String(SHARDS) } });
  db = hub.hub.dataSource;
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT');
  for (const client of [acme.client, bolt.client]) {
    for (const member of ['alice', 'bob']) if (!(await client.enrollMember({ member })).ok) throw new Error('fixture set-up failed');
  }
  // Contracts are append-only: a new one (with transfers allowed) takes effect from now.
  await hub.asStaff('mutation { setPartnerContract(partnerId: "ACME", input: { transfersAllowed: true }) { __typename } }', {}, 'operator');
});

afterAll(() => hub.stop());

/** The statement must be refused for lack of privilege (SQLSTATE 42501), not by a trigger or a constraint. */
async function expectNoPrivilege(sql: string, params: unknown[] = []): Promise<void> {
  const error = await db.query(sql, params).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect({ sql, code: error === null ? 'succeeded' : pgCode(error) }).toEqual({ sql, code: '42501' });
}

describe('the role the hub runs as', () => {
  it('is the app role, no superuser, and cannot create roles, databases or bypass row security', async () => {
    const [role] = await db.query(
      'SELECT current_user AS name, session_user AS session, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = current_user',
    );
    expect(role).toEqual({
      name: 'coalition_hub_app',
      session: 'coalition_hub_app',
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
      rolreplication: false,
    });
  });

  it('owns nothing: no table, sequence, function, schema or database', async () => {
    const [owned] = await db.query(`
      SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)::int AS relations,
             (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)::int AS functions,
             (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)::int AS schemas,
             (SELECT count(*) FROM pg_database WHERE datdba = r.oid)::int AS databases
      FROM pg_roles r WHERE r.rolname = current_user`);
    expect(owned).toEqual({ relations: 0, functions: 0, schemas: 0, databases: 0 });
  });

  it('cannot make a temporary table to stand in for a ledger table inside a trigger (pg_temp is searched first)', async () => {
    await expectNoPrivilege('CREATE TEMPORARY TABLE account_balance (account_id uuid, kind text, shard smallint, balance bigint)');
    await expectNoPrivilege('CREATE TEMPORARY TABLE posting (entry_id uuid)');
    const [{ temp }] = await db.query(`SELECT has_database_privilege(current_user, current_database(), 'TEMPORARY') AS temp`);
    expect(temp).toBe(false);
  });

  it('cannot switch triggers off: session_replication_role, ALTER TABLE … DISABLE TRIGGER', async () => {
    await expectNoPrivilege('SET session_replication_role = replica');
    await expectNoPrivilege('ALTER TABLE posting DISABLE TRIGGER ALL');
    await expectNoPrivilege('ALTER TABLE journal_entry DISABLE TRIGGER journal_entry_append_only');
    const [{ setting }] = await db.query(`SELECT current_setting('session_replication_role') AS setting`);
    expect(setting).toBe('origin');
  });

  it('cannot become another role, raise its own rights, or create objects', async () => {
    await expectNoPrivilege('SET ROLE postgres');
    await expectNoPrivilege('ALTER ROLE coalition_hub_app SUPERUSER');
    await expectNoPrivilege('CREATE TABLE sneaky (id int)');
    await expectNoPrivilege('CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
  });

  it('may truncate no table', async () => {
    const tables: Array<{ name: string }> = await db.query(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
    );
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['journal_entry', 'posting', 'account_balance', 'statement']));
    for (const { name } of tables) await expectNoPrivilege(`TRUNCATE ${name}`);
  });

  it.each([
    'journal_entry',
    'posting',
    'lot_consumption',
    'partner_contract',
    'exchange_rate',
    'partner_unit',
    'rounding_booking',
    'settlement_line',
    'settlement_total',
    'settlement_obligation',
    'settlement_transfer',
    'settlement_summary',
    'hub_signing_key',
    'migrations',
  ])('may neither update nor delete %s', async (table) => {
    const [column] = await db.query(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position LIMIT 1`,
      [table],
    );
    await expectNoPrivilege(`UPDATE ${table} SET ${column.name} = ${column.name}`);
    await expectNoPrivilege(`DELETE FROM ${table}`);
  });

  it('may delete nothing anywhere but the rate-limit counters (seconds-long windows the limiter clears)', async () => {
    const tables: Array<{ name: string }> = await db.query(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'rate_limit'`,
    );
    for (const { name } of tables) await expectNoPrivilege(`DELETE FROM ${name}`);
  });

  it('may only add events: no update, no delete (the outbox is what was committed, as it was)', async () => {
    await expectNoPrivilege("UPDATE event SET data = '{}'::jsonb");
    await expectNoPrivilege('UPDATE event SET partner_id = partner_id, type = type');
    await expectNoPrivilege('DELETE FROM event');
  });

  it('may change only the status of statements and open periods, never their figures', async () => {
    await expectNoPrivilege('UPDATE statement SET net_minor = 0');
    await expectNoPrivilege('UPDATE statement SET digest = digest, jws = jws');
    await expectNoPrivilege('UPDATE settlement_period SET starts_at = starts_at');
  });

  it('cannot write a stored balance: balances move only with postings', async () => {
    const [wallet] = await db.query(`SELECT a.id, a.kind FROM account a WHERE a.kind = 'wallet' LIMIT 1`);
    await expectNoPrivilege('UPDATE account_balance SET balance = balance + 1000 WHERE account_id = $1', [wallet.id]);
    await expectNoPrivilege('INSERT INTO account_balance (account_id, kind, shard, balance) VALUES ($1, $2, 0, 1000)', [
      wallet.id,
      wallet.kind,
    ]);
    await expectNoPrivilege(
      `INSERT INTO account_balance (account_id, kind, shard) VALUES ($1, $2, 0) ON CONFLICT (account_id, shard) DO UPDATE SET balance = 1000`,
      [wallet.id, wallet.kind],
    );
    await expectNoPrivilege('UPDATE account_balance SET account_id = account_id');
  });
});

describe('tables of later migrations', () => {
  it('get ordinary reads and writes for the role by default privileges, still no TRUNCATE', async () => {
    // What a later migration does, as the owner.
    await hub.ownerQuery('CREATE TABLE later_migration_table (id bigserial PRIMARY KEY, hits integer NOT NULL)');
    await db.query('INSERT INTO later_migration_table (hits) VALUES (1)');
    await db.query('UPDATE later_migration_table SET hits = hits + 1');
    expect(await db.query('SELECT hits FROM later_migration_table')).toEqual([{ hits: 2 }]);
    await db.query('DELETE FROM later_migration_table');
    await expectNoPrivilege('TRUNCATE later_migration_table');
    await expectNoPrivilege('ALTER TABLE later_migration_table ADD COLUMN sneaky text');
    await hub.ownerQuery('DROP TABLE later_migration_table');
  });
});

describe('the ledger through the least-privileged role', () => {
  async function balance(partner: TestPartner, member: string): Promise<string> {
    const result = await hub.graphql(
      'query($ref: String!) { memberByRef(ref: $ref) { balance } }',
      { ref: member },
      await partner.client.accessToken(),
    );
    return result.data?.memberByRef.balance;
  }

  it('issues, redeems and transfers, with balances moved by the database from the postings', async () => {
    // ACME's alice and BOLT's alice are two members (no shared e-mail hash): 60 CP each.
    for (let i = 0; i < 12; i += 1) {
      const issued = await (i % 2 ? acme : bolt).client.issuePoints({ member: 'alice', amount: '10' });
      if (!issued.ok) throw new Error(JSON.stringify(issued));
    }
    const redeemed = await acme.client.redeemPoints({ member: 'alice', amount: '35' });
    if (!redeemed.ok) throw new Error(JSON.stringify(redeemed));
    expect(redeemed.data.balance).toBe('25');
    const refused = await acme.client.redeemPoints({ member: 'alice', amount: '1000' });
    expect(refused.ok).toBe(false);
    const transferred = await acme.client.transferPoints({ member: 'alice', to: 'bob', amount: '5' });
    if (!transferred.ok) throw new Error(JSON.stringify(transferred));
    expect(await balance(acme, 'alice')).toBe('20');
    expect(await balance(acme, 'bob')).toBe('5');

    // Stored balances equal the postings; counter-accounts used only the configured shards.
    const [mismatch] = await db.query(`
      SELECT count(*)::int AS accounts FROM account a
      WHERE coalesce((SELECT sum(balance) FROM account_balance b WHERE b.account_id = a.id), 0)
         <> coalesce((SELECT sum(amount) FROM posting p WHERE p.account_id = a.id), 0)`);
    expect(mismatch.accounts).toBe(0);
    const [shards] = await db.query(
      `SELECT max(shard)::int AS max FROM account_balance b JOIN account a ON a.id = b.account_id WHERE a.kind = 'issuance'`,
    );
    expect(shards.max).toBeLessThan(SHARDS);
    expect((await hub.integrity()).ok).toBe(true);
  });
});
