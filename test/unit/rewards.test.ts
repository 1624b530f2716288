import fc from 'fast-check';
import { eligibleFor, availableAt } from '../../src/rewards/catalogue';
import { newVoucherCode } from '../../src/rewards/redemption';

/** The pure rules of the rewards catalogue (docs/rewards.md): eligibility, availability, voucher codes. */
const TIERS = ['Base', 'Silver', 'Gold'];

function decodeBase32(code: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of code) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

describe('voucher codes', () => {
  it('are 26 base32 characters carrying 128 bits, and do not repeat', () => {
    const codes = new Set<string>();
    for (let i = 0; i < 2_000; i += 1) {
      const code = newVoucherCode();
      expect(code).toMatch(/^[A-Z2-7]{26}$/);
      expect(decodeBase32(code)).toHaveLength(16);
      codes.add(code);
    }
    expect(codes.size).toBe(2_000);
  });
});

describe('eligibility', () => {
  const reward = fc.record({
    partnerId: fc.constantFrom('A', 'B'),
    minTier: fc.option(fc.constantFrom(...TIERS), { nil: null }),
    tiers: fc.option(fc.subarray(TIERS, { minLength: 1 }), { nil: null }),
    coalitionWide: fc.boolean(),
  });
  const linked = fc.subarray(['A', 'B']).map((partners) => new Set(partners));

  it('never lets in a member below the minimum tier, outside the tiers listed, or of another partner for a partner-only reward', () => {
    fc.assert(
      fc.property(reward, fc.constantFrom(...TIERS), linked, (r, tier, partners) => {
        const eligible = eligibleFor(r, tier, TIERS, partners);
        const expected =
          (r.coalitionWide || partners.has(r.partnerId)) &&
          (r.minTier === null || TIERS.indexOf(tier) >= TIERS.indexOf(r.minTier)) &&
          (r.tiers === null || r.tiers.includes(tier));
        expect(eligible).toBe(expected);
      }),
    );
  });

  it('is monotone in the tier when the reward lists no tiers: a higher tier is eligible wherever a lower one is', () => {
    fc.assert(
      fc.property(reward, fc.nat(2), fc.nat(2), linked, (r, low, high, partners) => {
        const plain = { ...r, tiers: null };
        const [a, b] = low <= high ? [low, high] : [high, low];
        if (eligibleFor(plain, TIERS[a]!, TIERS, partners)) expect(eligibleFor(plain, TIERS[b]!, TIERS, partners)).toBe(true);
      }),
    );
  });
});

describe('availability', () => {
  it('is the half-open window [validFrom, validUntil) of an active reward', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const until = new Date('2026-02-01T00:00:00Z');
    const reward = { active: true, validFrom: from, validUntil: until };
    expect(availableAt(reward, new Date(from.getTime() - 1))).toBe(false);
    expect(availableAt(reward, from)).toBe(true);
    expect(availableAt(reward, new Date(until.getTime() - 1))).toBe(true);
    expect(availableAt(reward, until)).toBe(false);
    expect(availableAt({ ...reward, validUntil: null }, new Date('2099-01-01T00:00:00Z'))).toBe(true);
    expect(availableAt({ ...reward, active: false }, from)).toBe(false);
  });
});
