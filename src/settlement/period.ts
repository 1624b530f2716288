/** A settlement period as read from `settlement_period` (docs/settlement.md, "Periods and the close"). */
export type PeriodStatus = 'open' | 'closing' | 'closed';

export interface PeriodRow {
  id: string;
  startsAt: Date;
  endsAt: Date;
  status: PeriodStatus;
  cutoffAt: Date | null;
  closedAt: Date | null;
  closedBy: string | null;
}

export const PERIOD_COLUMNS = 'id::text, starts_at, ends_at, status, cutoff_at, closed_at, closed_by';

/** A `settlement_period` row as PERIOD_COLUMNS selects it. */
export interface PeriodTableRow {
  id: string;
  starts_at: Date;
  ends_at: Date;
  status: PeriodStatus;
  cutoff_at: Date | null;
  closed_at: Date | null;
  closed_by: string | null;
}

export function toPeriod(row: PeriodTableRow): PeriodRow {
  return {
    id: row.id,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    status: row.status,
    cutoffAt: row.cutoff_at,
    closedAt: row.closed_at,
    closedBy: row.closed_by,
  };
}
