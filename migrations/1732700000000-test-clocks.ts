import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Test clocks of a sandbox hub (docs/sandbox.md): a clock is a frozen time that moves only forward, and a
 * member attached to one lives on it. `member_now(member, real_now)` is the one place the database turns
 * "now" into a member's now, so every read of spendable, pending or expiring points and tiers uses it; a
 * member on real time gets `real_now` back.
 */
export class TestClocks1732700000000 implements MigrationInterface {
  name = 'TestClocks1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE test_clock (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        frozen_time timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        -- The hub's role deletes nothing (docs/security.md): a deleted clock is marked, and it had no members.
        deleted_at timestamptz,
        seq bigserial NOT NULL UNIQUE
      );
      ALTER TABLE member ADD COLUMN test_clock_id uuid REFERENCES test_clock (id);
      CREATE INDEX member_test_clock ON member (test_clock_id) WHERE test_clock_id IS NOT NULL;
      -- An account's owner_id is a member's uuid or a partner's or the hub's name: a job's predicate on it may be
      -- evaluated for every account, so anything but a uuid is no member rather than a cast error.
      CREATE FUNCTION member_uuid(owner_id text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN owner_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN owner_id::uuid END
      $$;
      CREATE FUNCTION member_now(member_id text, real_now timestamptz) RETURNS timestamptz LANGUAGE sql STABLE AS $$
        SELECT coalesce(
          (SELECT c.frozen_time FROM member m JOIN test_clock c ON c.id = m.test_clock_id WHERE m.id = member_uuid(member_id)),
          real_now)
      $$;
      CREATE FUNCTION member_test_clock(member_id text) RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT m.test_clock_id FROM member m WHERE m.id = member_uuid(member_id)
      $$;
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE test_clock FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE test_clock TO coalition_hub_app;
          GRANT UPDATE (frozen_time, deleted_at) ON test_clock TO coalition_hub_app;
          GRANT UPDATE (test_clock_id) ON member TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION member_test_clock(text);
      DROP FUNCTION member_now(text, timestamptz);
      DROP FUNCTION member_uuid(text);
      ALTER TABLE member DROP COLUMN test_clock_id;
      DROP TABLE test_clock;
    `);
  }
}
