/** The hub's notion of now, injectable so that tests can move time (expiry windows, token lifetimes). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
