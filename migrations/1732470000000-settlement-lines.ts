import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A close stores its statement lines (issue #4 item 5), numbered per partner: statements then read
 * and page in constant time per line, and a closed period's lines, like its totals, never change.
 * The reconciliation still recomputes them from the ledger and compares.
 */
export class SettlementLines1732470000000 implements MigrationInterface {
  name = 'SettlementLines1732470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
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
    `);
  }
}
