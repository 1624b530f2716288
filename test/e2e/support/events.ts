import type { TestHub } from '../../helpers/test-hub';

/** An event row as a test compares it: what the hub wrote into the outbox, in commit order. */
export interface StoredEvent {
  seq: number;
  type: string;
  partnerId: string;
  memberId: string | null;
  data: Record<string, any>;
}

/** Every event after `afterSeq` (0: all), ordered by writing transaction then sequence. */
export async function eventsAfter(hub: TestHub, afterSeq = 0): Promise<StoredEvent[]> {
  return hub.ownerQuery<StoredEvent>(
    `SELECT seq::int AS seq, type, partner_id AS "partnerId", member_id AS "memberId", data FROM event WHERE seq > $1 ORDER BY tx_id, seq`,
    [afterSeq],
  );
}

/** The highest sequence number written so far: take it before an action, read `eventsAfter` it after. */
export async function lastEventSeq(hub: TestHub): Promise<number> {
  const [row] = await hub.ownerQuery<{ seq: number }>('SELECT coalesce(max(seq), 0)::int AS seq FROM event');
  return row!.seq;
}

/** The events an action wrote (nothing else may write meanwhile: tests of a file run one after the other). */
export async function eventsOfAction(hub: TestHub, action: () => Promise<unknown>): Promise<StoredEvent[]> {
  const before = await lastEventSeq(hub);
  await action();
  return eventsAfter(hub, before);
}
