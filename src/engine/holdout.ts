import { createHash } from 'node:crypto';

/**
 * Campaign holdout groups (docs/loyalty-engine.md, "Holdout"): which members a campaign leaves out,
 * so that what its members bought can be compared with what members it left out bought.
 *
 * A member's place in a campaign is u = h / 2^64, where h is the first 8 bytes, read as an unsigned
 * big-endian integer, of SHA-256 over the UTF-8 text `<campaign id>:<member id>` (both ids as the hub
 * writes them: lowercase UUID text). The member is held out of the campaign when u < holdoutShare.
 * It depends on nothing else (no clock, no seed, no process state), so every hub process, before and
 * after a restart, puts each member on the same side; and each campaign draws its own holdout,
 * independently of the others. The comparison is exact (integers, no floating point): with
 * holdoutShare = s / 10^k, held out ⇔ h × 10^k < s × 2^64.
 */

const TWO_64 = 1n << 64n;
const SHARE = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$/;

/** h: the member's place in the campaign, 0 ≤ h < 2^64 (u = h / 2^64). */
export function holdoutPosition(campaignId: string, memberId: string): bigint {
  const digest = createHash('sha256').update(`${campaignId.toLowerCase()}:${memberId.toLowerCase()}`, 'utf8').digest();
  return digest.readBigUInt64BE(0);
}

/** Whether the campaign holds the member out: u < share (a decimal text, e.g. "0.1"; "0": never). */
export function isHeldOut(campaignId: string, memberId: string, share: string): boolean {
  if (share === '0') return false; // most campaigns: no hash on the activity's path
  if (!SHARE.test(share)) throw new Error(`holdout share ${JSON.stringify(share)} is not a decimal`);
  const [int, frac = ''] = share.split('.');
  const digits = BigInt(`${int}${frac}`);
  if (digits === 0n) return false;
  return holdoutPosition(campaignId, memberId) * 10n ** BigInt(frac.length) < digits * TWO_64;
}
