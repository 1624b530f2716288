import Decimal from 'decimal.js';
import type { DataSource } from 'typeorm';
import { Exact } from '../common/decimal';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { settingsAt, type KpiSettings } from './kpi-settings';
import { figuresAt, recordWanted, type FiguresOptions, type FiguresPath } from './kpi-bases';
import { LIFECYCLE_STAGES, monthIndex, monthOf, monthStart, monthText, type LifecycleStage } from './kpi-common';
import { prepareFigures, rollupCut, rollupState, type FigureSpec, type Figures } from './kpi-figures';

export { LIFECYCLE_STAGES, monthIndex, monthStart, monthText, type LifecycleStage } from './kpi-common';

/** The longest period one query may cover, in months. */
export const KPI_MAX_MONTHS = 24;

/** The first month a period may start in. */
export const KPI_FIRST_MONTH = '1970-01';

export { KPI_WORK_MEM } from './kpi-figures';

/** Decimal places of every ratio's `value` (rounded half to even; numerator and denominator are exact). */
export const RATIO_PLACES = 6;

export interface KpiQuery {
  /** null: the whole coalition. */
  partnerId: string | null;
  /** First and last month of the period, YYYY-MM, both included. */
  from: string;
  to: string;
  asOf: Date;
  segment?: { lifecycleStage?: LifecycleStage | null; enrolmentChannel?: string | null; tier?: string | null } | null;
}

/** The hub's tier rules (docs/ledger.md, "Tiers"), for the tier segment. */
export interface KpiTierRules {
  rules: ReadonlyArray<{ name: string; threshold: bigint }>;
  windowDays: number;
}

/** An exact ratio: its integer (or minor-unit) parts and their quotient to RATIO_PLACES places (null when the denominator is 0). */
export interface Ratio {
  numerator: string;
  denominator: string;
  value: string | null;
}

export interface CohortMonth {
  offset: number;
  month: string;
  active: number;
  retention: Ratio;
}

export interface RetentionCohort {
  month: string;
  size: number;
  months: CohortMonth[];
}

export interface Clv {
  /** Minor units, rounded half to even; null when there is no active member or no retention to model. */
  value: string | null;
  monthlyMarginPerMember: Ratio;
  monthlyRetention: Ratio;
  margin: string;
  monthlyDiscountRate: string;
}

export interface Kpis {
  partnerId: string | null;
  from: string;
  to: string;
  months: number;
  previousFrom: string;
  asOf: Date;
  /** Days before this one came from the rollup; the rest from the recorded rows, up to asOf. */
  rollupCompleteBefore: string | null;
  activeMembers: number;
  purchases: string;
  spend: string;
  previousSpend: string;
  enrolments: number;
  enrolmentsByChannel: Array<{ channel: string; members: number }>;
  retentionCohorts: RetentionCohort[];
  monthlyRetention: Ratio;
  churn: Ratio;
  repeatPurchaseRate: Ratio;
  purchaseFrequency: Ratio;
  averageTransactionValue: Ratio;
  spendGrowth: Ratio;
  clv: Clv;
  lifecycleFunnel: Array<{ stage: LifecycleStage; members: number }>;
  crossPartnerReach: Ratio;
  referralConversion: Ratio;
  rewardUptake: Array<{ kind: string; redemptions: number; members: number; uptake: Ratio }>;
  settings: KpiSettings;
}

export function ratio(numerator: bigint | number | string, denominator: bigint | number | string): Ratio {
  const n = new Exact(numerator.toString());
  const d = new Exact(denominator.toString());
  return {
    numerator: n.toFixed(),
    denominator: d.toFixed(),
    value: d.isZero() ? null : n.dividedBy(d).toFixed(RATIO_PLACES, Decimal.ROUND_HALF_EVEN),
  };
}

export interface KpiObserver {
  kpiQuery(scope: 'partner' | 'coalition', outcome: string, seconds: number): void;
}

/**
 * The KPIs of one scope and period as of a date (docs/kpis.md): a stored base of the same figures
 * as of an earlier time, rolled forward over the members who changed since, or else computed in
 * full from the rollups and the recorded rows up to asOf; either way in one read-only REPEATABLE
 * READ transaction, and the same numbers: the same query as of the same date answers the same.
 */
