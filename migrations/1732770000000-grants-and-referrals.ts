import type { MigrationInterface, QueryRunner } from 'typeorm';

// The lists as the earlier migrations left them (the rewards catalogue's entry types and ops included).
const OLD_TYPES = `'issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange', 'adjustment', 'funding', 'reward', 'reward_refund'`;
const OLD_UNSIGNED = `'expire', 'exchange', 'adjustment', 'funding', 'reward', 'reward_refund'`;
const OLD_OPS = `'enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer', 'acknowledge', 'dispute', 'activity', 'redeem_reward', 'use_entitlement'`;

/** The refusal of apply_cp_movement that hands an issue to the TypeScript path (migration 1732730000000). */
const HAND_BACK = `IF v_issue AND (v_t.funding_mode = 'prepaid' OR v_t.net_debit_cap_minor IS NOT NULL) THEN`;
const HAND_BACK_REFERRALS = `IF v_issue AND (v_t.funding_mode = 'prepaid' OR v_t.net_debit_cap_minor IS NOT NULL
             OR (p_order_ref IS NOT NULL AND EXISTS (SELECT 1 FROM referral r WHERE r.referee_id = v_t.member_id AND r.qualified_at IS NULL))) THEN`;
const SIGNATURE = `apply_cp_movement(text, text, text, text, text, text, timestamptz, text, bigint, text, timestamptz, uuid, integer, text[], bigint[], timestamptz)`;

/** Rewrites the function's definition, replacing `from` by `to` (exactly once, or the migration fails). */
const patchMovementFunction = (from: string, to: string) => `
  DO $patch$
  DECLARE
    v_def text := pg_get_functiondef('${SIGNATURE}'::regprocedure);
    v_new text;
  BEGIN
    v_new := replace(v_def, ${dollar(from)}, ${dollar(to)});
    IF v_new = v_def OR length(v_new) - length(v_def) <> ${to.length - from.length} THEN
      RAISE EXCEPTION 'apply_cp_movement does not read as expected: its hand-back of issues was not found once';
    END IF;
    EXECUTE v_new;
  END $patch$;`;

function dollar(text: string): string {
  return `$q$${text}$q$`;
}

/**
 * Grants with reasons and referrals (docs/grants-and-referrals.md).
 *
 * - Two entry types: `grant` (a partner's signed grantPoints: its jti, like an issue) and `referral`
 *   (a referral bonus the hub pays on a referee's first qualifying purchase, at the programme's
 *   paying partner: no instruction of that partner, so no jti, like an exchange).
 * - `grant_policy` (per partner, set by the operator), `grant_budget` (one row per partner and UTC
 *   month: the row lock that serialises the caps and budget checks) and `member_grant` (one row per
 *   grant: kind, reason code, case reference, note).
 * - `referral_code` (a member's code), `referral_programme` (one row, set by the operator) and
 *   `referral` (referee → referrer; qualified once, with the two bonus entries).
 * - apply_cp_movement hands an issue with an order reference back to the TypeScript path while its
 *   member is a referee whose referral has not qualified yet (CH009), so that the first qualifying
 *   purchase pays the bonuses (src/referrals/referrals.ts). Its definition is patched in place, so
 *   that it stays the one of migration 1732730000000 but for that line.
 */
export class GrantsAndReferrals1732770000000 implements MigrationInterface {
  name = 'GrantsAndReferrals1732770000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN (${OLD_TYPES}, 'grant', 'referral'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN (${OLD_UNSIGNED}, 'referral')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check CHECK (op IN (${OLD_OPS}, 'grant'));

