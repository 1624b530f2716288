import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rate-limit counters shared by every hub instance on this database (docs/observability.md,
 * "Rate limits"). The columns are the ones rate-limiter-flexible's PostgreSQL store reads and
 * writes: `key` is `<limit>:<partner id or client address>`, `points` the requests counted in
 * the current window, `expire` the window's end in epoch milliseconds. The hub is told the table
 * exists (its runtime role creates nothing). UNLOGGED: counters a few seconds long need no WAL
 * and no crash safety; after a crash the table is empty and every window starts afresh.
 */
export class RateLimits1732480000000 implements MigrationInterface {
  name = 'RateLimits1732480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE UNLOGGED TABLE rate_limit (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      );
      CREATE INDEX rate_limit_expire ON rate_limit (expire);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE rate_limit');
  }
}
