import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * KPI rollups (docs/kpis.md). The KPI queries read these instead of scanning the activity table
 * and the journal on every request:
 *
 * - `kpi_member_day`: per partner, member and UTC day the hub recorded it, the purchases and their
 *   basket total, and the earn and burn entries with their points. A day is recomputed whole and
 *   written over (upsert) by the refresh job, so a run is idempotent; what it counts is append-only,
 *   so a row never has to go, and the hub's role may not delete here either.
 * - `kpi_member_fact`: per partner and member, when it enrolled there and the channel and time of
 *   its first purchase there.
 * - `kpi_refresh_state`: the watermark (days before `complete_before` are final in the rollup).
 * - `kpi_settings`: the CLV inputs per partner and for the coalition (partner_id ''), and the
 *   coalition's lifecycle thresholds; append-only, each row in force from `set_at`.
 *
 * Indexes let the refresh read one day of activities and the queries find whether a partner sends
 * purchase activities at all. Enrolments now take their time from the hub's clock (the enroll
 * operation writes `member_link.created_at`), like entries and activities.
 */
export class KpiRollups1732800000000 implements MigrationInterface {
  name = 'KpiRollups1732800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kpi_member_day (
        partner_id text NOT NULL,
        day date NOT NULL,
        member_id uuid NOT NULL,
        purchases integer NOT NULL CHECK (purchases >= 0),
        spend_minor bigint NOT NULL CHECK (spend_minor >= 0),
        earns integer NOT NULL CHECK (earns >= 0),
        burns integer NOT NULL CHECK (burns >= 0),
        points_earned bigint NOT NULL,
        points_burned bigint NOT NULL,
        PRIMARY KEY (partner_id, day, member_id)
      );
      CREATE INDEX kpi_member_day_day ON kpi_member_day (day);

      CREATE TABLE kpi_member_fact (
        partner_id text NOT NULL,
        member_id uuid NOT NULL,
        enrolled_at timestamptz NOT NULL,
        first_purchase_at timestamptz,
        first_channel text,
        PRIMARY KEY (partner_id, member_id)
      );
      CREATE INDEX kpi_member_fact_enrolled ON kpi_member_fact (enrolled_at);

      CREATE TABLE kpi_refresh_state (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        complete_before date NOT NULL,
        refreshed_at timestamptz NOT NULL,
        enrolments_through timestamptz NOT NULL
      );

      -- Append-only: a figure as of a date uses the settings in force then, so it stays reproducible.
      CREATE TABLE kpi_settings (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL CHECK (partner_id = '' OR partner_id ~ '^[A-Z][A-Z0-9_]{1,31}$'),
        margin numeric(24, 12) CHECK (margin >= 0 AND margin <= 1),
        monthly_discount_rate numeric(24, 12) CHECK (monthly_discount_rate >= 0 AND monthly_discount_rate <= 1),
        lifecycle_window_months integer CHECK (lifecycle_window_months BETWEEN 1 AND 36),
        loyal_min_purchases integer CHECK (loyal_min_purchases BETWEEN 1 AND 1000),
        loyal_months integer CHECK (loyal_months BETWEEN 1 AND 36),
        set_by text NOT NULL,
        set_at timestamptz NOT NULL,
        CHECK (partner_id = '' OR (lifecycle_window_months IS NULL AND loyal_min_purchases IS NULL AND loyal_months IS NULL)),
        CHECK (loyal_months IS NULL OR lifecycle_window_months IS NULL OR loyal_months <= lifecycle_window_months)
      );
      CREATE INDEX kpi_settings_in_force ON kpi_settings (partner_id, set_at DESC, id DESC);

      CREATE INDEX activity_recorded ON activity (recorded_at);
      CREATE INDEX activity_partner_purchase_recorded ON activity (partner_id, recorded_at) WHERE kind = 'purchase';
      CREATE INDEX journal_entry_recorded ON journal_entry (recorded_at);
      CREATE INDEX member_link_created ON member_link (created_at);

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE kpi_member_day, kpi_member_fact, kpi_refresh_state, kpi_settings FROM coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE kpi_member_day, kpi_member_fact TO coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE kpi_refresh_state TO coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE kpi_settings TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX member_link_created;
      DROP INDEX journal_entry_recorded;
      DROP INDEX activity_partner_purchase_recorded;
      DROP INDEX activity_recorded;
      DROP TABLE kpi_settings;
      DROP TABLE kpi_refresh_state;
      DROP TABLE kpi_member_fact;
      DROP TABLE kpi_member_day;
    `);
  }
}
