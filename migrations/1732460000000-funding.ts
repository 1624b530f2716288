import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partner funding and limits (docs/settlement.md). A contract is post-paid (the default: the
 * partner settles its net position after each period), optionally with a net debit cap, or
 * prepaid. Money for limits lives in single-row partner accounts in the settlement currency,
 * locked by the issuing transaction like a member wallet:
 * - `prefunding` (prepaid): top-ups in, the issue money of each issue out; never below zero,
 *   which the database enforces here as it does for wallets;
 * - `exposure` (post-paid with a cap): the issue money of each issue out, payments in; the
 *   service refuses an issue that would take it below −cap.
 * The hub's side of both is its `funding` account. Top-ups and payments are `funding` entries.
 */
export class Funding1732460000000 implements MigrationInterface {
  name = 'Funding1732460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE partner_contract ADD COLUMN funding_mode text NOT NULL DEFAULT 'postpaid' CHECK (funding_mode IN ('postpaid', 'prepaid'));
      ALTER TABLE partner_contract ADD COLUMN net_debit_cap_minor bigint CHECK (net_debit_cap_minor >= 0);
      ALTER TABLE settlement_summary ADD COLUMN prefunded_minor bigint NOT NULL DEFAULT 0;
      ALTER TABLE partner_contract ADD CONSTRAINT partner_contract_cap_check CHECK (funding_mode = 'postpaid' OR net_debit_cap_minor IS NULL);

      ALTER TABLE account DROP CONSTRAINT account_check;
      ALTER TABLE account ADD CONSTRAINT account_check CHECK (
        (owner_kind = 'member' AND kind = 'wallet')
        OR (owner_kind = 'partner' AND kind IN ('issuance', 'redemption', 'native_pool', 'settlement', 'prefunding', 'exposure'))
        OR (owner_kind = 'hub' AND kind IN ('exchange', 'breakage', 'fees', 'rounding', 'settlement', 'funding'))
      );
      ALTER TABLE account_balance DROP CONSTRAINT account_balance_check;
      ALTER TABLE account_balance ADD CONSTRAINT account_balance_check
        CHECK (kind NOT IN ('wallet', 'prefunding') OR (shard = 0 AND balance >= 0));
      ALTER TABLE account_balance ADD CONSTRAINT account_balance_exposure_check CHECK (kind <> 'exposure' OR shard = 0);

      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check
        CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange', 'adjustment', 'funding'));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN ('expire', 'exchange', 'adjustment', 'funding')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_instruction_check
        CHECK ((type IN ('expire', 'exchange', 'adjustment')) = (jti IS NULL) AND (jti IS NULL) = (request_hash IS NULL));
      ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check;
      ALTER TABLE journal_entry ADD CONSTRAINT journal_entry_type_check
        CHECK (type IN ('issue', 'redeem', 'expire', 'reversal', 'transfer', 'exchange', 'adjustment'));
      ALTER TABLE account_balance DROP CONSTRAINT account_balance_exposure_check;
      ALTER TABLE account_balance DROP CONSTRAINT account_balance_check;
      ALTER TABLE account_balance ADD CONSTRAINT account_balance_check CHECK (kind <> 'wallet' OR (shard = 0 AND balance >= 0));
      ALTER TABLE account DROP CONSTRAINT account_check;
      ALTER TABLE account ADD CONSTRAINT account_check CHECK (
        (owner_kind = 'member' AND kind = 'wallet')
        OR (owner_kind = 'partner' AND kind IN ('issuance', 'redemption', 'native_pool', 'settlement'))
        OR (owner_kind = 'hub' AND kind IN ('exchange', 'breakage', 'fees', 'rounding', 'settlement'))
      );
      ALTER TABLE settlement_summary DROP COLUMN prefunded_minor;
      ALTER TABLE partner_contract DROP CONSTRAINT partner_contract_cap_check;
      ALTER TABLE partner_contract DROP COLUMN net_debit_cap_minor;
      ALTER TABLE partner_contract DROP COLUMN funding_mode;
    `);
  }
}
