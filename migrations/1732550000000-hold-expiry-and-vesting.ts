import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Holds and pending points mature on the job queue (docs/operations.md, "Jobs"):
 *
 * - A pending hold past its `expires_at` is closed as `expired` by the hold-expiry job (closed_at
 *   = expires_at), which also writes `hold.expired`. Until the job gets to it, a hold past its
 *   time counts as expired anyway (nothing reads an unexpired-but-due hold as held).
 * - A lot issued inside a return window becomes spendable at `vests_at`; the vesting job marks it
 *   `vesting_announced_at` when it writes `points.vested`, so each vesting is announced once. Lots
 *   that vested before this migration are marked as announced (no burst of old news).
 *
 * The hub's role may set just these: hold status/closed_at it could already; lot's new column.
 */
export class HoldExpiryAndVesting1732550000000 implements MigrationInterface {
  name = 'HoldExpiryAndVesting1732550000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE hold DROP CONSTRAINT hold_status_check;
      ALTER TABLE hold ADD CONSTRAINT hold_status_check CHECK (status IN ('pending', 'captured', 'voided', 'expired'));
      ALTER TABLE hold ADD CONSTRAINT hold_expired_after_expiry CHECK (status <> 'expired' OR closed_at >= expires_at);
      CREATE INDEX hold_expiring ON hold (expires_at) WHERE status = 'pending';

      ALTER TABLE lot ADD COLUMN vesting_announced_at timestamptz;
      ALTER TABLE lot ADD CONSTRAINT lot_vesting_announced_check CHECK (vesting_announced_at IS NULL OR vests_at IS NOT NULL);
      UPDATE lot SET vesting_announced_at = vests_at WHERE vests_at <= now();
      CREATE INDEX lot_vesting_due ON lot (vests_at) WHERE vests_at IS NOT NULL AND vesting_announced_at IS NULL AND remaining > 0;

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          GRANT UPDATE (vesting_announced_at) ON lot TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX lot_vesting_due;
      ALTER TABLE lot DROP COLUMN vesting_announced_at;
      DROP INDEX hold_expiring;
      ALTER TABLE hold DROP CONSTRAINT hold_expired_after_expiry;
      ALTER TABLE hold DROP CONSTRAINT hold_status_check;
      ALTER TABLE hold ADD CONSTRAINT hold_status_check CHECK (status IN ('pending', 'captured', 'voided'));
    `);
  }
}
