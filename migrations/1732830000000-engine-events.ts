import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The event types this migration adds (docs/events.md): a referral's bonuses paid, a stamp card completed. */
const ADDED = ['referral.bonus_paid', 'stamps.card_completed'];

/**
 * The checks of the event feed and of webhook endpoints list every event type; they were made from
 * the SDK's EVENT_TYPES when their migrations ran, so a database migrated before this one gets the
 * new types added to them here (a new database has them already).
 */
export class EngineEvents1732830000000 implements MigrationInterface {
  name = 'EngineEvents1732830000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const type of ADDED) await queryRunner.query(patch(type, 'add'));
  }

  /** Fails while events of these types exist (the feed is append-only): they would no longer be valid. */
  async down(queryRunner: QueryRunner): Promise<void> {
    for (const type of ADDED) await queryRunner.query(patch(type, 'remove'));
  }
}

/** Rewrites every CHECK that lists 'points.issued' to list `type` too (or no longer). */
function patch(type: string, how: 'add' | 'remove'): string {
  const listed = `''${type}''::text`;
  return `
    DO $events$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
               WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''points.issued''::text%'
                 AND pg_get_constraintdef(oid) ${how === 'add' ? 'NOT LIKE' : 'LIKE'} '%${type}%'
      LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname,
                       ${
                         how === 'add'
                           ? `replace(r.def, '''points.issued''::text', '''points.issued''::text, ${listed}')`
                           : `replace(r.def, ', ${listed}', '')`
                       });
      END LOOP;
    END $events$;`;
}
