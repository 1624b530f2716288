import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pending points: a partner with a return window (contract pending_days) issues lots that vest
 * later. They count in the balance but not in what can be spent until vests_at; a refund inside
 * the window takes them back out of that lot. What a wallet cannot spend now — points on hold
 * and points not yet vested — is one function, so every debit asks the same question.
 */
export class PendingPoints1732420000000 implements MigrationInterface {
  name = 'PendingPoints1732420000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE lot ADD COLUMN vests_at timestamptz;
      ALTER TABLE lot ADD CONSTRAINT lot_vests_check CHECK (vests_at IS NULL OR (vests_at > issued_at AND vests_at <= expires_at));
      CREATE INDEX lot_pending ON lot (account_id, vests_at) WHERE vests_at IS NOT NULL AND remaining > 0;

      CREATE FUNCTION wallet_reserved(wallet bigint, at timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
        SELECT coalesce((SELECT sum(amount) FROM hold WHERE wallet_id = wallet AND status = 'pending' AND expires_at > at), 0)
             + coalesce((SELECT sum(remaining) FROM lot WHERE account_id = wallet AND vests_at > at AND remaining > 0), 0)
      $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION wallet_reserved;
      DROP INDEX lot_pending;
      ALTER TABLE lot DROP CONSTRAINT lot_vests_check;
      ALTER TABLE lot DROP COLUMN vests_at;
    `);
  }
}
