import type { ServerResponse } from 'node:http';
import { sendJson } from './respond';
import type { DataSource } from 'typeorm';
import { pendingMigrations } from '../db/data-source';

/**
 * Liveness and readiness, for an orchestrator or a load balancer:
 *   /livez   200 while the process runs and serves HTTP (restart it if this fails);
 *   /readyz  200 when the hub should get traffic: the database answers, every migration it
 *            knows is applied, and it is not shutting down; with DATABASE_READ_URL set, the
 *            replica answers too and has replayed those migrations; otherwise 503 naming what failed;
 *   /healthz the same as /readyz (kept for existing monitors).
 */
export const PROBE_PATHS = ['/livez', '/readyz', '/healthz'] as const;

export interface Check {
  ok: boolean;
  message?: string;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  /** The names of the checks that failed, in the order below. */
  failed: string[];
  /** `replica` only when DATABASE_READ_URL is set. */
  checks: { database: Check; migrations: Check; draining: Check; replica?: Check };
}

/** A check that takes longer than this counts as failed: a probe must answer even when the pool is stuck. */
const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class Probes {
  private draining = false;

  constructor(
    private readonly dataSource: DataSource,
    /** The pool of DATABASE_READ_URL, when set: member reads fail without it, so it is checked too. */
    private readonly readDataSource?: DataSource,
  ) {}

  /** From now on readiness fails with `draining`: the hub is shutting down. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async readiness(): Promise<ReadinessReport> {
    const draining: Check = this.draining ? { ok: false, message: 'the hub is shutting down' } : { ok: true };
    let database: Check = { ok: true };
    let migrations: Check;
    const replica = this.readDataSource ? this.replica(this.readDataSource) : undefined;
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 'the database');
      migrations = await withTimeout(this.pendingMigrations(this.dataSource), 'the migrations table');
    } catch (error) {
      database = { ok: false, message: error instanceof Error ? error.message : String(error) };
      migrations = { ok: false, message: 'unknown: the database is unreachable' };
    }
    const checks = { database, migrations, draining, ...(replica ? { replica: await replica } : {}) };
    const failed = Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name]) => name);
    return { status: failed.length === 0 ? 'ok' : 'unavailable', failed, checks };
  }

  /** Answers a probe path; false when `path` is not one. */
  async handle(path: string, response: ServerResponse): Promise<boolean> {
    if (!(PROBE_PATHS as readonly string[]).includes(path)) return false;
    const { status, body } = path === '/livez' ? { status: 200, body: { status: 'ok' } } : await this.readinessAnswer();
    sendJson(response, status, body, { 'cache-control': 'no-store' });
    return true;
  }

  private async readinessAnswer(): Promise<{ status: number; body: ReadinessReport }> {
    const report = await this.readiness();
    return { status: report.status === 'ok' ? 200 : 503, body: report };
  }

  private async pendingMigrations(dataSource: DataSource): Promise<Check> {
    const pending = await pendingMigrations(dataSource);
    return pending.length === 0 ? { ok: true } : { ok: false, message: `${pending.length} pending: ${pending.join(', ')}` };
  }

  /** The replica answers and has replayed every migration this build knows (else member reads would miss columns or tables). */
  private async replica(readDataSource: DataSource): Promise<Check> {
    try {
      const check = await withTimeout(this.pendingMigrations(readDataSource), 'the read replica');
      return check.ok ? check : { ok: false, message: `the read replica has not replayed every migration: ${check.message}` };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }
}
