import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tier multipliers per contract version, e.g. {"Silver": "1.5", "Gold": "2"} (exact decimals as strings). */
export class Tiers1732430000000 implements MigrationInterface {
  name = 'Tiers1732430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE partner_contract ADD COLUMN tier_multipliers jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(tier_multipliers) = 'object');
      -- A member's earnings in the tier window: issues by member and time.
      CREATE INDEX journal_entry_member_recorded ON journal_entry (member_id, recorded_at) WHERE type IN ('issue', 'reversal');
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX journal_entry_member_recorded;
      ALTER TABLE partner_contract DROP COLUMN tier_multipliers;
    `);
  }
}
