import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partner contracts and exchange rates, effective-dated and append-only: a new contract or rate
 * is a new row with its own valid_from, so history is kept and past entries (which store the
 * prices and rates they used) never change. Prices and rates are exact decimals.
 */
export class ContractsAndRates1732360000000 implements MigrationInterface {
  name = 'ContractsAndRates1732360000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE partner_contract (
        id bigserial PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        valid_from timestamptz NOT NULL,
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        -- Money, in minor units of the currency, per CP.
        issue_price numeric(24, 12) NOT NULL CHECK (issue_price >= 0),
        redeem_price numeric(24, 12) NOT NULL CHECK (redeem_price >= 0),
        -- The issuer's share of breakage on its expired points; the hub keeps the rest.
        breakage_share numeric(13, 12) NOT NULL DEFAULT 0 CHECK (breakage_share BETWEEN 0 AND 1),
        lot_lifetime_months integer NOT NULL DEFAULT 24 CHECK (lot_lifetime_months BETWEEN 1 AND 120),
        transfers_allowed boolean NOT NULL DEFAULT false,
        reversal_policy text NOT NULL DEFAULT 'refuse' CHECK (reversal_policy IN ('refuse', 'debt')),
        pending_days integer NOT NULL DEFAULT 0 CHECK (pending_days BETWEEN 0 AND 365),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (partner_id, valid_from)
      );

      -- A partner's own program currency, e.g. ACME.STARS.
      CREATE TABLE partner_unit (
        partner_id text PRIMARY KEY REFERENCES partner (id),
        code text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_]{0,31}$'),
        asset text NOT NULL UNIQUE CHECK (asset = partner_id || '.' || code),
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE exchange_rate (
        id bigserial PRIMARY KEY,
        asset text NOT NULL REFERENCES partner_unit (asset),
        -- CP per one point of the partner's unit.
        cp_per_point numeric(24, 12) NOT NULL CHECK (cp_per_point > 0),
        valid_from timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (asset, valid_from)
      );

      CREATE TRIGGER partner_contract_append_only BEFORE UPDATE OR DELETE ON partner_contract
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      CREATE TRIGGER exchange_rate_append_only BEFORE UPDATE OR DELETE ON exchange_rate
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
      -- An asset's name never changes: balances are kept under it.
      CREATE TRIGGER partner_unit_append_only BEFORE UPDATE OR DELETE ON partner_unit
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

      -- Partners registered before contracts existed get one from their lot lifetime, at par.
      INSERT INTO partner_contract (partner_id, valid_from, currency, issue_price, redeem_price, lot_lifetime_months)
        SELECT id, created_at, 'EUR', 1, 1, lot_lifetime_months FROM partner;
      ALTER TABLE partner DROP COLUMN lot_lifetime_months;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE partner ADD COLUMN lot_lifetime_months integer NOT NULL DEFAULT 24;
      DROP TABLE exchange_rate, partner_unit, partner_contract;
    `);
  }
}
