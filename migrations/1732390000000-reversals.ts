import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reversals (refunds): a new entry linked to the one it reverses, never more than what is left
 * to reverse. Lots move back exactly: a reversed redemption returns points to the lots it took
 * them from (a negative consumption, which also undoes the obligation it created); a reversed
 * issue takes them back out of the lot it made. Consumption records now say why.
 */
export class Reversals1732390000000 implements MigrationInterface {
  name = 'Reversals1732390000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse'));

      ALTER TABLE journal_entry ADD COLUMN reverses_entry_id uuid REFERENCES journal_entry (id);
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire', 'reversal'));
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_reversal_check CHECK ((type = 'reversal') = (reverses_entry_id IS NOT NULL));
      CREATE INDEX journal_entry_reverses ON journal_entry (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;

      ALTER TABLE lot_consumption ADD COLUMN kind text NOT NULL DEFAULT 'redeem' CHECK (kind IN ('redeem', 'expire', 'reversal'));
      ALTER TABLE lot_consumption DISABLE TRIGGER lot_consumption_append_only;
      UPDATE lot_consumption SET kind = 'expire' WHERE consumer_partner_id IS NULL;
      ALTER TABLE lot_consumption ENABLE TRIGGER lot_consumption_append_only;
      ALTER TABLE lot_consumption ALTER COLUMN kind DROP DEFAULT;
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_amount_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_amount_check CHECK (amount <> 0 AND (kind = 'reversal' OR amount > 0));
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_consumer_check CHECK ((kind = 'expire') = (consumer_partner_id IS NULL));
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_consumer_check;
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_amount_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_amount_check CHECK (amount > 0);
      ALTER TABLE lot_consumption DROP COLUMN kind;
      DROP INDEX journal_entry_reverses;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_reversal_check;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire'));
      ALTER TABLE journal_entry DROP COLUMN reverses_entry_id;
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void'));
    `);
  }
}
