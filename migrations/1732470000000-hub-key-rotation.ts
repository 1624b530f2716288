import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hub key rotation. Every key the hub has signed with is recorded here: generated keys with
 * their private half (so that every instance can sign with them), keys from HUB_SIGNING_JWK with
 * their public half only. The active key is the newest activated one that is not retired; every
 * key not retired stays published in the JWKS, so that old receipts and statements keep
 * verifying. A key row never changes except to be retired, once, and is never deleted.
 */
export class HubKeyRotation1732470000000 implements MigrationInterface {
  name = 'HubKeyRotation1732470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE hub_signing_key ALTER COLUMN private_jwk DROP NOT NULL;
      ALTER TABLE hub_signing_key ADD COLUMN origin text NOT NULL DEFAULT 'generated' CHECK (origin IN ('generated', 'configured'));
      ALTER TABLE hub_signing_key ALTER COLUMN origin DROP DEFAULT;
      ALTER TABLE hub_signing_key ADD COLUMN activated_at timestamptz;
      UPDATE hub_signing_key SET activated_at = created_at;
      ALTER TABLE hub_signing_key ALTER COLUMN activated_at SET NOT NULL;
      ALTER TABLE hub_signing_key ADD COLUMN retired_at timestamptz;
      ALTER TABLE hub_signing_key ADD CONSTRAINT hub_signing_key_private_check CHECK ((origin = 'generated') = (private_jwk IS NOT NULL));

      CREATE FUNCTION hub_signing_key_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' OR OLD.retired_at IS NOT NULL OR NEW.retired_at IS NULL
           OR (NEW.kid, NEW.alg, NEW.private_jwk, NEW.public_jwk, NEW.origin, NEW.created_at, NEW.activated_at)
              IS DISTINCT FROM (OLD.kid, OLD.alg, OLD.private_jwk, OLD.public_jwk, OLD.origin, OLD.created_at, OLD.activated_at) THEN
          RAISE EXCEPTION 'a hub key never changes; it may only be retired, once' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER hub_signing_key_immutable BEFORE UPDATE OR DELETE ON hub_signing_key
        FOR EACH ROW EXECUTE FUNCTION hub_signing_key_guard();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER hub_signing_key_immutable ON hub_signing_key;
      DROP FUNCTION hub_signing_key_guard();
      DELETE FROM hub_signing_key WHERE private_jwk IS NULL;
      ALTER TABLE hub_signing_key DROP CONSTRAINT hub_signing_key_private_check;
      ALTER TABLE hub_signing_key DROP COLUMN retired_at;
      ALTER TABLE hub_signing_key DROP COLUMN activated_at;
      ALTER TABLE hub_signing_key DROP COLUMN origin;
      ALTER TABLE hub_signing_key ALTER COLUMN private_jwk SET NOT NULL;
    `);
  }
}
