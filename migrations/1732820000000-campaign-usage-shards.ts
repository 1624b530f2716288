import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a campaign without a budget has awarded (docs/loyalty-engine.md, "Budgets"): spread over
 * sixteen rows per campaign, chosen by the member, instead of one campaign row that every activity
 * would update and so lock until its commit (one activity at a time, whatever the member). A
 * campaign with a budget still counts on its own row, locked, so that its cap holds exactly. What a
 * campaign has used is its row's count plus its shards.
 */
export class CampaignUsageShards1732820000000 implements MigrationInterface {
  name = 'CampaignUsageShards1732820000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE campaign_usage (
        campaign_id uuid NOT NULL REFERENCES campaign (id),
        shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
        points bigint NOT NULL CHECK (points >= 0),
        money_minor bigint NOT NULL CHECK (money_minor >= 0),
        PRIMARY KEY (campaign_id, shard)
      );
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE campaign_usage FROM coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE campaign_usage TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE campaign_usage');
  }
}
