import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DataSource } from 'typeorm';
import type { EventEnvelope, EventType } from '@coalition-hub/partner-sdk';
import { queryRows } from '../db/sql';
import { withTransaction } from '../db/with-transaction';
import { DELIVER_WEBHOOK_TASK, queueDeliveryJob } from './webhook-endpoints';
import { signWebhook, type DetachedSigner } from './webhook-signature';
import { guardedLookup } from './webhook-url';
import { processTime } from '../common/clock';

export interface WebhookDeliverySettings {
  allowPrivateUrls: boolean;
  timeoutMs: number;
  /** Delay before retry n (index n - 1), ms; once used up, the delivery is dead. */
  retryScheduleMs: readonly number[];
}

/** Where delivery figures go (HubMetrics). */
export interface WebhookObserver {
  webhookAttempt(outcome: AttemptOutcome, seconds: number): void;
  webhookQueueLag(seconds: number): void;
}

/** delivered: 2xx; retry: failed, another attempt is scheduled; dead: failed, no attempt left; disabled: 410. */
export type AttemptOutcome = 'delivered' | 'retry' | 'dead' | 'disabled';

/** The job that turns committed events into deliveries. */
export const DISPATCH_WEBHOOKS_TASK = 'dispatch-webhooks';
/** Events turned into deliveries per dispatcher transaction; a full batch queues the next at once. */
export const DISPATCH_BATCH = 500;

interface HttpAnswer {
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

/**
 * Webhook dispatch and delivery (docs/webhooks.md), run as jobs on the queue:
 *
 * - `dispatch()` reads events after its cursor in (tx_id, seq) order, only those of transactions
 *   older than every transaction still running (so none that commits later can be skipped),
 *   makes one delivery per (event, matching active endpoint of the event's partner, created before
 *   the event was committed) and queues
 *   a `deliver-webhook` job for each, and moves the cursor: all in one transaction, whose row lock
 *   on the cursor makes a second hub process wait and then go on from the moved cursor.
 * - `deliver(id)` sends one delivery, outside any transaction (a slow receiver holds no
 *   connection and no snapshot), then records the attempt and, on failure, queues the next one.
 */
export class WebhookDeliveryService {
  private readonly lookup;

  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: DetachedSigner,
    private readonly settings: WebhookDeliverySettings,
    private readonly observer: WebhookObserver,
    private readonly random: () => number = Math.random,
  ) {
    this.lookup = guardedLookup(settings.allowPrivateUrls);
  }

  /** One batch of events into deliveries; returns how many events it read. */
  async dispatch(): Promise<number> {
    return withTransaction(this.dataSource, async (tx) => {
      const [cursor] = await tx.query(`SELECT tx_id::text AS tx_id, seq FROM webhook_dispatch_cursor FOR UPDATE`);
      const events: Array<{ id: string; tx_id: string; seq: string }> = await tx.query(
        `SELECT id, tx_id::text AS tx_id, seq FROM event
         WHERE (tx_id, seq) > ($1::xid8, $2::bigint) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY tx_id, seq LIMIT ${DISPATCH_BATCH}`,
        [cursor.tx_id, cursor.seq],
      );
      const last = events[events.length - 1];
      if (last === undefined) return 0;
      await tx.query(
        `WITH made AS (
           INSERT INTO webhook_delivery (id, event_id, endpoint_id)
           SELECT gen_random_uuid(), e.id, w.id FROM event e
           JOIN webhook_endpoint w ON w.partner_id = e.partner_id AND w.active AND e.type = ANY (w.event_types)
           -- not the events already committed when the endpoint was created
           WHERE e.id = ANY ($1::uuid[]) AND NOT pg_visible_in_snapshot(e.tx_id, w.created_snapshot)
           ON CONFLICT (event_id, endpoint_id) DO NOTHING
           RETURNING id
         )
         SELECT graphile_worker.add_job($2, json_build_object('deliveryId', id::text), job_key => 'webhook-delivery:' || id::text, max_attempts => 25)
         FROM made`,
        [events.map((event) => event.id), DELIVER_WEBHOOK_TASK],
      );
      await tx.query(`UPDATE webhook_dispatch_cursor SET tx_id = $1::xid8, seq = $2`, [last.tx_id, last.seq]);
      return events.length;
    });
  }

  async deliver(deliveryId: string): Promise<void> {
    const [row] = await this.dataSource.query(
      `SELECT d.status, d.attempts, extract(epoch FROM now() - coalesce(d.next_attempt_at, d.created_at))::float8 AS lag_seconds,
              w.url, w.secret, w.active, e.id AS event_id, e.type, e.version, e.occurred_at, e.partner_id, e.member_id, e.data
       FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id JOIN event e ON e.id = d.event_id
       WHERE d.id = $1`,
      [deliveryId],
    );
    // Gone with its endpoint, or settled already (a redelivery makes it pending again first).
    if (!row || row.status === 'delivered' || row.status === 'dead') return;
    if (!row.active) {
      await this.dataSource.query(
        `UPDATE webhook_delivery SET status = 'dead', next_attempt_at = NULL, last_error = 'endpoint inactive: not sent'
         WHERE id = $1 AND status IN ('pending', 'failed')`,
        [deliveryId],
      );
      return;
    }
    this.observer.webhookQueueLag(Math.max(0, Number(row.lag_seconds)));
    const envelope: EventEnvelope = {
      id: row.event_id,
      type: row.type as EventType,
      version: row.version,
      occurredAt: new Date(row.occurred_at).toISOString(),
      partnerId: row.partner_id,
      memberId: row.member_id,
      data: row.data,
    };
    const body = JSON.stringify(envelope);
    const headers = await signWebhook({
      id: envelope.id,
      timestampSeconds: Math.floor(processTime.ms() / 1000),
      body,
      signer: this.signer,
      ...(row.secret ? { secret: row.secret as string } : {}),
    });
    const attemptedAt = processTime.now();
    const answer = await this.post(row.url, body, headers);
    const outcome = await this.record(deliveryId, attemptedAt, answer);
    this.observer.webhookAttempt(outcome, answer.latencyMs / 1000);
  }

