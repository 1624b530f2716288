import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transfers between members: wallet to wallet in one entry; the points' lots move with their
 * issuer and keep their expiry (a 'transfer' consumption on the sender's lot, a new lot for the
 * recipient made by the transfer entry).
 */
export class Transfers1732400000000 implements MigrationInterface {
  name = 'Transfers1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer'));
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_kind_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_kind_check CHECK (kind IN ('redeem', 'expire', 'reversal', 'transfer'));
      -- A lot a transfer made remembers the lot it came from.
      ALTER TABLE lot ADD COLUMN from_lot_id bigint REFERENCES lot (id);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE lot DROP COLUMN from_lot_id;
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_kind_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_kind_check CHECK (kind IN ('redeem', 'expire', 'reversal'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire', 'reversal'));
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse'));
    `);
  }
}
