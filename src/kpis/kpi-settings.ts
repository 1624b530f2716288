import type { DataSource, EntityManager } from 'typeorm';
import { decimalText, parseDecimal } from '../common/decimal';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';

/** The CLV inputs and lifecycle thresholds in force (docs/kpis.md, "Settings"). */
export interface KpiSettings {
  /** '' for the coalition's own row. */
  partnerId: string | null;
  /** Share of the basket that is the partner's margin (exact decimal, 0..1). */
  margin: string;
  /** Monthly discount rate d of the CLV model (exact decimal, 0..1). */
  monthlyDiscountRate: string;
  /** Lifecycle: the window, in calendar months ending with the period's last month. */
  lifecycleWindowMonths: number;
  /** Lifecycle: purchases in the window a loyal member has at least (L). */
  loyalMinPurchases: number;
  /** Lifecycle: the last Q months in each of which a loyal member was active. */
  loyalMonths: number;
  /** When these took effect (null: the defaults, never set). */
  setAt: Date | null;
}

/** What an operator sets; a field left out keeps its value in force. */
export interface KpiSettingsInput {
  margin?: string | null;
  monthlyDiscountRate?: string | null;
  lifecycleWindowMonths?: number | null;
  loyalMinPurchases?: number | null;
  loyalMonths?: number | null;
}

/** The values before anyone sets any (docs/kpis.md). */
export const KPI_DEFAULTS = {
  margin: '0.2',
  monthlyDiscountRate: '0.01',
  lifecycleWindowMonths: 12,
  loyalMinPurchases: 6,
  loyalMonths: 3,
} as const;

interface Row {
  margin: string | null;
  monthly_discount_rate: string | null;
  lifecycle_window_months: number | null;
  loyal_min_purchases: number | null;
  loyal_months: number | null;
  set_at: Date;
}

type Querier = Pick<EntityManager, 'query'>;

async function latest(db: Querier, partnerId: string, at: Date): Promise<Row | null> {
  const [row]: Row[] = await db.query(
    `SELECT margin::text, monthly_discount_rate::text, lifecycle_window_months, loyal_min_purchases, loyal_months, set_at
       FROM kpi_settings WHERE partner_id = $1 AND set_at <= $2 ORDER BY set_at DESC, id DESC LIMIT 1`,
    [partnerId, at],
  );
  return row ?? null;
}

/** The settings in force at `at` for a partner's figures (its own margin and rate over the coalition's), or the coalition's (null). */
export async function settingsAt(db: Querier, partnerId: string | null, at: Date): Promise<KpiSettings> {
  const coalition = await latest(db, '', at);
  const own = partnerId ? await latest(db, partnerId, at) : null;
  return {
    partnerId,
    margin: decimalText(own?.margin ?? coalition?.margin ?? KPI_DEFAULTS.margin),
    monthlyDiscountRate: decimalText(own?.monthly_discount_rate ?? coalition?.monthly_discount_rate ?? KPI_DEFAULTS.monthlyDiscountRate),
    lifecycleWindowMonths: coalition?.lifecycle_window_months ?? KPI_DEFAULTS.lifecycleWindowMonths,
    loyalMinPurchases: coalition?.loyal_min_purchases ?? KPI_DEFAULTS.loyalMinPurchases,
    loyalMonths: coalition?.loyal_months ?? KPI_DEFAULTS.loyalMonths,
    setAt: own?.set_at ?? coalition?.set_at ?? null,
  };
}

const unitShare = (text: string | null | undefined): boolean => {
  if (text === null || text === undefined) return true;
  const value = parseDecimal(text);
  return value !== null && value.lte(1);
};

/**
 * A new settings row from `at` (operator). A partner's row holds only its margin and discount rate;
 * the lifecycle thresholds are the coalition's (partnerId null). Every bad value: InvalidInput, nothing written.
 */
export async function setKpiSettings(
  dataSource: DataSource,
  partnerId: string | null,
  input: KpiSettingsInput,
  by: string,
  at: Date,
): Promise<KpiSettings | OpError<'setting'>> {
  if (!unitShare(input.margin)) return fail(ErrorCode.INVALID_INPUT, 'margin is a decimal between 0 and 1, e.g. "0.25"');
  if (!unitShare(input.monthlyDiscountRate))
    return fail(ErrorCode.INVALID_INPUT, 'monthlyDiscountRate is a decimal between 0 and 1, e.g. "0.01"');
  const lifecycle = [input.lifecycleWindowMonths, input.loyalMinPurchases, input.loyalMonths];
  if (partnerId && lifecycle.some((value) => value !== null && value !== undefined)) {
    return fail(ErrorCode.INVALID_INPUT, 'the lifecycle thresholds are the coalition’s: set them without partnerId');
  }
  if (partnerId) {
    const [known]: unknown[] = await dataSource.query('SELECT 1 FROM partner WHERE id = $1', [partnerId]);
    if (!known) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
  }
  const current = await settingsAt(dataSource, partnerId, at);
  const window = input.lifecycleWindowMonths ?? current.lifecycleWindowMonths;
  const loyalMonths = input.loyalMonths ?? current.loyalMonths;
  const loyalMin = input.loyalMinPurchases ?? current.loyalMinPurchases;
  if (!Number.isInteger(window) || window < 1 || window > 36) return fail(ErrorCode.INVALID_INPUT, 'lifecycleWindowMonths is 1 to 36');
  if (!Number.isInteger(loyalMonths) || loyalMonths < 1 || loyalMonths > window) {
    return fail(ErrorCode.INVALID_INPUT, 'loyalMonths is 1 to lifecycleWindowMonths');
  }
  if (!Number.isInteger(loyalMin) || loyalMin < 1 || loyalMin > 1000)
    return fail(ErrorCode.INVALID_INPUT, 'loyalMinPurchases is 1 to 1000');
  // A partner's row keeps what it does not set unset, so that it goes on following the coalition's value.
  const own = partnerId ? await latest(dataSource, partnerId, at) : null;
  const margin = input.margin ?? (partnerId ? (own?.margin ?? null) : current.margin);
  const rate = input.monthlyDiscountRate ?? (partnerId ? (own?.monthly_discount_rate ?? null) : current.monthlyDiscountRate);
  await dataSource.query(
    `INSERT INTO kpi_settings (partner_id, margin, monthly_discount_rate, lifecycle_window_months, loyal_min_purchases, loyal_months, set_by, set_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    partnerId ? [partnerId, margin, rate, null, null, null, by, at] : ['', margin, rate, window, loyalMin, loyalMonths, by, at],
  );
  return settingsAt(dataSource, partnerId, at);
}
