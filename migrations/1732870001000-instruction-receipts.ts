import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Receipts of instructions applied in one statement are stored after the commit (docs/protocol.md,
 * "Receipts"): until now by updating the instruction row, which PostgreSQL does by writing a whole
 * new version of that row (the signed request, the result, the receipt: about 1.3 KB) to the table
 * and the WAL, and, the row's page being full, a new entry in its primary key. They now go to a
 * table of their own, insert-only: a receipt is written once, as its own row. An instruction's
 * receipt is the one in `instruction_receipt`, or the column of the same name on the instruction
 * (the instructions applied by their operation still write it in their transaction, and older rows
 * keep theirs). No foreign key to `instruction`: checking one takes a lock on the instruction row,
 * which is again a write to it; the hub stores a receipt only for an instruction it has committed,
 * and a receipt is only ever read through its instruction.
 */
export class InstructionReceipts1732870001000 implements MigrationInterface {
  name = 'InstructionReceipts1732870001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE instruction_receipt (
        partner_id text NOT NULL,
        jti text NOT NULL,
        receipt_jws text NOT NULL,
        PRIMARY KEY (partner_id, jti)
      );
      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE instruction_receipt FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE instruction_receipt TO coalition_hub_app;
        END IF;
      END $grant$;
${replayed(true)}
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE instruction i SET receipt_jws = r.receipt_jws FROM instruction_receipt r
       WHERE i.partner_id = r.partner_id AND i.jti = r.jti AND i.receipt_jws IS NULL;
${replayed(false)}
      DROP TABLE instruction_receipt;
    `);
  }
}

/** The outcome stored under a partner's jti, as apply_cp_movement answers a replay: with the receipt from either place, or only the column. */
function replayed(table: boolean): string {
  const receipt = table
    ? 'coalesce(ins.receipt_jws, (SELECT r.receipt_jws FROM instruction_receipt r WHERE r.partner_id = ins.partner_id AND r.jti = ins.jti))'
    : 'ins.receipt_jws';
  return `
      CREATE OR REPLACE FUNCTION replayed_instruction(p_partner_id text, p_jti text) RETURNS jsonb LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object('replay', true, 'op', ins.op, 'requestHash', ins.request_hash, 'receipt', ${receipt},
                                  'result', ins.result, 'receivedAt', iso_millis(ins.received_at))
        FROM instruction ins WHERE ins.partner_id = p_partner_id AND ins.jti = p_jti
      $$;`;
}
