import type { EntityManager } from 'typeorm';
import { isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { checkPeriod, type KpiQuery } from './kpi.service';
import { utcDay } from './rollups';

/** A checked period, in months since year 0: its first month, and the first month after it that is counted. */
export interface CheckedPeriod {
  first: number;
  /** The first month after the period as counted (months after the month of asOf are left out). */
  end: number;
}

/**
 * The period and asOf checked as `kpis` checks them (docs/kpis.md, "The query"), and no month before
 * KPI_FIRST_MONTH (kpi.service.ts); then, in the transaction, that the partner exists (UnknownPartner).
 */
export function checkTrendPeriod(query: KpiQuery, now: Date): CheckedPeriod | OpError<'kpis'> {
  const checked = checkPeriod(query, now);
  if (isDomainError(checked)) return checked;
  return { first: checked.first, end: Math.min(checked.last, checked.asOfMonth) + 1 };
}

export async function knownPartner(tx: Pick<EntityManager, 'query'>, partnerId: string): Promise<boolean> {
  const [known]: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [partnerId]);
  return known !== undefined;
}

/** Days before the returned day come from the rollup, the rest from recorded rows (as `kpis` reads them); null: never refreshed. */
export async function rollupCut(tx: Pick<EntityManager, 'query'>, asOf: Date): Promise<string | null> {
  const [state]: Array<{ complete_before: string }> = await tx.query(
    "SELECT to_char(complete_before, 'YYYY-MM-DD') AS complete_before FROM kpi_refresh_state",
  );
  if (!state) return null;
  const asOfDay = utcDay(asOf);
  return state.complete_before < asOfDay ? state.complete_before : asOfDay;
}

/** Where the KPI trend queries and non-member reports are counted (HubMetrics). */
export interface KpiTrendObserver {
  kpiTrendQuery(query: 'member_lift' | 'liability', scope: 'partner' | 'coalition', outcome: string, seconds: number): void;
  nonMemberReport(outcome: string): void;
}

/** Runs one trend query and reports its duration and outcome (ok, or the error code). */
export async function observed<T extends object>(
  observer: KpiTrendObserver | undefined,
  query: 'member_lift' | 'liability',
  partnerId: string | null,
  work: () => Promise<T>,
): Promise<T> {
  const started = process.hrtime.bigint();
  const outcome = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  observer?.kpiTrendQuery(query, partnerId === null ? 'coalition' : 'partner', isDomainError(outcome) ? outcome.code : 'ok', seconds);
  return outcome;
}
