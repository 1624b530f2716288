import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * KPI figure bases (docs/kpis.md, "Bases"). A `kpis` query no longer recomputes every member's
 * figures per request: the raw counters are sums over members, so the answer as of asOf is a
 * stored base as of an earlier T, minus what the members changed since T contributed at T, plus
 * what they contribute at asOf.
 *
 * - `kpi_figures_base`: the raw counters (jsonb) of one scope, effective period, segment and
 *   lifecycle thresholds, as of `as_of`. Written by the refresh job (at most one an hour per
 *   combination, unless many members changed), never updated nor deleted.
 * - `kpi_figures_wanted`: combinations asked for recently that have no base, so that the refresh
 *   job prepares bases for them too (the dashboards' defaults it prepares anyway).
 *
 * Indexes: the rollup by member (the changed members' rows), and the times at which referrals are
 * made and qualified and entitlements created (finding the members changed since a base).
 */
export class KpiFigureBases1732840000000 implements MigrationInterface {
  name = 'KpiFigureBases1732840000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE kpi_figures_base (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL,
        period_start date NOT NULL,
        period_end date NOT NULL,
        stage text NOT NULL,
        channel text NOT NULL,
        window_months integer NOT NULL,
        loyal_min_purchases integer NOT NULL,
        loyal_months integer NOT NULL,
        as_of timestamptz NOT NULL,
        figures jsonb NOT NULL,
        computed_at timestamptz NOT NULL,
        CHECK (period_start < period_end),
        UNIQUE (partner_id, period_start, period_end, stage, channel, window_months, loyal_min_purchases, loyal_months, as_of)
      );

      CREATE TABLE kpi_figures_wanted (
        partner_id text NOT NULL,
        period_from date NOT NULL,
        period_to date NOT NULL,
        stage text NOT NULL,
        channel text NOT NULL,
        asked_at timestamptz NOT NULL,
        PRIMARY KEY (partner_id, period_from, period_to, stage, channel)
      );

      -- With what the figures read, so that a changed member's rows come from the index alone.
      CREATE INDEX kpi_member_day_member ON kpi_member_day (member_id, day) INCLUDE (partner_id, purchases, spend_minor, earns, burns);
      CREATE INDEX kpi_member_fact_member ON kpi_member_fact (member_id);
      CREATE INDEX referral_created ON referral (created_at);
      CREATE INDEX referral_qualified ON referral (qualified_at) WHERE qualified_at IS NOT NULL;
      CREATE INDEX entitlement_created ON entitlement (created_at);

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE kpi_figures_base, kpi_figures_wanted FROM coalition_hub_app;
          -- Append-only, like everything the hub's role writes but rate-limit windows: a base is never changed or deleted.
          GRANT SELECT, INSERT ON TABLE kpi_figures_base TO coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE kpi_figures_wanted TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX entitlement_created;
      DROP INDEX referral_qualified;
      DROP INDEX referral_created;
      DROP INDEX kpi_member_fact_member;
      DROP INDEX kpi_member_day_member;
      DROP TABLE kpi_figures_wanted;
      DROP TABLE kpi_figures_base;
    `);
  }
}
