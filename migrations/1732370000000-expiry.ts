import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Expiry: a job, not a partner, makes `expire` entries, so such entries have no instruction
 * (jti and request hash are null, and only for them); the lots they consume go to the hub's
 * breakage, so a consumption may name no partner.
 */
export class Expiry1732370000000 implements MigrationInterface {
  name = 'Expiry1732370000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE journal_entry ALTER COLUMN jti DROP NOT NULL, ALTER COLUMN request_hash DROP NOT NULL;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire'));
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type = 'expire') = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE lot_consumption ALTER COLUMN consumer_partner_id DROP NOT NULL;
      -- The job finds wallets with lots past their expiry without reading every open lot.
      CREATE INDEX lot_expiring ON lot (expires_at) WHERE remaining > 0;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX lot_expiring;
      ALTER TABLE lot_consumption ALTER COLUMN consumer_partner_id SET NOT NULL;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem'));
      ALTER TABLE journal_entry ALTER COLUMN jti SET NOT NULL, ALTER COLUMN request_hash SET NOT NULL;
    `);
  }
}