  /** Writes the attempt and its consequence in one transaction. */
  private async record(deliveryId: string, attemptedAt: Date, answer: HttpAnswer): Promise<AttemptOutcome> {
    const { statusCode, latencyMs } = answer;
    const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const error = delivered ? null : (answer.error ?? `HTTP ${statusCode}`);
    return withTransaction(this.dataSource, async (tx) => {
      await tx.query(
        `INSERT INTO webhook_delivery_attempt (delivery_id, attempted_at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5)`,
        [deliveryId, attemptedAt, statusCode, latencyMs, error],
      );
      const [counted] = await queryRows<{ attempts: number; endpoint_id: string }>(
        tx,
        `UPDATE webhook_delivery SET attempts = attempts + 1, last_status_code = $2, last_latency_ms = $3, last_error = $4
         WHERE id = $1 RETURNING attempts, endpoint_id`,
        [deliveryId, statusCode, latencyMs, error],
      );
      if (!counted) return 'dead';
      if (delivered) {
        await tx.query(`UPDATE webhook_delivery SET status = 'delivered', delivered_at = now(), next_attempt_at = NULL WHERE id = $1`, [
          deliveryId,
        ]);
        return 'delivered';
      }
      if (statusCode === 410) {
        // 410 Gone: the receiver says the endpoint is no more. It is switched off, nothing more is sent to it.
        await tx.query(`UPDATE webhook_delivery SET status = 'dead', next_attempt_at = NULL WHERE id = $1`, [deliveryId]);
        await tx.query(`UPDATE webhook_endpoint SET active = false, disabled_reason = $2, updated_at = now() WHERE id = $1`, [
          counted.endpoint_id,
          `the endpoint answered HTTP 410 Gone at ${attemptedAt.toISOString()}`,
        ]);
        return 'disabled';
      }
      const step = this.settings.retryScheduleMs[counted.attempts - 1];
      if (step === undefined) {
        await tx.query(`UPDATE webhook_delivery SET status = 'dead', next_attempt_at = NULL WHERE id = $1`, [deliveryId]);
        return 'dead';
      }
      const delayMs = retryDelayMs(step, this.random);
      const [{ at }] = await tx.query(`SELECT now() + make_interval(secs => $1::float8 / 1000) AS at`, [delayMs]);
      await tx.query(`UPDATE webhook_delivery SET status = 'failed', next_attempt_at = $2 WHERE id = $1`, [deliveryId, at]);
      await queueDeliveryJob(tx, deliveryId, at as Date);
      return 'retry';
    });
  }

  /** POSTs the body; never follows a redirect; gives up after the timeout. */
  private post(url: string, body: string, headers: Record<string, string>): Promise<HttpAnswer> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (statusCode: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        resolve({ statusCode, error, latencyMs: elapsed() });
      };
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const outgoing = send(
        target,
        {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'coalition-hub-webhooks/1',
          },
          lookup: this.lookup as never,
          timeout: this.settings.timeoutMs,
        },
        (response: IncomingMessage) => {
          const status = response.statusCode ?? 0;
          // The answer's body is not kept; it is read (to its end) only so that the connection is released.
          response.resume();
          response.on('end', () =>
            finish(
              status,
              status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : status >= 300 ? `HTTP ${status}` : null,
            ),
          );
          response.on('error', (error) => finish(status, `HTTP ${status}, then ${error.message}`));
        },
      );
      const deadline = setTimeout(
        () => outgoing.destroy(new Error(`no answer within ${this.settings.timeoutMs} ms`)),
        this.settings.timeoutMs,
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${this.settings.timeoutMs} ms`)));
      outgoing.on('error', (error: NodeJS.ErrnoException) => finish(null, error.code ? `${error.code}: ${error.message}` : error.message));
      outgoing.on('close', () => {
        clearTimeout(deadline);
        finish(null, 'connection closed without an answer');
      });
      outgoing.end(body);
    });
  }
}

/**
 * The wait before a retry: drawn uniformly between half the step and the whole step. Jitter
 * spreads the retries of many deliveries that failed together (a receiver coming back is not hit
 * by all of them at once); keeping at least half of each step keeps the schedule's total span
 * (at least 24 h with the default schedule) whatever the draws.
 */
export function retryDelayMs(stepMs: number, random: () => number = Math.random): number {
  return Math.round(stepMs / 2 + random() * (stepMs / 2));
}
