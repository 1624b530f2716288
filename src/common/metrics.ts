import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobObserver, JobOutcome } from './jobs';

/** What the pool metrics read: node-postgres's Pool counters. */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * Prometheus metrics at /metrics: requests by route and status, their durations, every signed
 * instruction by op and outcome (the GraphQL result type, e.g. IssueReceipt or
 * InsufficientBalance, so a fraud wave of InvalidSignature shows on a dashboard), scheduled jobs,
 * the database pool and rate-limit refusals. docs/observability.md lists them all.
 */
export class HubMetrics implements JobObserver {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'coalition_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: 'coalition_http_request_duration_seconds',
    help: 'HTTP request durations by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly instructions = new Counter({
    name: 'coalition_instructions_total',
    help: 'Partner-signed instructions by op (enroll, issue, void, …; unknown when the request was refused before its operation could be read) and outcome (result type, or error:CODE).',
    labelNames: ['op', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly jobRuns = new Counter({
    name: 'coalition_job_runs_total',
    help: 'Scheduled job runs by job and outcome (ok, skipped: another instance held the job, failed).',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly jobDurations = new Histogram({
    name: 'coalition_job_duration_seconds',
    help: 'Scheduled job run durations by job.',
    labelNames: ['job'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly jobItems = new Counter({
    name: 'coalition_job_items_total',
    help: 'Items a scheduled job processed: lots expired, settlement periods closed.',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly kpiWatermark = new Gauge({
    name: 'coalition_kpi_rollup_complete_before_seconds',
    help: 'The KPI rollup watermark (Unix seconds): days before it are final in the rollup; the rest are read from recorded rows per query.',
    registers: [this.registry],
  });
  private readonly kpiQueries = new Histogram({
    name: 'coalition_kpi_query_duration_seconds',
    help: 'KPI queries by scope (partner, coalition) and outcome (ok, or the error code).',
    labelNames: ['scope', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly kpiTrendQueries = new Histogram({
    name: 'coalition_kpi_trend_query_duration_seconds',
    help: 'kpiMemberLift and kpiLiability queries by query (member_lift, liability), scope (partner, coalition) and outcome (ok, or the error code).',
    labelNames: ['query', 'scope', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly nonMemberReports = new Counter({
    name: 'coalition_kpi_non_member_reports_total',
    help: 'reportNonMemberCustomers mutations by outcome (ok, or the error code).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly operationsRefused = new Counter({
    name: 'coalition_operations_refused_total',
    help: 'Requests refused before running for what their document is: OPERATION_NOT_IN_SAFELIST (a safelist-only partner), PERSISTED_QUERY_NOT_FOUND (an unknown id).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'coalition_rate_limited_total',
    help: 'Requests refused by a rate limit, by scope (address: HTTP 429 before authentication; partner: a RateLimited result).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  private readonly webhookAttempts = new Counter({
    name: 'coalition_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (failed, another attempt scheduled), dead (failed, none left), disabled (410: endpoint switched off).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhookLatency = new Histogram({
    name: 'coalition_webhook_attempt_duration_seconds',
    help: 'How long a webhook attempt took, from sending to the answer (or the failure).',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly webhookQueueLagSeconds = new Histogram({
    name: 'coalition_webhook_queue_lag_seconds',
    help: 'How late a webhook attempt started after it was due (queue backlog).',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });

  private readonly databaseUnavailableRequests = new Counter({
    name: 'coalition_database_unavailable_total',
    help: 'Requests answered 503 SERVICE_UNAVAILABLE because the database could not be reached.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'coalition_' });
    for (const job of ['expiry', 'settlement_close', 'hold_expiry', 'vesting']) {
      this.jobItems.inc({ job }, 0);
      this.jobRuns.inc({ job, outcome: 'ok' }, 0);
    }
  }

  request(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.durations.observe({ route }, seconds);
  }

  instruction(op: string, outcome: string, count = 1): void {
    this.instructions.inc({ op, outcome }, count);
  }

  /** After a KPI refresh that ran: its watermark (a YYYY-MM-DD day, UTC). */
  kpiRefreshed(completeBefore: string | null): void {
    if (completeBefore) this.kpiWatermark.set(Date.parse(`${completeBefore}T00:00:00Z`) / 1000);
  }

  /** One KPI query. */
  kpiQuery(scope: 'partner' | 'coalition', outcome: string, seconds: number): void {
    this.kpiQueries.observe({ scope, outcome }, seconds);
  }

  /** One kpiMemberLift or kpiLiability query. */
  kpiTrendQuery(query: 'member_lift' | 'liability', scope: 'partner' | 'coalition', outcome: string, seconds: number): void {
    this.kpiTrendQueries.observe({ query, scope, outcome }, seconds);
  }

  /** One report of a partner's non-member customers. */
  nonMemberReport(outcome: string): void {
    this.nonMemberReports.inc({ outcome });
  }

  job(job: string, outcome: JobOutcome, seconds: number, items: number): void {
    this.jobRuns.inc({ job, outcome });
    this.jobDurations.observe({ job }, seconds);
    if (items > 0) this.jobItems.inc({ job }, items);
  }

  operationRefused(reason: 'OPERATION_NOT_IN_SAFELIST' | 'PERSISTED_QUERY_NOT_FOUND'): void {
    this.operationsRefused.inc({ reason });
  }

  limited(scope: 'address' | 'partner'): void {
    this.rateLimited.inc({ scope });
  }

  /** Open, idle and waiting counts of the database pool, read at each scrape. */
  observePool(pool: () => PoolCounts | undefined): void {
    const gauge = (name: string, help: string, read: (counts: PoolCounts) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const counts = pool();
          if (counts) this.set(read(counts));
        },
      });
    gauge('coalition_db_pool_connections', 'Open connections in the database pool (idle and in use).', (counts) => counts.totalCount);
    gauge('coalition_db_pool_idle_connections', 'Open connections in the database pool that are idle.', (counts) => counts.idleCount);
    gauge('coalition_db_pool_waiting_clients', 'Queries waiting for a connection from the database pool.', (counts) => counts.waitingCount);
  }

  /** HTTP requests received and not yet answered, read at each scrape (a draining hub counts down to 0). */
  observeRequestsInFlight(read: () => number): void {
    new Gauge({
      name: 'coalition_http_requests_in_flight',
      help: 'HTTP requests the server has received and not yet answered (this scrape included).',
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  webhookAttempt(outcome: 'delivered' | 'retry' | 'dead' | 'disabled', seconds: number): void {
    this.webhookAttempts.inc({ outcome });
    this.webhookLatency.observe(seconds);
  }

  webhookQueueLag(seconds: number): void {
    this.webhookQueueLagSeconds.observe(seconds);
  }

  databaseUnavailable(): void {
    this.databaseUnavailableRequests.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
