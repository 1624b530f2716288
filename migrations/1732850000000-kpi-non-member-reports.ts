import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partners' reports of their non-member customers, per calendar month, for the member-lift KPI
 * (docs/kpis.md, "Member lift"). Append-only and versioned: a new report for the same partner and
 * month supersedes the earlier one from the time it was recorded, so a figure as of an earlier
 * time still uses what was known then. The hub's role may insert and read, never change or delete.
 */
export class KpiNonMemberReports1732850000000 implements MigrationInterface {
  name = 'KpiNonMemberReports1732850000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kpi_non_member_report (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        month date NOT NULL CHECK (extract(day FROM month) = 1 AND month >= DATE '1970-01-01'),
        customers bigint NOT NULL CHECK (customers >= 0),
        purchases bigint NOT NULL CHECK (purchases >= 0),
        spend_minor bigint NOT NULL CHECK (spend_minor >= 0),
        reported_by text NOT NULL,
        recorded_at timestamptz NOT NULL,
        -- Purchases need customers who made them, and spend purchases.
        CHECK (purchases = 0 OR customers > 0),
        CHECK (spend_minor = 0 OR purchases > 0)
      );
      -- The report in force for a partner and month as of a time: the latest recorded by then.
      CREATE INDEX kpi_non_member_report_in_force ON kpi_non_member_report (partner_id, month, recorded_at DESC, id DESC);
      CREATE INDEX kpi_non_member_report_month ON kpi_non_member_report (month);

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE kpi_non_member_report FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE kpi_non_member_report TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE kpi_non_member_report');
  }
}
