import { DateTime } from 'luxon';

export const PERIOD_UNITS = ['hour', 'day', 'week', 'month'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/**
 * Where settlement periods end: at the start of the next calendar unit (hour, day, ISO week,
 * month) in the coalition's time zone, so a daily period ends at local midnight whatever the
 * daylight-saving change of that night.
 */
export class PeriodCalendar {
  constructor(
    readonly unit: PeriodUnit,
    readonly timeZone: string,
  ) {
    if (!DateTime.now().setZone(timeZone).isValid)
      throw new Error(`invalid configuration: SETTLEMENT_TIME_ZONE ${timeZone} is not an IANA time zone`);
  }

  /** The first boundary strictly after `at`. */
  nextBoundary(at: Date): Date {
    const local = DateTime.fromJSDate(at, { zone: this.timeZone });
    return local
      .startOf(this.unit)
      .plus({ [`${this.unit}s`]: 1 })
      .toJSDate();
  }
}
