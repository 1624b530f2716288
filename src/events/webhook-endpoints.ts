import type { DataSource, EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import { EVENT_TYPES, isEventType } from '@coalition-hub/partner-sdk';
import { fail, ErrorCode, type DomainError } from '../common/errors';
import { newId } from '../common/ids';
import { queryRows } from '../db/sql';
import { withTransaction } from '../db/with-transaction';
import { readCursor, readPageCursors, toConnection, type Connection } from '../ledger/ledger-query.service';
import { checkWebhookUrl } from './webhook-url';
import { newWebhookSecret } from './webhook-signature';

/** Whose endpoints a caller may see and change: one partner's, or (operators) every partner's. */
export type WebhookScope = { partnerId: string } | { allPartners: true };

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed', 'dead'];

export interface WebhookEndpointRow {
  id: string;
  partnerId: string;
  url: string;
  eventTypes: string[];
  active: boolean;
  disabledReason: string | null;
  hasSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
  sortKey: string;
}

export interface WebhookDeliveryRow {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  sortKey: string;
}

export interface DeliveryAttemptRow {
  deliveryId: string;
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  sortKey: string;
}

export interface AttemptsRequest {
  deliveryId: string;
  page: { first: number; after?: string | null };
}

export interface DeliveriesRequest {
  endpointId: string;
  status: DeliveryStatus | null;
  page: { first: number; after?: string | null };
}

export interface NewEndpoint {
  url: string;
  eventTypes: string[];
  withHmacSecret: boolean;
}

export interface EndpointChange {
  url?: string | null;
  eventTypes?: string[] | null;
  active?: boolean | null;
}

/** The secret is shown once: in the answer to the creation or rotation that made it. */
export interface EndpointWithSecret {
  endpoint: WebhookEndpointRow;
  secret: string | null;
}

const SEQ_CURSOR = /^[0-9]{1,19}$/;

const ENDPOINT_COLUMNS = `id, partner_id, url, event_types, active, disabled_reason, secret IS NOT NULL AS has_secret, created_at, updated_at, seq`;

function toEndpoint(row: Record<string, any>): WebhookEndpointRow {
  return {
    id: row.id,
    partnerId: row.partner_id,
    url: row.url,
    eventTypes: row.event_types,
    active: row.active,
    disabledReason: row.disabled_reason,
    hasSecret: row.has_secret,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sortKey: String(row.seq),
  };
}

function toDelivery(row: Record<string, any>): WebhookDeliveryRow {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode: row.last_status_code,
    lastLatencyMs: row.last_latency_ms,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
    sortKey: String(row.seq),
  };
}

/**
 * A partner's webhook endpoints (docs/webhooks.md): registration, changes, the delivery log and
 * manual redelivery. A partner sees and changes only its own endpoints; an endpoint of another
 * partner is NOT_FOUND to it, exactly like one that does not exist.
 */
