import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Persisted operations (docs/security.md, "Persisted operations"). A partner may be set to
 * safelist-only: its requests may then run only documents on its safelist, which is the partner
 * SDK's manifest plus the operations the operator registered for it here. A registered operation
 * is stored under the SHA-256 of its exact text, which the database checks too; registrations and
 * every change of the setting are kept, with who made them (append-only).
 */
export class PersistedOperations1732710000000 implements MigrationInterface {
  name = 'PersistedOperations1732710000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE partner ADD COLUMN safelist_only boolean NOT NULL DEFAULT false;
      CREATE TABLE partner_operation (
        partner_id text NOT NULL REFERENCES partner (id),
        id text NOT NULL CHECK (id ~ '^[0-9a-f]{64}$'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
        body text NOT NULL,
        registered_by text NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (partner_id, id),
        CHECK (encode(sha256(convert_to(body, 'UTF8')), 'hex') = id)
      );
      CREATE TABLE partner_safelist_change (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        safelist_only boolean NOT NULL,
        changed_by text NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX partner_safelist_change_partner ON partner_safelist_change (partner_id, id);
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE partner_operation, partner_safelist_change FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE partner_operation, partner_safelist_change TO coalition_hub_app;
          GRANT UPDATE (safelist_only) ON partner TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE partner_safelist_change;
      DROP TABLE partner_operation;
      ALTER TABLE partner DROP COLUMN safelist_only;
    `);
  }
}
