import type { MigrationInterface, QueryRunner } from 'typeorm';
import { EVENT_TYPES } from '@coalition-hub/partner-sdk';

const typeList = EVENT_TYPES.map((type) => `'${type}'`).join(', ');

/**
 * Webhook endpoints and their deliveries (docs/webhooks.md). An endpoint belongs to one partner and
 * lists the event types it receives (at least one). A delivery is one event for one endpoint, made
 * by the dispatcher after the event committed; every attempt to send it is logged. The dispatcher's
 * place in the event table is one row: (tx_id, seq) of the last event it turned into deliveries.
 */
export class Webhooks1732540000000 implements MigrationInterface {
  name = 'Webhooks1732540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_endpoint (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        partner_id text NOT NULL REFERENCES partner (id),
        url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
        event_types text[] NOT NULL CHECK (cardinality(event_types) >= 1 AND event_types <@ ARRAY[${typeList}]::text[]),
        active boolean NOT NULL DEFAULT true,
        disabled_reason text,
        secret text CHECK (secret IS NULL OR secret LIKE 'whsec\\_%'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        -- Deleting an endpoint hides it and stops its deliveries; the hub's role deletes no rows.
        deleted_at timestamptz,
        CHECK (deleted_at IS NULL OR NOT active)
      );
      CREATE INDEX webhook_endpoint_partner ON webhook_endpoint (partner_id, seq);

      CREATE TABLE webhook_delivery (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        event_id uuid NOT NULL REFERENCES event (id),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at timestamptz,
        last_status_code integer,
        last_latency_ms integer,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (event_id, endpoint_id)
      );
      CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint_id, seq);

      CREATE TABLE webhook_delivery_attempt (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
        attempted_at timestamptz NOT NULL,
        status_code integer,
        latency_ms integer NOT NULL CHECK (latency_ms >= 0),
        error text
      );
      CREATE INDEX webhook_delivery_attempt_delivery ON webhook_delivery_attempt (delivery_id, id);

      CREATE TABLE webhook_dispatch_cursor (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        tx_id xid8 NOT NULL DEFAULT '0'::xid8,
        seq bigint NOT NULL DEFAULT 0
      );
      INSERT INTO webhook_dispatch_cursor DEFAULT VALUES;

      DO $grant$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'coalition_hub_app') THEN
          -- The hub deletes nothing: a deleted endpoint is marked so. The attempt log is
          -- append-only; the cursor is one row the hub moves, never adds.
          REVOKE DELETE ON TABLE webhook_endpoint, webhook_delivery FROM coalition_hub_app;
          REVOKE UPDATE, DELETE ON TABLE webhook_delivery_attempt FROM coalition_hub_app;
          REVOKE INSERT, DELETE ON TABLE webhook_dispatch_cursor FROM coalition_hub_app;
        END IF;
      END $grant$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE webhook_dispatch_cursor, webhook_delivery_attempt, webhook_delivery, webhook_endpoint');
  }
}
