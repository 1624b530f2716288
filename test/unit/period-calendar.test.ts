import { PeriodCalendar } from '../../src/settlement/calendar';

/** Where settlement periods end (configurable length, in a configurable time zone). */
describe('PeriodCalendar.nextBoundary', () => {
  const next = (unit: 'hour' | 'day' | 'week' | 'month', zone: string, at: string) =>
    new PeriodCalendar(unit, zone).nextBoundary(new Date(at)).toISOString();

  it('ends a day at the next local midnight', () => {
    expect(next('day', 'UTC', '2026-11-23T10:00:00Z')).toBe('2026-11-24T00:00:00.000Z');
    expect(next('day', 'Europe/Berlin', '2026-11-23T10:00:00Z')).toBe('2026-11-23T23:00:00.000Z');
    // Exactly at a boundary: the next one, never the same instant.
    expect(next('day', 'UTC', '2026-11-24T00:00:00Z')).toBe('2026-11-25T00:00:00.000Z');
  });

  it('keeps local midnight across daylight saving: the spring day is 23 hours, the autumn day 25', () => {
    expect(next('day', 'Europe/Berlin', '2026-03-28T23:30:00Z')).toBe('2026-03-29T22:00:00.000Z');
    expect(next('day', 'Europe/Berlin', '2026-10-24T22:30:00Z')).toBe('2026-10-25T23:00:00.000Z');
  });

  it('ends hours, ISO weeks and months on their local boundaries', () => {
    expect(next('hour', 'Asia/Kolkata', '2026-11-23T10:10:00Z')).toBe('2026-11-23T10:30:00.000Z');
    expect(next('week', 'UTC', '2026-11-25T12:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('month', 'UTC', '2026-01-31T12:00:00Z')).toBe('2026-02-01T00:00:00.000Z');
  });

  it('refuses a time zone that does not exist', () => {
    expect(() => new PeriodCalendar('day', 'Mars/Olympus')).toThrow(/SETTLEMENT_TIME_ZONE/);
  });
});
