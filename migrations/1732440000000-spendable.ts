import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a wallet cannot spend now also counts lots already past their expiry that the expiry job
 * has not swept yet (they are breakage in waiting, never spendable). And an entry can name a
 * second member — the recipient of a transfer — so that it shows in both members' histories.
 */
export class Spendable1732440000000 implements MigrationInterface {
  name = 'Spendable1732440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION wallet_reserved(wallet bigint, at timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
        SELECT coalesce((SELECT sum(amount) FROM hold WHERE wallet_id = wallet AND status = 'pending' AND expires_at > at), 0)
             + coalesce((SELECT sum(remaining) FROM lot WHERE account_id = wallet AND remaining > 0 AND (vests_at > at OR expires_at <= at)), 0)
      $$;
      ALTER TABLE journal_entry ADD COLUMN counter_member_id uuid REFERENCES member (id);
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_counter_member_check CHECK ((type = 'transfer') = (counter_member_id IS NOT NULL));
      CREATE INDEX journal_entry_counter_member ON journal_entry (counter_member_id, seq) WHERE counter_member_id IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX journal_entry_counter_member;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_counter_member_check;
      ALTER TABLE journal_entry DROP COLUMN counter_member_id;
      CREATE OR REPLACE FUNCTION wallet_reserved(wallet bigint, at timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
        SELECT coalesce((SELECT sum(amount) FROM hold WHERE wallet_id = wallet AND status = 'pending' AND expires_at > at), 0)
             + coalesce((SELECT sum(remaining) FROM lot WHERE account_id = wallet AND vests_at > at AND remaining > 0), 0)
      $$;
    `);
  }
}
