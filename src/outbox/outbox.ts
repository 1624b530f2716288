import type { EntityManager } from 'typeorm';
import type { EventType } from '@coalition-hub/partner-sdk';
import { newId } from '../common/ids';

/** What an operation says happened; amounts in `data` are decimal strings, never numbers. */
export interface NewEvent {
  type: EventType;
  /** The partner whose scope the event belongs to: only it (and operators) can read it. */
  partnerId: string;
  memberId: string | null;
  occurredAt: Date;
  data: Record<string, string | number | boolean | null | string[] | Record<string, unknown>>;
  /** Version of the `data` shape of this type; 1 unless a type's data changes incompatibly. */
  version?: number;
}

/** The statement that inserts the events of a JSON array parameter (`eventRowsJson`), in the array's order. */
const insertEventRows = (param: number): string =>
  `INSERT INTO event (id, type, version, occurred_at, partner_id, member_id, data)
   SELECT (r.e->>'id')::uuid, r.e->>'type', (r.e->>'version')::integer, (r.e->>'occurred_at')::timestamptz,
          r.e->>'partner_id', (r.e->>'member_id')::uuid, r.e->'data'
   FROM jsonb_array_elements($${param}::jsonb) WITH ORDINALITY AS r(e, n)
   ORDER BY r.n`;

/**
 * Writes events into the outbox (docs/events.md), in one statement and in the given order. Call it
 * with the transaction that makes the change: the events then commit or roll back with it, so there
 * is never a change without its events nor an event without its change.
 */
export async function recordEvents(tx: EntityManager, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(insertEventRows(1), [eventRowsJson(events)]);
}

/** One event: see recordEvents. */
export async function recordEvent(tx: EntityManager, event: NewEvent): Promise<void> {
  await recordEvents(tx, [event]);
}

/**
 * Events to write inside another statement of the same transaction (one round trip fewer on a hot
 * path): a CTE that inserts the JSON array parameter `$n`. Use as `WITH ${eventsInsert(n)} UPDATE …`
 * with `eventRowsJson(events)` as parameter `$n`.
 */
export const eventsInsert = (param: number): string => `recorded_events AS (${insertEventRows(param)})`;

export function eventRowsJson(events: readonly NewEvent[]): string {
  return JSON.stringify(
    events.map((event) => ({
      id: newId(),
      type: event.type,
      version: event.version ?? 1,
      occurred_at: event.occurredAt.toISOString(),
      partner_id: event.partnerId,
      member_id: event.memberId,
      data: event.data,
    })),
  );
}
