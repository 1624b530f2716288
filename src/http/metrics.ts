import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics at /metrics: requests by route and status, their durations, and every
 * instruction by operation and outcome (the GraphQL result type, e.g. IssueReceipt or
 * InsufficientBalance), so a fraud wave of InvalidSignature shows on a dashboard.
 */
export class HubMetrics {
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
    help: 'Partner-signed instructions by operation and outcome (result type).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly databaseUnavailableRequests = new Counter({
    name: 'coalition_database_unavailable_total',
    help: 'Requests answered 503 SERVICE_UNAVAILABLE because the database could not be reached.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'coalition_' });
  }

  request(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.durations.observe({ route }, seconds);
  }

  instruction(operation: string, outcome: string): void {
    this.instructions.inc({ operation, outcome });
  }

  databaseUnavailable(): void {
    this.databaseUnavailableRequests.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
