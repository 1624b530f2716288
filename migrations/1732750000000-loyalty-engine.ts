import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The loyalty engine (docs/loyalty-engine.md): partners' earn rules (versioned and effective-dated
 * like contracts, append-only), the categories a partner declares (each setting kept), campaigns with their partners
 * and funding shares and their budgets (consumed under a row lock), what each member has used of
 * rules' caps and campaigns' limits, and every activity (a purchase keeps what a return needs).
 */
export class LoyaltyEngine1732750000000 implements MigrationInterface {
  name = 'LoyaltyEngine1732750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer', 'acknowledge', 'dispute', 'activity'));

      CREATE TABLE earn_rule (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        rule_id text NOT NULL CHECK (rule_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
        version integer NOT NULL CHECK (version >= 1),
        valid_from timestamptz NOT NULL,
        active boolean NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        kind text NOT NULL CHECK (kind IN ('spend', 'action')),
        points_per_unit numeric(24, 12) CHECK (points_per_unit >= 0),
        unit_minor bigint CHECK (unit_minor > 0),
        category text,
        sku text,
        action text CHECK (action IN ('signup', 'profile_completed', 'review', 'referral_qualified', 'engagement')),
        points bigint CHECK (points >= 0),
        min_basket_minor bigint NOT NULL DEFAULT 0 CHECK (min_basket_minor >= 0),
        cap_per_day bigint CHECK (cap_per_day >= 0),
        cap_per_month bigint CHECK (cap_per_month >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (partner_id, rule_id, version),
        CHECK ((kind = 'spend') = (points_per_unit IS NOT NULL AND unit_minor IS NOT NULL AND action IS NULL AND points IS NULL)),
        CHECK ((kind = 'action') = (action IS NOT NULL AND points IS NOT NULL AND category IS NULL AND sku IS NULL)),
        CHECK (action IS DISTINCT FROM 'engagement' OR cap_per_day IS NOT NULL OR cap_per_month IS NOT NULL)
      );
      CREATE INDEX earn_rule_in_force ON earn_rule (partner_id, rule_id, valid_from DESC);

      -- Each setting of a partner's categories is kept (append-only); the latest is in force.
      CREATE TABLE earn_category_set (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        codes text[] NOT NULL CHECK (cardinality(codes) <= 1000),
        set_at timestamptz NOT NULL
      );
      CREATE INDEX earn_category_set_partner ON earn_category_set (partner_id, id DESC);

      CREATE TABLE campaign (
        id uuid PRIMARY KEY,
        version integer NOT NULL DEFAULT 1,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        kind text NOT NULL CHECK (kind IN ('multiplier', 'bonus')),
        multiplier numeric(24, 12) CHECK (multiplier >= 1),
        bonus_points bigint CHECK (bonus_points > 0),
        trigger text NOT NULL CHECK (trigger IN ('purchase', 'signup', 'profile_completed', 'review', 'referral_qualified', 'engagement')),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        time_zone text NOT NULL,
        target_kind text NOT NULL CHECK (target_kind IN ('all', 'tiers', 'new_at_partner')),
        target_tiers text[] NOT NULL DEFAULT '{}',
        stacking text NOT NULL CHECK (stacking IN ('stackable', 'exclusive')),
        priority integer NOT NULL DEFAULT 0,
        per_member_limit integer CHECK (per_member_limit > 0),
        points_cap bigint CHECK (points_cap >= 0),
        points_used bigint NOT NULL DEFAULT 0,
        money_cap_minor bigint CHECK (money_cap_minor >= 0),
        money_used_minor bigint NOT NULL DEFAULT 0,
        strict boolean NOT NULL DEFAULT false,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at > starts_at),
        CHECK ((kind = 'multiplier') = (multiplier IS NOT NULL AND bonus_points IS NULL)),
        CHECK (points_used >= 0 AND (points_cap IS NULL OR points_used <= points_cap)),
        CHECK (money_used_minor >= 0 AND (money_cap_minor IS NULL OR money_used_minor <= money_cap_minor))
      );

      CREATE TABLE campaign_partner (
        campaign_id uuid NOT NULL REFERENCES campaign (id),
        partner_id text NOT NULL REFERENCES partner (id),
        share numeric(24, 12) NOT NULL CHECK (share > 0 AND share <= 1),
        PRIMARY KEY (campaign_id, partner_id)
      );
      CREATE INDEX campaign_partner_partner ON campaign_partner (partner_id);

      CREATE TABLE campaign_member (
        campaign_id uuid NOT NULL REFERENCES campaign (id),
        member_id uuid NOT NULL,
        awards integer NOT NULL,
        points bigint NOT NULL,
        PRIMARY KEY (campaign_id, member_id)
      );

      CREATE TABLE earn_usage (
        member_id uuid NOT NULL,
        partner_id text NOT NULL,
        rule_id text NOT NULL,
        period text NOT NULL,
        points bigint NOT NULL,
        PRIMARY KEY (member_id, partner_id, rule_id, period)
      );

      CREATE TABLE activity (
        id uuid PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        jti text NOT NULL,
        member_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('purchase', 'return', 'action')),
        action text,
        order_ref text,
        total_minor bigint NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
        currency text,
        returned_minor bigint NOT NULL DEFAULT 0 CHECK (returned_minor >= 0 AND returned_minor <= total_minor),
        purchase_id uuid REFERENCES activity (id),
        entry_id uuid REFERENCES journal_entry (id),
        points bigint NOT NULL,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        detail jsonb NOT NULL,
        CHECK ((kind = 'return') = (purchase_id IS NOT NULL))
      );
      CREATE UNIQUE INDEX activity_purchase_order ON activity (partner_id, order_ref) WHERE kind = 'purchase' AND order_ref IS NOT NULL;
      CREATE INDEX activity_member_partner ON activity (member_id, partner_id) WHERE kind = 'purchase';
      CREATE INDEX activity_entry ON activity (entry_id) WHERE entry_id IS NOT NULL;

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE earn_rule, earn_category_set, campaign, campaign_partner, campaign_member, earn_usage, activity FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE earn_rule, earn_category_set, campaign_partner TO coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE campaign, activity TO coalition_hub_app;
          GRANT UPDATE (points_used, money_used_minor, ends_at) ON campaign TO coalition_hub_app;
          GRANT UPDATE (returned_minor) ON activity TO coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE campaign_member, earn_usage TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE activity;
      DROP TABLE earn_usage;
      DROP TABLE campaign_member;
      DROP TABLE campaign_partner;
      DROP TABLE campaign;
      DROP TABLE earn_category_set;
      DROP TABLE earn_rule;
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer', 'acknowledge', 'dispute'));
    `);
  }
}
