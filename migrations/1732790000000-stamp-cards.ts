import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stamp cards (docs/stamp-cards.md): a partner's cards (a category, the stamps a card needs, the
 * reward on completion, a window), each member's progress on each card, and one row per activity
 * that moved stamps (a purchase's stamps, still open on the card or used by a completion; a
 * return's stamps taken back), so that a return takes back only what its purchase gave.
 */
export class StampCards1732790000000 implements MigrationInterface {
  name = 'StampCards1732790000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE stamp_card (
        id uuid PRIMARY KEY,
        partner_id text NOT NULL REFERENCES partner (id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        category text NOT NULL CHECK (category ~ '^[A-Za-z0-9_.-]{1,64}$'),
        stamps_required integer NOT NULL CHECK (stamps_required BETWEEN 1 AND 1000),
        -- The reward on completion: 'points' now; a catalogue reward will add its kind and reference.
        reward_kind text NOT NULL CHECK (reward_kind IN ('points')),
        reward_points bigint CHECK (reward_points > 0),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        CHECK ((reward_kind = 'points') = (reward_points IS NOT NULL)),
        CHECK (ends_at IS NULL OR ends_at >= starts_at)
      );
      CREATE INDEX stamp_card_partner ON stamp_card (partner_id, category);

      CREATE TABLE stamp_progress (
        card_id uuid NOT NULL REFERENCES stamp_card (id),
        member_id uuid NOT NULL,
        stamps bigint NOT NULL CHECK (stamps >= 0),
        completed_count bigint NOT NULL CHECK (completed_count >= 0),
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (member_id, card_id)
      );

      CREATE TABLE stamp_event (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        card_id uuid NOT NULL REFERENCES stamp_card (id),
        member_id uuid NOT NULL,
        activity_id uuid NOT NULL REFERENCES activity (id),
        kind text NOT NULL CHECK (kind IN ('purchase', 'return')),
        -- A purchase: its stamps (> 0); a return: the stamps taken back (<= 0).
        stamps bigint NOT NULL,
        -- A purchase: how many of its stamps are still on the open card (not used by a completion, not returned).
        open bigint NOT NULL DEFAULT 0 CHECK (open >= 0),
        -- A purchase: the stamps its returns were due to take back, taken or not (never more than it gave).
        returned bigint NOT NULL DEFAULT 0 CHECK (returned >= 0),
        completions bigint NOT NULL DEFAULT 0 CHECK (completions >= 0),
        reward_entry_id uuid REFERENCES journal_entry (id),
        recorded_at timestamptz NOT NULL,
        CHECK (kind = 'return' OR (stamps > 0 AND open <= stamps AND returned <= stamps)),
        CHECK (kind = 'purchase' OR (stamps <= 0 AND open = 0 AND returned = 0 AND completions = 0)),
        UNIQUE (activity_id, card_id)
      );
      CREATE INDEX stamp_event_open ON stamp_event (member_id, card_id, seq) WHERE open > 0;

      -- A completed card's reward is an entry of its own type, stamp_reward, made by the hub (no jti:
      -- the activity's instruction has its one entry). The two lists are extended as they stand, so
      -- that types other migrations add to them are kept.
      DO $types$
      DECLARE def text;
      BEGIN
        SELECT pg_get_constraintdef(oid) INTO STRICT def FROM pg_constraint
        WHERE conrelid = 'journal_entry'::regclass AND conname = 'journal_entry_type_check';
        EXECUTE 'ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check, ADD CONSTRAINT journal_entry_type_check '
          || replace(def, 'ARRAY[', 'ARRAY[''stamp_reward''::text, ');
        SELECT pg_get_constraintdef(oid) INTO STRICT def FROM pg_constraint
        WHERE conrelid = 'journal_entry'::regclass AND conname = 'journal_entry_instruction_check';
        EXECUTE 'ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check, ADD CONSTRAINT journal_entry_instruction_check '
          || replace(def, 'ARRAY[', 'ARRAY[''stamp_reward''::text, ');
      END $types$;

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          REVOKE ALL ON TABLE stamp_card, stamp_progress, stamp_event FROM coalition_hub_app;
          GRANT SELECT, INSERT ON TABLE stamp_card, stamp_event TO coalition_hub_app;
          GRANT UPDATE (ends_at) ON stamp_card TO coalition_hub_app;
          GRANT UPDATE (open, returned, reward_entry_id) ON stamp_event TO coalition_hub_app;
          GRANT SELECT, INSERT, UPDATE ON TABLE stamp_progress TO coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE stamp_event;
      DROP TABLE stamp_progress;
      DROP TABLE stamp_card;
      DO $types$
      DECLARE def text;
      BEGIN
        SELECT pg_get_constraintdef(oid) INTO STRICT def FROM pg_constraint
        WHERE conrelid = 'journal_entry'::regclass AND conname = 'journal_entry_type_check';
        EXECUTE 'ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_type_check, ADD CONSTRAINT journal_entry_type_check '
          || replace(def, '''stamp_reward''::text, ', '');
        SELECT pg_get_constraintdef(oid) INTO STRICT def FROM pg_constraint
        WHERE conrelid = 'journal_entry'::regclass AND conname = 'journal_entry_instruction_check';
        EXECUTE 'ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_instruction_check, ADD CONSTRAINT journal_entry_instruction_check '
          || replace(def, '''stamp_reward''::text, ', '');
      END $types$;
    `);
  }
}