export class WebhookEndpointService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly allowPrivateUrls: boolean,
  ) {}

  private checkTypes(types: readonly string[]): string[] | DomainError<ErrorCode.UNKNOWN_EVENT_TYPE | ErrorCode.INVALID_INPUT> {
    if (types.length === 0) return fail(ErrorCode.INVALID_INPUT, `eventTypes lists at least one type: ${EVENT_TYPES.join(', ')}`);
    const unknown = types.find((type) => !isEventType(type));
    if (unknown !== undefined)
      return fail(ErrorCode.UNKNOWN_EVENT_TYPE, `${unknown.slice(0, 64)} is not an event type of this hub`, {
        eventType: unknown.slice(0, 64),
      });
    return [...new Set(types)];
  }

  async create(partnerId: string, input: NewEndpoint): Promise<EndpointWithSecret | OpError<'createWebhookEndpoint'>> {
    const url = checkWebhookUrl(input.url, this.allowPrivateUrls);
    if (typeof url !== 'string') return url;
    const types = this.checkTypes(input.eventTypes);
    if (!Array.isArray(types)) return types;
    const secret = input.withHmacSecret ? newWebhookSecret() : null;
    const [row] = await this.dataSource.query(
      `INSERT INTO webhook_endpoint (id, partner_id, url, event_types, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
      [newId(), partnerId, url, types, secret],
    );
    return { endpoint: toEndpoint(row), secret };
  }

  async update(scope: WebhookScope, id: string, change: EndpointChange): Promise<WebhookEndpointRow | OpError<'updateWebhookEndpoint'>> {
    if (!isUuid(id)) return notFound();
    let url: string | null = null;
    if (change.url != null) {
      const checked = checkWebhookUrl(change.url, this.allowPrivateUrls);
      if (typeof checked !== 'string') return checked;
      url = checked;
    }
    let types: string[] | null = null;
    if (change.eventTypes != null) {
      const checked = this.checkTypes(change.eventTypes);
      if (!Array.isArray(checked)) return checked;
      types = checked;
    }
    const [row] = await this.changed(
      `UPDATE webhook_endpoint SET url = coalesce($3, url), event_types = coalesce($4, event_types),
         active = coalesce($5, active),
         -- Switching an endpoint on again clears why it was switched off.
         disabled_reason = CASE WHEN $5::boolean IS NULL THEN disabled_reason WHEN $5 THEN NULL ELSE 'deactivated by the partner' END,
         updated_at = now()
       WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2) AND deleted_at IS NULL RETURNING ${ENDPOINT_COLUMNS}`,
      [id, scopePartner(scope), url, types, change.active ?? null],
    );
    return row ? toEndpoint(row) : notFound();
  }

  /**
   * Removes the endpoint: it is no longer shown nor sent to, and deliveries queued for it end as
   * dead. The row stays (the hub's role deletes nothing), marked deleted.
   */
  async remove(scope: WebhookScope, id: string): Promise<{ id: string } | OpError<'webhookById'>> {
    if (!isUuid(id)) return notFound();
    const rows = await this.changed(
      `UPDATE webhook_endpoint SET deleted_at = now(), active = false, disabled_reason = 'deleted', updated_at = now()
       WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2) AND deleted_at IS NULL RETURNING id`,
      [id, scopePartner(scope)],
    );
    return rows.length > 0 ? { id } : notFound();
  }

  async rotateSecret(scope: WebhookScope, id: string): Promise<EndpointWithSecret | OpError<'webhookById'>> {
    if (!isUuid(id)) return notFound();
    const secret = newWebhookSecret();
    const [row] = await this.changed(
      `UPDATE webhook_endpoint SET secret = $3, updated_at = now() WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2) AND deleted_at IS NULL RETURNING ${ENDPOINT_COLUMNS}`,
      [id, scopePartner(scope), secret],
    );
    return row ? { endpoint: toEndpoint(row), secret } : notFound();
  }

  /** The rows an UPDATE … RETURNING changed. */
  private changed(text: string, params: unknown[]): Promise<Array<Record<string, any>>> {
    return withTransaction(this.dataSource, (tx) => queryRows<Record<string, any>>(tx, text, params));
  }

  async endpoint(scope: WebhookScope, id: string): Promise<WebhookEndpointRow | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2) AND deleted_at IS NULL`,
      [id, scopePartner(scope)],
    );
    return row ? toEndpoint(row) : null;
  }

  /** Oldest first. An operator may narrow to one partner. */
  async endpoints(
    scope: WebhookScope,
    page: { first: number; after?: string | null },
    partnerId?: string | null,
  ): Promise<Connection<WebhookEndpointRow>> {
    const after = readCursor(page.after, SEQ_CURSOR);
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoint
       WHERE ($1::text IS NULL OR partner_id = $1) AND ($2::text IS NULL OR partner_id = $2) AND ($3::bigint IS NULL OR seq > $3)
         AND deleted_at IS NULL
       ORDER BY seq LIMIT $4`,
      [scopePartner(scope), partnerId ?? null, after, page.first + 1],
    );
    return toConnection(rows.map(toEndpoint), page, (row) => row.sortKey);
  }

  /** Deliveries of several endpoints at once, newest first (for a DataLoader). */
  async deliveryPages(requests: readonly DeliveriesRequest[]): Promise<Array<Connection<WebhookDeliveryRow> | Error>> {
    const { cursors: afters, valid } = readPageCursors(requests, SEQ_CURSOR);
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT k.request, d.* FROM unnest($1::int[], $2::uuid[], $3::text[], $4::bigint[], $5::int[]) AS k(request, endpoint_id, status, after_seq, page_limit)
       CROSS JOIN LATERAL (
         SELECT d.*, e.type AS event_type FROM webhook_delivery d JOIN event e ON e.id = d.event_id
         WHERE d.endpoint_id = k.endpoint_id AND (k.status IS NULL OR d.status = k.status) AND (k.after_seq IS NULL OR d.seq < k.after_seq)
         ORDER BY d.seq DESC LIMIT k.page_limit
       ) d
       ORDER BY k.request, d.seq DESC`,
      [
        valid.map((v) => v.index),
        valid.map((v) => v.request.endpointId),
        valid.map((v) => v.request.status),
        valid.map((v) => v.after),
        valid.map((v) => v.request.page.first + 1),
      ],
    );
    const byRequest = new Map<number, WebhookDeliveryRow[]>();
    for (const row of rows) {
      const list = byRequest.get(row.request) ?? [];
      list.push(toDelivery(row));
      byRequest.set(row.request, list);
    }
    return requests.map((request, index) => {
      const after = afters[index];
      if (after instanceof Error) return after;
      return toConnection(byRequest.get(index) ?? [], request.page, (row) => row.sortKey);
    });
  }

  /** Attempts of several deliveries at once, newest first, a page each (for a DataLoader). */
  async attemptPages(requests: readonly AttemptsRequest[]): Promise<Array<Connection<DeliveryAttemptRow> | Error>> {
    const { cursors: afters, valid } = readPageCursors(requests, SEQ_CURSOR);
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT k.request, a.id::text AS sort_key, a.delivery_id, a.attempted_at, a.status_code, a.latency_ms, a.error
       FROM unnest($1::int[], $2::uuid[], $3::bigint[], $4::int[]) AS k(request, delivery_id, after_id, page_limit)
       CROSS JOIN LATERAL (
         SELECT * FROM webhook_delivery_attempt
         WHERE delivery_id = k.delivery_id AND (k.after_id IS NULL OR id < k.after_id)
         ORDER BY id DESC LIMIT k.page_limit
       ) a
       ORDER BY k.request, a.id DESC`,
      [
        valid.map((v) => v.index),
        valid.map((v) => v.request.deliveryId),
        valid.map((v) => v.after),
        valid.map((v) => v.request.page.first + 1),
      ],
    );
    const byRequest = new Map<number, DeliveryAttemptRow[]>();
    for (const row of rows) {
      const list = byRequest.get(row.request) ?? [];
      list.push({
        deliveryId: row.delivery_id,
        attemptedAt: row.attempted_at,
        statusCode: row.status_code,
        latencyMs: row.latency_ms,
        error: row.error,
        sortKey: row.sort_key,
      });
      byRequest.set(row.request, list);
    }
    return requests.map((request, index) => {
      const after = afters[index];
      if (after instanceof Error) return after;
      return toConnection(byRequest.get(index) ?? [], request.page, (row) => row.sortKey);
    });
  }

  /**
   * Sends a delivery again now, whatever its status (a dead one too): it becomes pending and a
   * job is queued for it. The webhook-id stays the event id, so the receiver can drop a duplicate.
   */
  async redeliver(scope: WebhookScope, deliveryId: string): Promise<WebhookDeliveryRow | OpError<'webhookById'>> {
    if (!isUuid(deliveryId)) return notFound();
    return withTransaction(this.dataSource, async (tx) => {
      const [row] = await queryRows<Record<string, any>>(
        tx,
        `UPDATE webhook_delivery d SET status = 'pending', next_attempt_at = now()
         FROM webhook_endpoint w, event e
         WHERE d.id = $1 AND w.id = d.endpoint_id AND e.id = d.event_id AND ($2::text IS NULL OR w.partner_id = $2)
           AND w.deleted_at IS NULL
         RETURNING d.*, e.type AS event_type`,
        [deliveryId, scopePartner(scope)],
      );
      if (!row) return notFound();
      await queueDeliveryJob(tx, deliveryId, null);
      return toDelivery(row);
    });
  }
}

/** The job that sends one delivery; one queued job per delivery (a later add moves its run time). */
export const DELIVER_WEBHOOK_TASK = 'deliver-webhook';

/** Queues (or moves) the delivery's job inside the caller's transaction; runAt null = now. */
export async function queueDeliveryJob(tx: EntityManager, deliveryId: string, runAt: Date | null): Promise<void> {
  await tx.query(
    `SELECT graphile_worker.add_job($1, json_build_object('deliveryId', $2::text), run_at => coalesce($3::timestamptz, now()),
       job_key => 'webhook-delivery:' || $2, max_attempts => 25)`,
    [DELIVER_WEBHOOK_TASK, deliveryId, runAt],
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are UUIDs: anything else names nothing (and never reaches a query as a malformed uuid). */
const isUuid = (id: string): boolean => UUID.test(id);

const scopePartner = (scope: WebhookScope): string | null => ('partnerId' in scope ? scope.partnerId : null);

const notFound = (): DomainError<ErrorCode.NOT_FOUND> => fail(ErrorCode.NOT_FOUND, 'no webhook endpoint or delivery with that id');
