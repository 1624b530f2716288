/**
 * The hub's notion of now, injectable so that tests can move time (expiry windows, token lifetimes).
 *
 * Business time (entries, lots, holds, vesting, tiers, instruction and quote lifetimes, settlement
 * periods) is read only through a `Clock`. A member attached to a sandbox test clock lives on that
 * clock's time instead: the database's `member_now(member, now)` and `TestClockService.timeOf` turn the
 * hub's now into the member's (docs/sandbox.md). ESLint forbids `Date.now()` and `new Date()` outside
 * this file (eslint.config.mjs), so a new reading of time has to choose between the two below.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The machine's time for what is not business time: latencies, timeouts, retry and shutdown
 * deadlines, job-queue scheduling, webhook signature timestamps (checked by receivers against their
 * own clocks), the demo's console. Never for anything the ledger records or decides on.
 */
export const processTime = {
  ms: (): number => Date.now(),
  now: (): Date => new Date(),
};

/**
 * Whose time a job or a read runs on: the members on real time (`testClockId` null, the scheduled
 * jobs), or the members attached to one test clock (the clock's advance). A job run on one scope never
 * touches the members of another (docs/sandbox.md, "Isolation").
 */
export interface TimeScope {
  testClockId: string | null;
}

export const REAL_TIME: TimeScope = { testClockId: null };
