import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Least privilege. Migrations run as the owner of the tables; the running hub connects as
 * `coalition_hub_app`, a role that owns nothing, is no superuser (so it can neither turn triggers
 * off with session_replication_role nor alter a table) and may only do what the hub's code does:
 * - read every table, insert into every table;
 * - no DELETE anywhere (the hub never deletes), no TRUNCATE anywhere;
 * - UPDATE only of the columns the hub moves (statuses, receipts, lot remainders), so the
 *   append-only tables (journal entries, postings, lot consumption, contracts, rates, settlement
 *   results) cannot be updated at all; closed periods and statements are guarded by their triggers too;
 * - stored balances change only through postings: a statement trigger, owned by the owner, adds
 *   each new posting to its account's balance. The role may insert a zero balance row and lock
 *   balance rows (FOR UPDATE needs UPDATE on a column: `kind`, which its foreign key pins to the
 *   account's kind), never set a balance.
 * Tables made by later migrations get SELECT, INSERT, UPDATE, DELETE by default privileges: a
 * migration that adds an append-only table revokes what the hub must not do (see docs/security.md).
 * The role is cluster-wide and made once; its grants live in each database (and travel with a
 * template copy).
 */
export class LeastPrivilege1732470001000 implements MigrationInterface {
  name = 'LeastPrivilege1732470001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DO $do$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          BEGIN
            CREATE ROLE coalition_hub_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
          EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL; -- made meanwhile by a migration of another database
            WHEN insufficient_privilege THEN
              RAISE EXCEPTION 'the role coalition_hub_app does not exist and % may not create it: create it once (see docs/security.md)', current_user;
          END;
        END IF;
      END
      $do$;

      -- No temporary tables either: in a session, pg_temp is searched before public, so a temporary
      -- table named like one of ours would stand in for it in every trigger that reads it (the
      -- balanced-entry check, the period stamp). The hub uses none. Database privileges do not
      -- travel with a template copy, so the hub repeats this at each start (src/db/app-role.ts).
      DO $do$
      BEGIN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not revoke TEMPORARY on this database from PUBLIC: check that coalition_hub_app cannot create temporary tables';
      END
      $do$;

      -- Servers before PostgreSQL 15 let every role create objects in public: not this one.
      DO $do$
      BEGIN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not revoke CREATE on schema public from PUBLIC: check that coalition_hub_app cannot create tables';
      END
      $do$;
      GRANT USAGE ON SCHEMA public TO coalition_hub_app;
      GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO coalition_hub_app;
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO coalition_hub_app;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO coalition_hub_app;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO coalition_hub_app;
      -- TypeORM's record of applied migrations: readable (readiness), never written by the hub.
      REVOKE ALL ON TABLE migrations FROM coalition_hub_app;
      GRANT SELECT ON TABLE migrations TO coalition_hub_app;

      -- What the hub's code updates, column by column; every other column of every table is read-only to it.
      GRANT UPDATE (receipt_jws, result, entry_id, member_id) ON instruction TO coalition_hub_app;
      GRANT UPDATE (entry_id, result) ON exchange TO coalition_hub_app;
      GRANT UPDATE (status, captured, closed_at, capture_entry_id) ON hold TO coalition_hub_app;
      GRANT UPDATE (status, revoked_at) ON partner_key TO coalition_hub_app;
      GRANT UPDATE (status) ON partner TO coalition_hub_app;
      GRANT UPDATE (email_hash, phone_hash) ON member TO coalition_hub_app;
      GRANT UPDATE (remaining) ON lot TO coalition_hub_app;
      GRANT UPDATE (ends_at, status, cutoff_at, closed_at, closed_by) ON settlement_period TO coalition_hub_app;
      GRANT UPDATE (status, acknowledgement_jws, acknowledged_at) ON statement TO coalition_hub_app;
      GRANT UPDATE (status, resolved_at, resolved_by, resolution_note, adjustment_entry_id) ON statement_dispute TO coalition_hub_app;

      -- Balances: a zero row (the balance column takes its default), and row locks; never a value.
      REVOKE INSERT ON account_balance FROM coalition_hub_app;
      GRANT INSERT (account_id, kind, shard) ON account_balance TO coalition_hub_app;
      GRANT UPDATE (kind) ON account_balance TO coalition_hub_app;

      -- Every new posting moves its account's stored balance, in the same statement's transaction.
      -- Single-row accounts (wallets, prepaid funding, exposure) move their one row, in account
      -- order (the global lock order); counter-accounts a random shard of coalition.counter_shards.
      -- pg_temp last and every table schema-qualified: a temporary table of the caller's named like
      -- ours must never stand in for it inside a function running with the owner's rights.
      CREATE FUNCTION posting_apply_to_balances() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
      DECLARE
        shards integer := least(greatest(coalesce(nullif(current_setting('coalition.counter_shards', true), '')::integer, 8), 1), 64);
        moved record;
        touched integer;
      BEGIN
        FOR moved IN
          SELECT p.account_id, a.kind, sum(p.amount) AS delta
          FROM new_postings p JOIN public.account a ON a.id = p.account_id
          GROUP BY p.account_id, a.kind HAVING sum(p.amount) <> 0
          ORDER BY p.account_id
        LOOP
          IF moved.kind IN ('wallet', 'prefunding', 'exposure') THEN
            UPDATE public.account_balance SET balance = balance + moved.delta WHERE account_id = moved.account_id AND shard = 0;
            GET DIAGNOSTICS touched = ROW_COUNT;
            IF touched <> 1 THEN
              RAISE EXCEPTION 'account % has no balance row', moved.account_id USING ERRCODE = 'P0001';
            END IF;
          ELSE
            INSERT INTO public.account_balance AS current (account_id, kind, shard, balance)
            VALUES (moved.account_id, moved.kind, floor(random() * shards)::smallint, moved.delta)
            ON CONFLICT (account_id, shard) DO UPDATE SET balance = current.balance + EXCLUDED.balance;
          END IF;
        END LOOP;
        RETURN NULL;
      END
      $fn$;
      REVOKE ALL ON FUNCTION posting_apply_to_balances() FROM PUBLIC;
      CREATE TRIGGER posting_moves_balances AFTER INSERT ON posting
        REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION posting_apply_to_balances();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER posting_moves_balances ON posting;
      DROP FUNCTION posting_apply_to_balances();
      ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM coalition_hub_app;
      ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM coalition_hub_app;
      REVOKE ALL ON ALL TABLES IN SCHEMA public FROM coalition_hub_app;
      REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM coalition_hub_app;
      REVOKE ALL ON SCHEMA public FROM coalition_hub_app;
    `);
  }
}
