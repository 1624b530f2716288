import type { MigrationInterface, QueryRunner } from 'typeorm';
import { EVENT_TYPES } from '@coalition-hub/partner-sdk';

const typeList = EVENT_TYPES.map((type) => `'${type}'`).join(', ');

/**
 * The event outbox (docs/events.md). Every change a partner or member cares about writes one row
 * here in the same transaction as the change, so a committed change always has its event and a
 * rolled-back one never does. The table is append-only for the hub's role.
 *
 * Order: `tx_id` is the writing transaction's id and `seq` the row's place in it. A reader only
 * sees rows whose transaction is older than every transaction still running
 * (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`), so ordering by (tx_id, seq) never lets a
 * later commit slip in behind a cursor already handed out.
 */
export class Events1732500000000 implements MigrationInterface {
  name = 'Events1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE event (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        id uuid NOT NULL PRIMARY KEY,
        type text NOT NULL CHECK (type IN (${typeList})),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        occurred_at timestamptz NOT NULL,
        partner_id text NOT NULL REFERENCES partner (id),
        member_id uuid,
        data jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(data) = 'object')
      );
      CREATE UNIQUE INDEX event_position ON event (tx_id, seq);
      CREATE INDEX event_partner_position ON event (partner_id, tx_id, seq);
      CREATE FUNCTION event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'event rows are append-only' USING ERRCODE = 'restrict_violation';
      END $$;
      CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event
        FOR EACH ROW EXECUTE FUNCTION event_is_append_only();
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE event FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE event TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE event; DROP FUNCTION event_is_append_only()');
  }
}
