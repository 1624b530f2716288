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
