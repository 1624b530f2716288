import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The foundation: partners and their keys, members and their links, the double-entry ledger
 * (accounts, sharded balances, journal entries, postings), lots, signed instructions and the
 * hub's signing keys. The rules that money must follow are constraints and triggers here, so
 * that no code path (nor a psql session) can break them.
 */
export class LedgerFoundation1732350000000 implements MigrationInterface {
  name = 'LedgerFoundation1732350000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE partner (
        id text PRIMARY KEY CHECK (id ~ '^[A-Z][A-Z0-9_]{1,31}$'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        lot_lifetime_months integer NOT NULL DEFAULT 24 CHECK (lot_lifetime_months BETWEEN 1 AND 120),
        -- May link its customers to existing members by e-mail/phone hash (operator's trust).
        can_link_members boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE partner_key (
        partner_id text NOT NULL REFERENCES partner (id),
        kid text NOT NULL CHECK (length(kid) BETWEEN 1 AND 128),
        alg text NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
        public_jwk jsonb NOT NULL,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        PRIMARY KEY (partner_id, kid),
        CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
      );

      CREATE TABLE member (
        id uuid PRIMARY KEY,
        email_hash text UNIQUE CHECK (email_hash ~ '^[0-9a-f]{64}$'),
        phone_hash text UNIQUE CHECK (phone_hash ~ '^[0-9a-f]{64}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE member_link (
        partner_id text NOT NULL REFERENCES partner (id),
        member_ref text NOT NULL CHECK (length(member_ref) BETWEEN 1 AND 128),
        member_id uuid NOT NULL REFERENCES member (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (partner_id, member_ref),
        UNIQUE (partner_id, member_id)
      );
      CREATE INDEX member_link_member ON member_link (member_id);

      CREATE TABLE account (
        id bigserial PRIMARY KEY,
        owner_kind text NOT NULL,
        owner_id text NOT NULL,
        asset text NOT NULL CHECK (asset ~ '^[A-Z][A-Z0-9_]{0,31}(\\.[A-Z][A-Z0-9_]{0,31})?$'),
        kind text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (owner_kind, owner_id, asset, kind),
        UNIQUE (id, asset),
        UNIQUE (id, kind),
        CHECK (
          (owner_kind = 'member' AND kind = 'wallet')
          OR (owner_kind = 'partner' AND kind IN ('issuance', 'redemption', 'native_pool'))
          OR (owner_kind = 'hub' AND kind IN ('exchange', 'breakage', 'fees', 'rounding'))
        )
      );

      -- A balance is the sum of an account's shards. A member wallet has exactly one row, never
      -- below zero, locked on debit: the database enforces that from the account's kind, whatever
      -- the code asks. Counter-accounts that every issue touches spread their updates over several
      -- rows so that one busy partner is not serialised on one row.
      CREATE TABLE account_balance (
        account_id bigint NOT NULL,
        kind text NOT NULL,
        shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 255),
        balance bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, shard),
        FOREIGN KEY (account_id, kind) REFERENCES account (id, kind),
        CHECK (kind <> 'wallet' OR (shard = 0 AND balance >= 0))
      );

      -- Every signed instruction the hub accepted, once per (partner, jti): the idempotency key
      -- is this primary key, not a read-then-write.
      CREATE TABLE instruction (
        partner_id text NOT NULL REFERENCES partner (id),
        jti text NOT NULL CHECK (length(jti) BETWEEN 1 AND 128),
        op text NOT NULL CHECK (op IN ('enroll', 'issue', 'redeem')),
        kid text NOT NULL,
        request_hash text NOT NULL,
        request_jws text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        entry_id uuid,
        member_id uuid REFERENCES member (id),
        receipt_jws text,
        result jsonb,
        PRIMARY KEY (partner_id, jti)
      );

      CREATE TABLE journal_entry (
        id uuid PRIMARY KEY,
        seq bigserial UNIQUE,
        type text NOT NULL CHECK (type IN ('issue', 'redeem')),
        partner_id text NOT NULL REFERENCES partner (id),
        jti text NOT NULL,
        member_id uuid REFERENCES member (id),
        order_ref text CHECK (length(order_ref) <= 128),
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        rates jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_hash text NOT NULL,
        UNIQUE (partner_id, jti),
        FOREIGN KEY (partner_id, jti) REFERENCES instruction (partner_id, jti)
      );
      CREATE INDEX journal_entry_partner ON journal_entry (partner_id, seq);
      CREATE INDEX journal_entry_partner_type ON journal_entry (partner_id, type, seq);
      CREATE INDEX journal_entry_partner_recorded ON journal_entry (partner_id, recorded_at);
      CREATE INDEX journal_entry_member ON journal_entry (member_id, seq);
      ALTER TABLE instruction ADD FOREIGN KEY (entry_id) REFERENCES journal_entry (id) DEFERRABLE INITIALLY DEFERRED;

      CREATE TABLE posting (
        id bigserial PRIMARY KEY,
        entry_id uuid NOT NULL REFERENCES journal_entry (id),
        account_id bigint NOT NULL,
        asset text NOT NULL,
        amount bigint NOT NULL CHECK (amount <> 0),
        FOREIGN KEY (account_id, asset) REFERENCES account (id, asset)
      );
      CREATE INDEX posting_entry ON posting (entry_id);
      CREATE INDEX posting_account ON posting (account_id, id);

      CREATE TABLE lot (
        id bigserial PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES account (id),
        issuer_partner_id text NOT NULL REFERENCES partner (id),
        entry_id uuid NOT NULL REFERENCES journal_entry (id),
        amount bigint NOT NULL CHECK (amount > 0),
        remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL CHECK (expires_at > issued_at)
      );
      -- Spending order. The partial index serves redemptions (open lots only, however many were
      -- spent before); the full one serves listings that include spent lots.
      CREATE INDEX lot_open ON lot (account_id, expires_at, issued_at, id) WHERE remaining > 0;
      CREATE INDEX lot_all ON lot (account_id, expires_at, issued_at, id);

      -- Which issuer's points were consumed at which partner: the source of inter-partner obligations.
      CREATE TABLE lot_consumption (
        id bigserial PRIMARY KEY,
        lot_id bigint NOT NULL REFERENCES lot (id),
        entry_id uuid NOT NULL REFERENCES journal_entry (id),
        issuer_partner_id text NOT NULL REFERENCES partner (id),
        consumer_partner_id text NOT NULL REFERENCES partner (id),
        amount bigint NOT NULL CHECK (amount > 0)
      );
      CREATE INDEX lot_consumption_entry ON lot_consumption (entry_id);

      CREATE TABLE hub_signing_key (
        kid text PRIMARY KEY,
        alg text NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      -- The ledger is append-only: corrections are new entries.
      CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END $$;
      CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON posting
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER lot_consumption_append_only BEFORE UPDATE OR DELETE ON lot_consumption
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER journal_entry_no_truncate BEFORE TRUNCATE ON journal_entry
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER posting_no_truncate BEFORE TRUNCATE ON posting
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

      -- Per entry and per asset, postings sum to zero: checked at commit, once the entry is whole.
      CREATE FUNCTION posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE unbalanced text;
      BEGIN
        SELECT string_agg(asset || ' ' || total::text, ', ') INTO unbalanced FROM (
          SELECT asset, sum(amount) AS total FROM posting WHERE entry_id = NEW.entry_id
          GROUP BY asset HAVING sum(amount) <> 0
        ) AS t;
        IF unbalanced IS NOT NULL THEN
          RAISE EXCEPTION 'journal entry % does not balance: %', NEW.entry_id, unbalanced
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER posting_balanced AFTER INSERT ON posting
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION posting_check_balanced();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE lot_consumption, lot, posting, journal_entry, instruction, account_balance, account,
        member_link, member, partner_key, partner, hub_signing_key CASCADE;
      DROP FUNCTION posting_check_balanced, ledger_refuse_change;
    `);
  }
}
