import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `apply_cp_movements` gathers its items' outcomes in a `jsonb[]` and turns them into one JSON array
 * at the end. It appended each outcome to a jsonb array instead (`outcomes || jsonb_build_array(…)`),
 * which rebuilds the whole array on every append: for a batch of 500 items, each outcome a receipt
 * of about 700 bytes, that is some 90 MB of JSON rebuilt per batch, quadratic in the batch size.
 * An array variable in PL/pgSQL is appended to in place. Nothing else changes: the same items in
 * the same order, the same outcomes (docs/batches.md).
 */
export class BatchOutcomes1732870000000 implements MigrationInterface {
  name = 'BatchOutcomes1732870000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(movements('jsonb[]'));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(movements('jsonb'));
  }
}

/** The function with its outcomes gathered in a jsonb[] (this migration) or appended to a jsonb array (before it). */
function movements(outcomes: 'jsonb[]' | 'jsonb'): string {
  const append =
    outcomes === 'jsonb[]' ? 'v_outcomes := v_outcomes || v_outcome;' : 'v_outcomes := v_outcomes || jsonb_build_array(v_outcome);';
  return `
      CREATE OR REPLACE FUNCTION apply_cp_movements(
        p_items jsonb, p_now timestamptz, p_counter_shards integer, p_tier_names text[], p_tier_thresholds bigint[], p_window_start timestamptz,
        p_isolated boolean
      ) RETURNS jsonb LANGUAGE plpgsql AS $fn$
      DECLARE
        v_item jsonb;
        v_outcomes ${outcomes} := '${outcomes === 'jsonb[]' ? '{}' : '[]'}';
        v_outcome jsonb;
        v_state text;
        v_message text;
        v_detail text;
      BEGIN
        FOR v_item IN SELECT e.value FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(value, n) ORDER BY e.n LOOP
          IF NOT p_isolated THEN
            v_outcome := apply_cp_movement_item(v_item, p_now, p_counter_shards, p_tier_names, p_tier_thresholds, p_window_start);
          ELSE
            BEGIN
              v_outcome := apply_cp_movement_item(v_item, p_now, p_counter_shards, p_tier_names, p_tier_thresholds, p_window_start);
            EXCEPTION
              WHEN deadlock_detected OR serialization_failure THEN RAISE;
              WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
                v_outcome := jsonb_build_object('failed', v_state, 'message', v_message, 'detail', v_detail);
            END;
          END IF;
          ${append}
          EXIT WHEN v_outcome->>'refusal' = 'CH009';
        END LOOP;
        RETURN ${outcomes === 'jsonb[]' ? "coalesce(to_jsonb(v_outcomes), '[]'::jsonb)" : 'v_outcomes'};
      END
      $fn$;`;
}
