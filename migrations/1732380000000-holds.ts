import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two-phase redemption: a hold takes points out of what a member can spend without moving them;
 * a capture redeems up to the held amount (an ordinary redemption entry), a void or the hold's
 * expiry gives them back. Nothing is posted until the capture.
 */
export class Holds1732380000000 implements MigrationInterface {
  name = 'Holds1732380000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void'));

      CREATE TABLE hold (
        id uuid PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        jti text NOT NULL,
        member_id uuid NOT NULL REFERENCES member (id),
        wallet_id bigint NOT NULL REFERENCES account (id),
        amount bigint NOT NULL CHECK (amount > 0),
        order_ref text CHECK (length(order_ref) <= 128),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'captured', 'voided')),
        captured bigint NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= amount),
        closed_at timestamptz,
        capture_entry_id uuid UNIQUE REFERENCES journal_entry (id),
        FOREIGN KEY (partner_id, jti) REFERENCES instruction (partner_id, jti),
        CHECK ((status = 'pending') = (closed_at IS NULL)),
        CHECK ((status = 'captured') = (capture_entry_id IS NOT NULL)),
        CHECK (status = 'captured' OR captured = 0)
      );
      -- What a wallet has on hold: pending holds not yet expired.
      CREATE INDEX hold_pending ON hold (wallet_id, expires_at) WHERE status = 'pending';

      -- A closed hold stays closed.
      CREATE FUNCTION hold_refuse_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.status <> 'pending' THEN
          RAISE EXCEPTION 'hold % is % and cannot change', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER hold_closed_stays_closed BEFORE UPDATE ON hold FOR EACH ROW EXECUTE FUNCTION hold_refuse_reopen();
      CREATE TRIGGER hold_no_delete BEFORE DELETE ON hold FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE hold;
      DROP FUNCTION hold_refuse_reopen;
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check CHECK (op IN ('enroll', 'issue', 'redeem'));
    `);
  }
}
