import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exchange between partner programs and CP. A member executes a hub-signed quote (no partner
 * instruction: the entry has no jti, and the quote is the idempotency key). What rounding keeps
 * back or adds is booked, exactly, to the hub's rounding account: a decimal residual per entry.
 */
export class Exchange1732410000000 implements MigrationInterface {
  name = 'Exchange1732410000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check
        CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN ('expire', 'exchange')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_kind_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_kind_check
        CHECK (kind IN ('redeem', 'expire', 'reversal', 'transfer', 'exchange'));

      -- One execution per quote: the quote id is the idempotency key of a member's exchange.
      CREATE TABLE exchange (
        quote_id uuid PRIMARY KEY,
        member_id uuid NOT NULL REFERENCES member (id),
        quote_jws text NOT NULL,
        executed_at timestamptz NOT NULL,
        entry_id uuid UNIQUE REFERENCES journal_entry (id) DEFERRABLE INITIALLY DEFERRED,
        result jsonb
      );

      CREATE TABLE rounding_booking (
        entry_id uuid PRIMARY KEY REFERENCES journal_entry (id),
        residual_cp numeric(30, 12) NOT NULL
      );
      CREATE TRIGGER rounding_booking_append_only BEFORE UPDATE OR DELETE ON rounding_booking
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE rounding_booking, exchange;
      ALTER TABLE lot_consumption DROP CONSTRAINT lot_consumption_kind_check;
      ALTER TABLE lot_consumption ADD CONSTRAINT lot_consumption_kind_check CHECK (kind IN ('redeem', 'expire', 'reversal', 'transfer'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type = 'expire') = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer'));
    `);
  }
}
