import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rewards catalogue (docs/rewards.md). A partner publishes rewards priced in CP; a member (or a
 * partner on the member's behalf) redeems one: a `reward` journal entry takes the points from the
 * member's wallet to the providing partner's redemption account and settles to that partner at its
 * declared cost, and an entitlement (a single-use voucher code with an expiry) is written with it.
 * An entitlement left unused past its expiry is refunded by a `reward_refund` entry when the
 * reward's policy says so. Stock never goes below zero (CHECK), nor an entitlement used twice.
 *
 * The two entry types are added to the CHECKs on journal_entry, and the two signed ops to the
 * one on instruction, as they stand (whatever other migrations added); both entry types carry no jti: a signed redemption's instruction names its entry
 * (instruction.entry_id), a member's redemption is keyed by the member's idempotency key.
 */
export class RewardsCatalogue1732760000000 implements MigrationInterface {
  name = 'RewardsCatalogue1732760000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE reward (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        partner_id text NOT NULL REFERENCES partner (id),
        kind text NOT NULL CHECK (kind IN ('product', 'discount', 'service', 'experience', 'tier_perk')),
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
        price_points bigint NOT NULL CHECK (price_points > 0),
        stock bigint CHECK (stock >= 0),
        valid_from timestamptz NOT NULL,
        valid_until timestamptz CHECK (valid_until IS NULL OR valid_until > valid_from),
        min_tier text,
        tiers text[],
        coalition_wide boolean NOT NULL,
        cost_minor bigint NOT NULL CHECK (cost_minor >= 0),
        cost_currency text NOT NULL CHECK (cost_currency ~ '^[A-Z]{3}$'),
        entitlement_days integer NOT NULL CHECK (entitlement_days BETWEEN 1 AND 3660),
        refund_policy text NOT NULL CHECK (refund_policy IN ('full', 'none')),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX reward_partner ON reward (partner_id, seq);

      CREATE TABLE entitlement (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        reward_id uuid NOT NULL REFERENCES reward (id),
        partner_id text NOT NULL REFERENCES partner (id),
        member_id uuid NOT NULL REFERENCES member (id),
        code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z2-7]{26}$'),
        price_points bigint NOT NULL CHECK (price_points > 0),
        cost_minor bigint NOT NULL CHECK (cost_minor >= 0),
        cost_currency text NOT NULL,
        refund_policy text NOT NULL CHECK (refund_policy IN ('full', 'none')),
        entry_id uuid NOT NULL UNIQUE REFERENCES journal_entry (id),
        requested_by text NOT NULL REFERENCES partner (id),
        jti text,
        idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
        status text NOT NULL CHECK (status IN ('issued', 'used', 'expired', 'refunded')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
        used_at timestamptz,
        used_jti text,
        refund_entry_id uuid UNIQUE REFERENCES journal_entry (id),
        closed_at timestamptz,
        UNIQUE (member_id, idempotency_key),
        UNIQUE (requested_by, jti),
        CHECK ((status = 'used') = (used_at IS NOT NULL)),
        CHECK ((status = 'refunded') = (refund_entry_id IS NOT NULL)),
        CHECK ((status IN ('expired', 'refunded')) = (closed_at IS NOT NULL))
      );
      CREATE INDEX entitlement_member ON entitlement (member_id, seq);
      CREATE INDEX entitlement_partner ON entitlement (partner_id, seq);
      CREATE INDEX entitlement_due ON entitlement (expires_at) WHERE status = 'issued';

      DO $types$
      DECLARE
        type_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'journal_entry_type_check');
        instruction_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'journal_entry_instruction_check');
        op_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'instruction_op_check');
      BEGIN
        ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
        EXECUTE 'ALTER TABLE instruction ADD CONSTRAINT instruction_op_check '
          || replace(op_check, 'ARRAY[', 'ARRAY[''redeem_reward''::text, ''use_entitlement''::text, ');
        -- Added to the lists as they stand: CHECK ((type = ANY (ARRAY['issue'::text, …]))).
        ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
        EXECUTE 'ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check '
          || replace(type_check, 'ARRAY[', 'ARRAY[''reward''::text, ''reward_refund''::text, ');
        ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
        EXECUTE 'ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check '
          || replace(instruction_check, 'ARRAY[', 'ARRAY[''reward''::text, ''reward_refund''::text, ');
      END $types$;

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE reward, entitlement FROM coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE reward, entitlement TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE entitlement;
      DROP TABLE reward;
      DO $types$
      DECLARE
        type_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'journal_entry_type_check');
        instruction_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'journal_entry_instruction_check');
        op_check text := (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'instruction_op_check');
      BEGIN
        ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
        EXECUTE 'ALTER TABLE instruction ADD CONSTRAINT instruction_op_check '
          || replace(op_check, '''redeem_reward''::text, ''use_entitlement''::text, ', '');
        ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
        EXECUTE 'ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check '
          || replace(type_check, '''reward''::text, ''reward_refund''::text, ', '');
        ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
        EXECUTE 'ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check '
          || replace(instruction_check, '''reward''::text, ''reward_refund''::text, ', '');
      END $types$;
    `);
  }
}
