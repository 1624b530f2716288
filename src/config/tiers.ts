/** The tier thresholds from config (TIERS); src/members/tiers.ts places members on them. */
export interface TierRule {
  name: string;
  /** CP earned in the window from which the tier applies. */
  threshold: bigint;
}

/** "Base:0,Silver:1000,Gold:5000" → rules ordered by threshold; the first must start at 0. */
export function parseTiers(text: string): TierRule[] {
  const rules = text.split(',').map((part) => {
    const [name, threshold] = part.split(':').map((piece) => piece.trim());
    if (!name || !/^[A-Z][A-Za-z0-9]{0,31}$/.test(name) || !threshold || !/^[0-9]{1,15}$/.test(threshold)) {
      throw new Error(`TIERS: "${part}" is not Name:threshold (e.g. Silver:1000)`);
    }
    return { name, threshold: BigInt(threshold) };
  });
  rules.sort((a, b) => (a.threshold < b.threshold ? -1 : a.threshold > b.threshold ? 1 : 0));
  if (rules[0]?.threshold !== 0n) throw new Error('TIERS: the lowest tier starts at 0');
  if (new Set(rules.map((rule) => rule.name)).size !== rules.length) throw new Error('TIERS: tier names repeat');
  return rules;
}
