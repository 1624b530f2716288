import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each member earned towards its tier, per UTC day (docs/ledger.md, "Tiers"): kept up to date in the
 * transaction of every issue and every reversal of an issue, so a tier is the sum of at most a window's
 * days instead of a sum over the member's history. The first and last times counted in a day let the two
 * days at the edges of the window be counted exactly. Existing entries are counted in once, here.
 */
export class MemberEarnedDays1732620000000 implements MigrationInterface {
  name = 'MemberEarnedDays1732620000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE member_earned_day (
        member_id uuid NOT NULL REFERENCES member (id),
        day date NOT NULL,
        earned bigint NOT NULL,
        first_at timestamptz NOT NULL,
        last_at timestamptz NOT NULL,
        PRIMARY KEY (member_id, day),
        CHECK (first_at <= last_at),
        CHECK ((first_at AT TIME ZONE 'UTC')::date = day AND (last_at AT TIME ZONE 'UTC')::date = day)
      );
      INSERT INTO member_earned_day (member_id, day, earned, first_at, last_at)
      SELECT e.member_id, (e.recorded_at AT TIME ZONE 'UTC')::date,
             sum(CASE WHEN e.type = 'issue' AND e.rates ? 'baseAmount' THEN (e.rates->>'baseAmount')::bigint ELSE p.amount END),
             min(e.recorded_at), max(e.recorded_at)
      FROM journal_entry e
      JOIN posting p ON p.entry_id = e.id
      JOIN account a ON a.id = p.account_id AND a.owner_kind = 'member' AND a.owner_id = e.member_id::text AND a.asset = 'CP' AND a.kind = 'wallet'
      WHERE e.type = 'issue' OR (e.type = 'reversal' AND EXISTS (SELECT 1 FROM journal_entry o WHERE o.id = e.reverses_entry_id AND o.type = 'issue'))
      GROUP BY 1, 2;
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE member_earned_day FROM coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE member_earned_day TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE member_earned_day');
  }
}
