import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Campaign holdout groups (docs/loyalty-engine.md, "Holdout"): the share of members a campaign leaves
 * out, from 0 (none, what every existing campaign keeps) to 0.5, set when it is made and never
 * changed, so that a member stays on the same side for the campaign's whole life. Which members are
 * held out is not stored: it is a function of the campaign and member ids (src/engine/holdout.ts);
 * the activities a campaign held a member out of say so in their detail (`heldOut`).
 */
export class CampaignHoldout1732860000000 implements MigrationInterface {
  name = 'CampaignHoldout1732860000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE campaign ADD COLUMN holdout_share numeric(24, 12) NOT NULL DEFAULT 0
        CONSTRAINT campaign_holdout_share CHECK (holdout_share >= 0 AND holdout_share <= 0.5);
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          -- The hub writes the share once, with the campaign; only the usage columns and the end are ever updated.
          REVOKE ALL ON TABLE campaign FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE campaign TO coalition_hub_app;
          GRANT UPDATE (points_used, money_used_minor, ends_at) ON campaign TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE campaign DROP COLUMN holdout_share');
  }
}
