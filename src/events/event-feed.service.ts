import type { DataSource } from 'typeorm';
import type { EventType } from '@coalition-hub/partner-sdk';
import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';

/** An event as the feed shows it (docs/events.md): the envelope, plus its place in the feed. */
export interface FeedEvent {
  id: string;
  type: EventType;
  version: number;
  occurredAt: Date;
  partnerId: string;
  memberId: string | null;
  data: Record<string, unknown>;
  /** "txid:seq": the writing transaction, then the row's sequence; the cursor's key. */
  position: string;
}

interface EventRow {
  id: string;
  type: EventType;
  version: number;
  occurred_at: Date;
  partner_id: string;
  member_id: string | null;
  data: Record<string, unknown>;
  position: string;
}

/** tx_id (a 64-bit transaction id) and seq (a bigint identity). */
const EVENT_CURSOR = /^[0-9]{1,20}:[0-9]{1,19}$/;

/**
 * The event feed (docs/events.md, "The feed"): events in the order their transactions wrote them,
 * (tx_id, seq), showing only rows written by transactions older than every transaction still
 * running. A row a slower transaction writes later therefore always lands after every cursor
 * already handed out: a reader that goes on from its last cursor never skips one.
 */
export class EventFeedService {
  constructor(private readonly dataSource: DataSource) {}

  /** A partner reads its own scope; operators and finance every partner's. Members and others are refused. */
  async events(viewer: Viewer, filter: { types?: readonly EventType[] | null }, page: Page): Promise<Connection<FeedEvent>> {
    let scope: string | null = null;
    if (viewer.kind === 'partner') scope = viewer.partnerId;
    else if (viewer.kind !== 'operator') throw forbidden('only partners, finance and operators read events');
    const after = readCursor(page.after, EVENT_CURSOR);
    const [txId, seq] = after ? after.split(':') : [null, null];
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT id, type, version, occurred_at, partner_id, member_id, data, tx_id::text || ':' || seq::text AS position
       FROM event
       WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
         AND ($1::text IS NULL OR partner_id = $1)
         AND ($2::text[] IS NULL OR type = ANY($2::text[]))
         AND ($3::xid8 IS NULL OR (tx_id, seq) > ($3::xid8, $4::bigint))
       ORDER BY tx_id, seq
       LIMIT $5`,
      [scope, filter.types && filter.types.length > 0 ? filter.types : null, txId ?? null, seq ?? null, page.first + 1],
    );
    return toConnection(
      rows.map((row): FeedEvent => ({
        id: row.id,
        type: row.type,
        version: row.version,
        occurredAt: row.occurred_at,
        partnerId: row.partner_id,
        memberId: row.member_id,
        data: row.data,
        position: row.position,
      })),
      page,
      (event) => event.position,
    );
  }
}
