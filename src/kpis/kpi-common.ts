/** What the KPI rollups, figures and bases share (docs/kpis.md). */

/** A day stays open in the rollup until this long after its end; bases are as of this long before now. */
export const KPI_REFRESH_LAG_MS = 10 * 60_000;

/** The entry types that count as earning and burning (docs/kpis.md). */
export const EARN_TYPES = ['issue', 'grant', 'referral', 'stamp_reward'] as const;
export const BURN_TYPES = ['redeem', 'reward'] as const;

/** The lifecycle stages, first to last (docs/kpis.md, "Lifecycle"). */
export const LIFECYCLE_STAGES = ['FIRST_VISIT', 'ONE_TIME', 'RETURNING', 'REPEAT', 'LOYAL'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** YYYY-MM-DD of `at` in UTC. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

const MONTH = /^([0-9]{4})-(0[1-9]|1[0-2])$/;

/** Months since year 0 of a YYYY-MM, or null. */
export function monthIndex(text: string): number | null {
  const match = MONTH.exec(text);
  return match ? Number(match[1]) * 12 + Number(match[2]) - 1 : null;
}

export const monthText = (index: number): string =>
  `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
export const monthStart = (index: number): string => `${monthText(index)}-01`;

/** Months since year 0 of the UTC month of `at`. */
export const monthOf = (at: Date): number => monthIndex(utcDay(at).slice(0, 7))!;