      CREATE TABLE grant_policy (
        partner_id text PRIMARY KEY REFERENCES partner (id),
        member_cap_points bigint NOT NULL CHECK (member_cap_points > 0),
        period_cap_grants integer NOT NULL CHECK (period_cap_grants > 0),
        budget_points bigint NOT NULL CHECK (budget_points > 0),
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE grant_budget (
        partner_id text NOT NULL REFERENCES partner (id),
        period text NOT NULL CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
        grants integer NOT NULL DEFAULT 0 CHECK (grants >= 0),
        points bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
        PRIMARY KEY (partner_id, period)
      );
      CREATE TABLE member_grant (
        entry_id uuid PRIMARY KEY REFERENCES journal_entry (id),
        seq bigint NOT NULL,
        partner_id text NOT NULL REFERENCES partner (id),
        member_id uuid NOT NULL REFERENCES member (id),
        period text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('compensation', 'surprise_and_delight')),
        reason_code text NOT NULL CHECK (reason_code IN ('late_delivery', 'damaged_item', 'service_failure', 'goodwill', 'other')),
        case_reference text CHECK (length(case_reference) <= 128),
        note text CHECK (length(note) <= 500),
        amount bigint NOT NULL CHECK (amount > 0),
        granted_at timestamptz NOT NULL,
        CHECK (kind <> 'compensation' OR case_reference IS NOT NULL)
      );
      CREATE INDEX member_grant_partner ON member_grant (partner_id, seq);
      CREATE INDEX member_grant_usage ON member_grant (partner_id, period, member_id);

      CREATE TABLE referral_code (
        member_id uuid PRIMARY KEY REFERENCES member (id),
        code text NOT NULL UNIQUE CHECK (code ~ '^[0-9A-Z]{12}$'),
        created_at timestamptz NOT NULL
      );
      CREATE TABLE referral_programme (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        partner_id text NOT NULL REFERENCES partner (id),
        referrer_bonus bigint NOT NULL CHECK (referrer_bonus > 0),
        referee_bonus bigint NOT NULL CHECK (referee_bonus > 0),
        cap_per_referrer integer NOT NULL CHECK (cap_per_referrer > 0),
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE referral (
        referee_id uuid PRIMARY KEY REFERENCES member (id),
        referrer_id uuid NOT NULL REFERENCES member (id),
        enrolled_at_partner_id text NOT NULL REFERENCES partner (id),
        created_at timestamptz NOT NULL,
        qualified_at timestamptz,
        qualifying_partner_id text REFERENCES partner (id),
        paying_partner_id text REFERENCES partner (id),
        referrer_entry_id uuid REFERENCES journal_entry (id),
        referee_entry_id uuid REFERENCES journal_entry (id),
        CHECK (referee_id <> referrer_id),
        CHECK ((qualified_at IS NULL) = (qualifying_partner_id IS NULL))
      );
      CREATE INDEX referral_referrer ON referral (referrer_id);

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE grant_policy, grant_budget, member_grant, referral_code, referral_programme, referral FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE grant_policy, grant_budget, member_grant, referral_code, referral_programme, referral TO coalition_hub_app;
          GRANT UPDATE (member_cap_points, period_cap_grants, budget_points, updated_by, updated_at) ON grant_policy TO coalition_hub_app;
          GRANT UPDATE (grants, points) ON grant_budget TO coalition_hub_app;
          GRANT UPDATE (partner_id, referrer_bonus, referee_bonus, cap_per_referrer, updated_by, updated_at) ON referral_programme TO coalition_hub_app;
          GRANT UPDATE (qualified_at, qualifying_partner_id, paying_partner_id, referrer_entry_id, referee_entry_id) ON referral TO coalition_hub_app;
        END IF;
      END $grant$;
      ${patchMovementFunction(HAND_BACK, HAND_BACK_REFERRALS)}

      -- The event type points.granted: the checks of the event feed and of webhook endpoints were made from the SDK's
      -- EVENT_TYPES when their migrations ran; a database migrated before this one gets the new type added here.
      DO $events$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
                 WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%''points.issued''::text%'
                   AND pg_get_constraintdef(oid) NOT LIKE '%points.granted%'
        LOOP
          EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
          EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname,
                         replace(r.def, '''points.issued''::text', '''points.issued''::text, ''points.granted''::text'));
        END LOOP;
      END $events$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ${patchMovementFunction(HAND_BACK_REFERRALS, HAND_BACK)}
      DROP TABLE referral;
      DROP TABLE referral_programme;
      DROP TABLE referral_code;
      DROP TABLE member_grant;
      DROP TABLE grant_budget;
      DROP TABLE grant_policy;
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check CHECK (op IN (${OLD_OPS}));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN (${OLD_UNSIGNED})) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check CHECK (type IN (${OLD_TYPES}));
    `);
  }
}
