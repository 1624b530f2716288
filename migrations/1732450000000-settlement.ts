import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Settlement (docs/settlement.md). Every journal entry belongs to exactly one settlement
 * period: the one open when it was recorded. A trigger stamps it under a shared advisory lock;
 * closing a period takes that lock exclusively, so the cut-off waits for every entry already on
 * its way and no entry can land in a period after its cut-off. What a close computes (totals per
 * partner, obligations, instructions, statements) is written once and never changes.
 */
export class Settlement1732450000000 implements MigrationInterface {
  name = 'Settlement1732450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      -- Money rounding of settlement: half to even, to the minor unit (docs/settlement.md).
      CREATE FUNCTION round_half_even(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE STRICT AS $fn$
        SELECT CASE WHEN abs(x - trunc(x)) = 0.5 THEN 2 * round(x / 2) ELSE round(x) END
      $fn$;

      CREATE TABLE settlement_period (
        id bigserial PRIMARY KEY,
        starts_at timestamptz NOT NULL,
        -- When the scheduled job closes it; finance may close it earlier.
        ends_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closing', 'closed')),
        -- The moment it stopped taking entries.
        cutoff_at timestamptz,
        closed_at timestamptz,
        closed_by text,
        CHECK ((status = 'open') = (cutoff_at IS NULL)),
        CHECK ((status = 'closed') = (closed_at IS NOT NULL))
      );
      -- Always exactly one open period (the stamp trigger refuses an entry when there is none).
      CREATE UNIQUE INDEX settlement_period_one_open ON settlement_period ((true)) WHERE status = 'open';
      CREATE FUNCTION settlement_period_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' OR OLD.status = 'closed' THEN
          RAISE EXCEPTION 'settlement period % is closed (or being deleted): it never changes', OLD.id USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER settlement_period_immutable BEFORE UPDATE OR DELETE ON settlement_period
        FOR EACH ROW EXECUTE FUNCTION settlement_period_guard();
      INSERT INTO settlement_period (starts_at, ends_at) VALUES (now(), date_trunc('day', now()) + interval '1 day');

      -- Entries recorded before settlement existed belong to the first period.
      ALTER TABLE journal_entry ADD COLUMN period_id bigint NOT NULL DEFAULT 1;
      ALTER TABLE journal_entry ALTER COLUMN period_id DROP DEFAULT;
      CREATE INDEX journal_entry_period ON journal_entry (period_id, seq);
      CREATE FUNCTION journal_entry_stamp_period() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        -- Shared with every other writer; a close takes it exclusively for its cut-off.
        PERFORM pg_advisory_xact_lock_shared(7301, 5);
        SELECT id INTO NEW.period_id FROM settlement_period WHERE status = 'open';
        IF NEW.period_id IS NULL THEN
          RAISE EXCEPTION 'no open settlement period' USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER journal_entry_period BEFORE INSERT ON journal_entry
        FOR EACH ROW EXECUTE FUNCTION journal_entry_stamp_period();

      -- Adjustments resolve disputes in money: postings in the settlement currency between the
      -- partner's and the hub's settlement accounts, with no partner instruction.
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check
        CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange', 'adjustment'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN ('expire', 'exchange', 'adjustment')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE account DROP CONSTRAINT account_check;
      ALTER TABLE account ADD CONSTRAINT account_check CHECK (
        (owner_kind = 'member' AND kind = 'wallet')
        OR (owner_kind = 'partner' AND kind IN ('issuance', 'redemption', 'native_pool', 'settlement'))
        OR (owner_kind = 'hub' AND kind IN ('exchange', 'breakage', 'fees', 'rounding', 'settlement'))
      );
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer', 'acknowledge', 'dispute'));

      -- What a close computed, once. Totals per partner and line kind; money signed as the
      -- partner owes the hub (negative: the hub owes the partner).
      CREATE TABLE settlement_total (
        period_id bigint NOT NULL REFERENCES settlement_period (id),
        partner_id text NOT NULL REFERENCES partner (id),
        kind text NOT NULL,
        points bigint NOT NULL,
        money_minor bigint NOT NULL,
        lines integer NOT NULL CHECK (lines > 0),
        PRIMARY KEY (period_id, partner_id, kind)
      );
      -- Issuer A's points consumed at Q (redeemed or exchanged out, net of reversed redemptions).
      CREATE TABLE settlement_obligation (
        period_id bigint NOT NULL REFERENCES settlement_period (id),
        issuer_partner_id text NOT NULL REFERENCES partner (id),
        consumer_partner_id text NOT NULL REFERENCES partner (id),
        points bigint NOT NULL,
        -- At the issuer's prices (what the issuer paid in for them).
        funded_minor bigint NOT NULL,
        PRIMARY KEY (period_id, issuer_partner_id, consumer_partner_id)
      );
      CREATE TABLE settlement_instruction (
        period_id bigint NOT NULL REFERENCES settlement_period (id),
        position integer NOT NULL,
        payer text NOT NULL,
        payee text NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        PRIMARY KEY (period_id, position)
      );
      CREATE TABLE settlement_summary (
        period_id bigint PRIMARY KEY REFERENCES settlement_period (id),
        currency text NOT NULL,
        entries bigint NOT NULL,
        spread_minor bigint NOT NULL,
        breakage_kept_minor bigint NOT NULL,
        adjustments_minor bigint NOT NULL,
        funded_created_minor bigint NOT NULL,
        funded_released_minor bigint NOT NULL,
        gross_minor bigint NOT NULL,
        net_minor bigint NOT NULL
      );

      CREATE TABLE statement (
        id uuid PRIMARY KEY,
        period_id bigint NOT NULL REFERENCES settlement_period (id),
        partner_id text NOT NULL REFERENCES partner (id),
        currency text NOT NULL,
        line_count bigint NOT NULL,
        net_minor bigint NOT NULL,
        digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
        jws text NOT NULL,
        issued_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'acknowledged', 'disputed', 'resolved')),
        acknowledgement_jws text,
        acknowledged_at timestamptz,
        UNIQUE (period_id, partner_id),
        CHECK ((status = 'acknowledged') = (acknowledgement_jws IS NOT NULL))
      );
      CREATE INDEX statement_partner ON statement (partner_id, period_id);
      CREATE FUNCTION statement_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.period_id <> OLD.period_id OR NEW.partner_id <> OLD.partner_id
           OR NEW.digest <> OLD.digest OR NEW.jws <> OLD.jws OR NEW.net_minor <> OLD.net_minor OR NEW.line_count <> OLD.line_count THEN
          RAISE EXCEPTION 'a statement never changes; only its status moves' USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER statement_immutable BEFORE UPDATE OR DELETE ON statement
        FOR EACH ROW EXECUTE FUNCTION statement_guard();

      CREATE TABLE statement_dispute (
        id uuid PRIMARY KEY,
        statement_id uuid NOT NULL REFERENCES statement (id),
        partner_id text NOT NULL REFERENCES partner (id),
        jti text NOT NULL,
        line_numbers bigint[] NOT NULL CHECK (cardinality(line_numbers) BETWEEN 1 AND 1000),
        reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
        opened_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        resolved_at timestamptz,
        resolved_by text,
        resolution_note text,
        adjustment_entry_id uuid REFERENCES journal_entry (id),
        UNIQUE (partner_id, jti),
        CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
      );
      CREATE INDEX statement_dispute_statement ON statement_dispute (statement_id);
      ALTER TABLE journal_entry ADD COLUMN dispute_id uuid REFERENCES statement_dispute (id);
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_adjustment_check CHECK ((type = 'adjustment') = (dispute_id IS NOT NULL));

      -- A close stores its statement lines, numbered per partner: statements read and page without
      -- recomputing the period, and a closed period's lines, like its figures, never change.
      CREATE TABLE settlement_line (
        period_id bigint NOT NULL REFERENCES settlement_period (id),
        partner_id text NOT NULL REFERENCES partner (id),
        line_no bigint NOT NULL CHECK (line_no > 0),
        seq bigint NOT NULL,
        entry_id uuid NOT NULL REFERENCES journal_entry (id),
        recorded_at timestamptz NOT NULL,
        kind text NOT NULL,
        points bigint NOT NULL,
        price text,
        money_minor bigint NOT NULL,
        order_ref text,
        reference text,
        PRIMARY KEY (period_id, partner_id, line_no)
      );
      CREATE TRIGGER settlement_line_append_only BEFORE UPDATE OR DELETE ON settlement_line
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER settlement_total_append_only BEFORE UPDATE OR DELETE ON settlement_total
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER settlement_obligation_append_only BEFORE UPDATE OR DELETE ON settlement_obligation
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER settlement_instruction_append_only BEFORE UPDATE OR DELETE ON settlement_instruction
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER settlement_summary_append_only BEFORE UPDATE OR DELETE ON settlement_summary
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TRIGGER settlement_summary_append_only ON settlement_summary;
      DROP TRIGGER settlement_instruction_append_only ON settlement_instruction;
      DROP TRIGGER settlement_obligation_append_only ON settlement_obligation;
      DROP TRIGGER settlement_total_append_only ON settlement_total;
      DROP TABLE settlement_line;
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_adjustment_check;
      ALTER TABLE journal_entry DROP COLUMN dispute_id;
      DROP TABLE statement_dispute;
      DROP TABLE statement;
      DROP FUNCTION statement_guard();
      DROP TABLE settlement_summary, settlement_instruction, settlement_obligation, settlement_total;
      ALTER TABLE instruction DROP CONSTRAINT instruction_op_check;
      ALTER TABLE instruction ADD CONSTRAINT instruction_op_check
        CHECK (op IN ('enroll', 'issue', 'redeem', 'authorize', 'capture', 'void', 'reverse', 'transfer'));
      ALTER TABLE account DROP CONSTRAINT account_check;
      ALTER TABLE account ADD CONSTRAINT account_check CHECK (
        (owner_kind = 'member' AND kind = 'wallet')
        OR (owner_kind = 'partner' AND kind IN ('issuance', 'redemption', 'native_pool'))
        OR (owner_kind = 'hub' AND kind IN ('exchange', 'breakage', 'fees', 'rounding'))
      );
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN ('expire', 'exchange')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check
        CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange'));
      DROP TRIGGER journal_entry_period ON journal_entry;
      DROP FUNCTION journal_entry_stamp_period();
      ALTER TABLE journal_entry DROP COLUMN period_id;
      DROP TABLE settlement_period;
      DROP FUNCTION settlement_period_guard();
      DROP FUNCTION round_half_even(numeric);
    `);
  }
}
