/** Checks shared by everything the SDK signs (instructions and access tokens). */
import { isPartnerAlgorithm, type SigningKey } from './keys';

/** Lifetimes are whole seconds in 1..max; the hub rejects anything longer, so fail before signing. */
export function checkLifetime(seconds: number, max: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > max) {
    throw new RangeError(`lifetimeSeconds must be a whole number of seconds in 1..${max}`);
  }
  return seconds;
}

export function checkKey(key: SigningKey): void {
  if (typeof key !== 'object' || key === null || !isPartnerAlgorithm(key.alg)) {
    throw new TypeError('key must be a signing key with alg EdDSA or ES256');
  }
  if (typeof key.kid !== 'string' || key.kid.length === 0) throw new TypeError('key has no kid');
  if (key.privateKey?.type !== 'private') throw new TypeError('key.privateKey must be a private CryptoKey');
}

/** JWT NumericDate of `now` (default: the current time). */
export function epochSeconds(now: Date = new Date()): number {
  const ms = now.getTime();
  if (Number.isNaN(ms)) throw new TypeError('now is an invalid Date');
  return Math.floor(ms / 1000);
}
