import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The payments after netting (who pays whom) are settlement *transfers*: an *instruction* is only
 * a partner's signed JWS (docs/settlement.md, "Netting"). A rename, nothing else: the rows, the
 * append-only trigger and the app role's grants (they follow the table) stay as they are.
 */
export class SettlementTransfers1732490000000 implements MigrationInterface {
  name = 'SettlementTransfers1732490000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE settlement_instruction RENAME TO settlement_transfer;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_instruction_pkey TO settlement_transfer_pkey;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_instruction_period_id_fkey TO settlement_transfer_period_id_fkey;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_instruction_amount_minor_check TO settlement_transfer_amount_minor_check;
      ALTER TRIGGER settlement_instruction_append_only ON settlement_transfer RENAME TO settlement_transfer_append_only;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TRIGGER settlement_transfer_append_only ON settlement_transfer RENAME TO settlement_instruction_append_only;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_transfer_amount_minor_check TO settlement_instruction_amount_minor_check;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_transfer_period_id_fkey TO settlement_instruction_period_id_fkey;
      ALTER TABLE settlement_transfer RENAME CONSTRAINT settlement_transfer_pkey TO settlement_instruction_pkey;
      ALTER TABLE settlement_transfer RENAME TO settlement_instruction;
    `);
  }
}