export class KpiService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly observer?: KpiObserver,
    /** Where combinations asked for without a base are recorded (the primary, when dataSource is a replica). */
    private readonly primary: DataSource = dataSource,
    /** The tier rules a tier segment counts by; without them, a tier segment is refused. */
    private readonly tiers?: KpiTierRules,
  ) {}

  async kpis(query: KpiQuery, now: Date): Promise<Kpis | OpError<'kpis'>> {
    const started = process.hrtime.bigint();
    const outcome = await this.explain(query, now);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.observer?.kpiQuery(query.partnerId === null ? 'coalition' : 'partner', 'code' in outcome ? outcome.code : 'ok', seconds);
    return 'code' in outcome ? outcome : outcome.kpis;
  }

  /**
   * The KPIs and how they were computed: from a base rolled forward, or in full (docs/kpis.md,
   * "Bases"). `full` skips the bases (the tests and the benchmark compare both ways).
   */
  async explain(query: KpiQuery, now: Date, options: FiguresOptions = {}): Promise<{ kpis: Kpis; path: FiguresPath } | OpError<'kpis'>> {
    const checked = checkPeriod(query, now);
    if (isDomainError(checked)) return checked;
    const { first, last, asOfMonth } = checked;
    const channel = query.segment?.enrolmentChannel ?? null;
    if (channel !== null && !/^[A-Za-z0-9_.-]{1,64}$/.test(channel))
      return fail(ErrorCode.INVALID_INPUT, 'enrolmentChannel is 1 to 64 of A-Z a-z 0-9 _ . -');
    const tierName = query.segment?.tier ?? null;
    const tierNames = (this.tiers?.rules ?? []).map((rule) => rule.name);
    if (tierName !== null && !tierNames.includes(tierName))
      return fail(ErrorCode.INVALID_INPUT, `tier is one of ${tierNames.join(', ') || '(no tiers configured)'}`);
    const tier =
      tierName === null || !this.tiers
        ? null
        : {
            name: tierName,
            names: tierNames,
            thresholds: this.tiers.rules.map((rule) => rule.threshold.toString()),
            windowDays: this.tiers.windowDays,
          };

    const outcome = await this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      await prepareFigures(tx);
      if (query.partnerId !== null) {
        const [known]: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [query.partnerId]);
        if (!known) return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${query.partnerId}`);
      }
      const settings = await settingsAt(tx, query.partnerId, query.asOf);
      const end = Math.min(last, asOfMonth) + 1; // first month after the (effective) period
      const spec: FigureSpec = {
        partnerId: query.partnerId,
        first,
        end,
        stage: query.segment?.lifecycleStage ?? null,
        channel,
        windowMonths: settings.lifecycleWindowMonths,
        loyalMinPurchases: settings.loyalMinPurchases,
        loyalMonths: settings.loyalMonths,
        tier,
      };
      const state = await rollupState(tx);
      const { figures, path } = await figuresAt(tx, spec, query.asOf, state, options);
      const cut = state.completeBefore === null ? null : rollupCut(state, query.asOf);
      const kpis = shape(query, settings, figures, { first, end, months: end - first, previousStart: first - (end - first), cut });
      return { kpis, path };
    });
    // Asked for now (not in the past) without a base: the refresh job prepares one for it from now on.
    if (!isDomainError(outcome) && outcome.path.kind === 'full' && outcome.path.reason === 'no base' && !options.full) {
      await recordWanted(this.primary, query, now);
    }
    return outcome;
  }
}

/** The period and asOf, checked: months since year 0 of the first and last month, and of asOf's month. */
export function checkPeriod(query: KpiQuery, now: Date): { first: number; last: number; asOfMonth: number } | OpError<'kpis'> {
  const first = monthIndex(query.from);
  const last = monthIndex(query.to);
  if (first === null || last === null) return fail(ErrorCode.INVALID_INPUT, 'period months are YYYY-MM');
  if (last < first) return fail(ErrorCode.INVALID_INPUT, 'the period ends before it starts');
  // The hub records nothing before 1970, and the months read before the period (the previous period, the lifecycle window) must still be dates.
  if (first < monthIndex(KPI_FIRST_MONTH)!) return fail(ErrorCode.INVALID_INPUT, `the period starts in ${KPI_FIRST_MONTH} or later`);
  if (last - first + 1 > KPI_MAX_MONTHS) return fail(ErrorCode.INVALID_INPUT, `the period is too long: at most ${KPI_MAX_MONTHS} months`);
  if (Number.isNaN(query.asOf.getTime()) || query.asOf.getTime() > now.getTime()) {
    return fail(ErrorCode.INVALID_INPUT, 'asOf is not in the future (figures as of a later time could still change)');
  }
  const asOfMonth = monthOf(query.asOf);
  if (first > asOfMonth) return fail(ErrorCode.INVALID_INPUT, 'the period starts after asOf');
  return { first, last, asOfMonth };
}

function shape(
  query: KpiQuery,
  settings: KpiSettings,
  f: Figures,
  p: { first: number; end: number; months: number; previousStart: number; cut: string | null },
): Kpis {
  const activeByCohort = new Map((f.cohortActive ?? []).map((row) => [`${row.cohort}/${row.month}`, row.active]));
  const sizes = new Map((f.cohorts ?? []).map((row) => [row.cohort, row.size]));
  const retentionCohorts: RetentionCohort[] = [];
  for (let cohort = p.first; cohort < p.end; cohort++) {
    const size = sizes.get(monthStart(cohort)) ?? 0;
    const months: CohortMonth[] = [];
    for (let month = cohort; month < p.end; month++) {
      const active = activeByCohort.get(`${monthStart(cohort)}/${monthStart(month)}`) ?? 0;
      months.push({ offset: month - cohort, month: monthText(month), active, retention: ratio(active, size) });
    }
    retentionCohorts.push({ month: monthText(cohort), size, months });
  }
  const funnel = new Map((f.funnel ?? []).map((row) => [row.stage, row.members]));
  const monthlyRetention = ratio(f.retained, f.retainedBase);
  const spend = BigInt(f.spend);
  const previousSpend = BigInt(f.prevSpend);
  return {
    partnerId: query.partnerId,
    from: monthText(p.first),
    to: monthText(p.end - 1),
    months: p.months,
    previousFrom: monthText(p.previousStart),
    asOf: query.asOf,
    rollupCompleteBefore: p.cut,
    activeMembers: f.active,
    purchases: f.purchases,
    spend: f.spend,
    previousSpend: f.prevSpend,
    enrolments: (f.enrolments ?? []).reduce((sum, row) => sum + row.members, 0),
    enrolmentsByChannel: f.enrolments ?? [],
    retentionCohorts,
    monthlyRetention,
    churn: ratio(f.retainedBase - f.retained, f.retainedBase),
    repeatPurchaseRate: ratio(f.repeaters, f.buyers),
    purchaseFrequency: ratio(f.purchases, f.active),
    averageTransactionValue: ratio(f.spend, f.purchases),
    spendGrowth: ratio(spend - previousSpend, previousSpend),
    clv: clv(spend, f.active, p.months, f.retained, f.retainedBase, settings),
    lifecycleFunnel: LIFECYCLE_STAGES.map((stage) => ({ stage, members: funnel.get(stage) ?? 0 })),
    crossPartnerReach: ratio(f.reach, f.active),
    referralConversion: ratio(f.converted, f.referrals),
    rewardUptake: (f.rewards ?? []).map((row) => ({ ...row, uptake: ratio(row.members, f.active) })),
    settings,
  };
}

/**
 * CLV = m × r / (1 + d − r): m the monthly margin per active member (spend × margin / active
 * members / months), r the monthly retention, d the monthly discount rate (docs/kpis.md, "CLV").
 */
export function clv(spend: bigint, active: number, months: number, retained: number, base: number, settings: KpiSettings): Clv {
  const marginPerMember = ratio(new Exact(spend.toString()).times(settings.margin).toFixed(), active * months);
  const retention = ratio(retained, base);
  let value: string | null = null;
  if (active > 0 && base > 0) {
    const m = new Exact(spend.toString()).times(settings.margin).dividedBy(active * months);
    const r = new Exact(retained).dividedBy(base);
    const denominator = new Exact(1).plus(settings.monthlyDiscountRate).minus(r);
    if (denominator.gt(0)) value = m.times(r).dividedBy(denominator).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toFixed(0);
  }
  return {
    value,
    monthlyMarginPerMember: marginPerMember,
    monthlyRetention: retention,
    margin: settings.margin,
    monthlyDiscountRate: settings.monthlyDiscountRate,
  };
}
