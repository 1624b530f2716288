import { Exact } from '../common/decimal';

/**
 * The loyalty engine's evaluation (docs/loyalty-engine.md): a pure, deterministic function of an
 * activity, the partner's earn rule versions in force, the campaigns in scope with their budget
 * state, and what is known of the member. No I/O, no clock, no randomness: the same inputs always
 * give the same contributions, in the same order.
 *
 * Order: earn rules → tier multiplier → campaigns by priority (respecting stacking) → per-member
 * caps → campaign budgets. Every contribution is computed exactly (decimal.js) and floored to
 * whole points on its own. A campaign that holds the member out (`heldOut`) awards nothing and
 * is listed in `heldOut` when it would have applied.
 */

export const ACTION_KINDS = ['signup', 'profile_completed', 'review', 'referral_qualified', 'engagement'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export interface PurchaseLine {
  category: string | null;
  sku: string | null;
  quantity: bigint;
  /** The line's value in minor units. */
  amountMinor: bigint;
}

export type EngineActivity =
  | { kind: 'purchase'; partnerId: string; at: Date; totalMinor: bigint; currency: string; lines: readonly PurchaseLine[] }
  | { kind: 'action'; partnerId: string; at: Date; action: ActionKind };

export interface EarnRuleVersion {
  ruleId: string;
  version: number;
  name: string;
  /** spend: `pointsPerUnit` points for every `unitMinor` minor units spent (optionally only on a category or SKU); action: fixed points. */
  kind: 'spend' | 'action';
  pointsPerUnit: string | null;
  unitMinor: bigint | null;
  category: string | null;
  sku: string | null;
  action: ActionKind | null;
  points: bigint | null;
  minBasketMinor: bigint;
  capPerDay: bigint | null;
  capPerMonth: bigint | null;
}

export type CampaignTarget = { kind: 'all' } | { kind: 'tiers'; tiers: readonly string[] } | { kind: 'new_at_partner' };

export interface CampaignState {
  campaignId: string;
  version: number;
  name: string;
  /** multiplier: the rules' earn × (multiplier − 1) on top; bonus: fixed points. */
  kind: 'multiplier' | 'bonus';
  multiplier: string | null;
  bonusPoints: bigint | null;
  /** What triggers it: a purchase, or one of the actions. */
  trigger: 'purchase' | ActionKind;
  startsAt: Date;
  endsAt: Date;
  /** The partners in scope, each funding its share (shares add up to 1). */
  funders: ReadonlyArray<{ partnerId: string; share: string; issuePrice: string }>;
  target: CampaignTarget;
  stacking: 'stackable' | 'exclusive';
  /** Higher first. */
  priority: number;
  /** Awards per member, at most; null: no limit. */
  perMemberLimit: number | null;
  /** Awards this member has had. */
  memberAwards: number;
  pointsCap: bigint | null;
  pointsUsed: bigint;
  moneyCapMinor: bigint | null;
  moneyUsedMinor: bigint;
  /** Over budget: refuse the whole activity (CampaignBudgetExhausted) instead of leaving the campaign out. */
  strict: boolean;
  /**
   * The member is in the campaign's holdout group (src/engine/holdout.ts): the campaign awards it
   * nothing, uses none of its budget and does not keep other campaigns from stacking, as if it did
   * not exist; where it would have applied, the evaluation lists it in `heldOut`.
   */
  heldOut: boolean;
}

/** A campaign that would have applied to the activity had it not held the member out. */
export interface HeldOutCampaign {
  campaignId: string;
  version: number;
}

export interface MemberFacts {
  tier: string;
  /** The activity partner's contract multiplier for that tier ('1' when none). */
  tierMultiplier: string;
  boughtAtPartnerBefore: boolean;
  /** Points each rule has given this member in the activity's day and month. */
  ruleUsage: Readonly<Record<string, { day: bigint; month: bigint }>>;
}

export interface ContributionSource {
  kind: 'rule' | 'tier' | 'campaign';
  id: string;
  version: number;
}

export interface Contribution {
  source: ContributionSource;
  points: bigint;
  reason: string;
  fundingPartnerId: string;
  /** For campaign contributions: what it costs the funder in minor units (points × its issue price, half to even). */
  moneyMinor: bigint;
}

export type Evaluation =
  | { ok: true; contributions: Contribution[]; notes: string[]; total: bigint; heldOut: HeldOutCampaign[] }
  | { ok: false; code: 'CAMPAIGN_BUDGET_EXHAUSTED'; campaignId: string; message: string };

/**
 * Exact non-negative rationals on bigints (numerator, denominator): every rate and multiplier is a
 * decimal of at most 12 places, so the engine's arithmetic is exact without decimal.js's cost on the
 * hot path (decimal.js, src/common/decimal.ts, only words the reasons).
 */
interface Ratio {
  n: bigint;
  d: bigint;
}
const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};
const ratio = (n: bigint, d: bigint): Ratio => {
  const g = gcd(n < 0n ? -n : n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
};
const whole = (value: bigint): Ratio => ({ n: value, d: 1n });
/** "1.37" → 137/100 (the decimals are checked where they are stored). */
function dec(text: string): Ratio {
  const [int, frac = ''] = text.split('.');
  return ratio(BigInt(`${int}${frac}`), 10n ** BigInt(frac.length));
}
const add = (a: Ratio, b: Ratio): Ratio => (a.d === b.d ? ratio(a.n + b.n, a.d) : ratio(a.n * b.d + b.n * a.d, a.d * b.d));
const mul = (a: Ratio, b: Ratio): Ratio => ratio(a.n * b.n, a.d * b.d);
const minusOne = (a: Ratio): Ratio => ({ n: a.n - a.d, d: a.d });
/** Floor of a non-negative ratio (negative ones floor to their integer part below). */
const floor = (value: Ratio): bigint => {
  const q = value.n / value.d;
  return value.n < 0n && q * value.d !== value.n ? q - 1n : q;
};
const exact = (value: bigint | string): Exact => new Exact(value.toString());
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
/** "2", "1.25" → "×2", "+25 %" style wording. */
const percentOver = (multiplier: string) => `+${exact(multiplier).minus(1).times(100).toFixed()} %`;

/** The spend a rule counts: lines matching its category/SKU, else the whole basket. */
function spendOf(rule: EarnRuleVersion, activity: Extract<EngineActivity, { kind: 'purchase' }>): bigint {
  if (rule.category === null && rule.sku === null) return activity.totalMinor;
  let spend = 0n;
  for (const line of activity.lines) {
    if (rule.category !== null && line.category !== rule.category) continue;
    if (rule.sku !== null && line.sku !== rule.sku) continue;
    spend += line.amountMinor;
  }
  return spend;
}

/** The points of `raw` money for a funder, half to even: exactly the settlement line (src/settlement/lines.ts). */
export function moneyOf(points: bigint, issuePrice: string): bigint {
  const price = dec(issuePrice);
  const n = points * price.n;
  const q = n / price.d;
  const r2 = 2n * (n % price.d);
  return r2 > price.d || (r2 === price.d && q % 2n !== 0n) ? q + 1n : q;
}

/** The most points (≤ wanted) whose money at `issuePrice` fits in `moneyLeft`. */
export function pointsWithinMoney(wanted: bigint, issuePrice: string, moneyLeft: bigint): bigint {
  if (moneyLeft < 0n) return 0n;
  if (moneyOf(wanted, issuePrice) <= moneyLeft) return wanted;
  const price = dec(issuePrice);
  let points = minBig(wanted, (moneyLeft * price.d) / price.n);
  // Half-even rounding may let one more point fit.
  while (points < wanted && moneyOf(points + 1n, issuePrice) <= moneyLeft) points += 1n;
  while (points > 0n && moneyOf(points, issuePrice) > moneyLeft) points -= 1n;
  return points;
}

function targets(campaign: CampaignState, facts: MemberFacts): boolean {
  if (campaign.target.kind === 'all') return true;
  if (campaign.target.kind === 'tiers') return campaign.target.tiers.includes(facts.tier);
  return !facts.boughtAtPartnerBefore;
}

interface RuleEarn {
  rule: EarnRuleVersion;
  exact: Ratio;
}

export function evaluate(
  activity: EngineActivity,
  ruleVersions: readonly EarnRuleVersion[],
  campaignStates: readonly CampaignState[],
  memberFacts: MemberFacts,
): Evaluation {
  const notes: string[] = [];
  // 1. Earn rules, in rule id order.
  const earns: RuleEarn[] = [];
  for (const rule of [...ruleVersions].sort((a, b) => byId(a.ruleId, b.ruleId))) {
    if (activity.kind === 'purchase') {
      if (rule.kind !== 'spend') continue;
      if (activity.totalMinor < rule.minBasketMinor) {
        notes.push(`${rule.name}: basket below the minimum of ${rule.minBasketMinor}`);
        continue;
      }
      const spend = spendOf(rule, activity);
      if (spend <= 0n) continue;
      earns.push({ rule, exact: mul(ratio(spend, rule.unitMinor ?? 1n), dec(rule.pointsPerUnit ?? '0')) });
    } else {
      if (rule.kind !== 'action' || rule.action !== activity.action) continue;
      earns.push({ rule, exact: whole(rule.points ?? 0n) });
    }
  }
  const base = earns.reduce((sum, earn) => add(sum, earn.exact), whole(0n));
  const contributions: Contribution[] = earns.map(({ rule, exact: raw }) => ({
    source: { kind: 'rule', id: rule.ruleId, version: rule.version },
    points: floor(raw),
    reason:
      rule.kind === 'spend'
        ? `${rule.name}: ${rule.pointsPerUnit} per ${rule.unitMinor} spent${rule.category ? ` on ${rule.category}` : ''}${rule.sku ? ` (SKU ${rule.sku})` : ''}`
        : `${rule.name}: ${rule.points} for ${rule.action}`,
    fundingPartnerId: activity.partnerId,
    moneyMinor: 0n,
  }));

  // 2. The tier multiplier, on the rules' earn.
  const tierMultiplier = dec(memberFacts.tierMultiplier);
  if (base.n !== 0n && tierMultiplier.n > tierMultiplier.d) {
    contributions.push({
      source: { kind: 'tier', id: memberFacts.tier, version: 1 },
      points: floor(mul(base, minusOne(tierMultiplier))),
      reason: `${memberFacts.tier} tier ${percentOver(memberFacts.tierMultiplier)}`,
      fundingPartnerId: activity.partnerId,
      moneyMinor: 0n,
    });
  }

  // 3. Campaigns by priority (then id), respecting stacking.
  const trigger = activity.kind === 'purchase' ? 'purchase' : activity.action;
  const campaigns = [...campaignStates].sort((a, b) => b.priority - a.priority || byId(a.campaignId, b.campaignId));
  const awarded: Array<{ campaign: CampaignState; parts: Contribution[] }> = [];
  const withheld: Array<{ campaign: CampaignState; parts: Contribution[] }> = [];
  for (const campaign of campaigns) {
    if (campaign.trigger !== trigger) continue;
    if (!campaign.funders.some((funder) => funder.partnerId === activity.partnerId)) continue;
    if (activity.at < campaign.startsAt || activity.at >= campaign.endsAt) continue;
    if (!targets(campaign, memberFacts)) continue;
    if (awarded.length > 0 && (campaign.stacking === 'exclusive' || awarded.some((a) => a.campaign.stacking === 'exclusive'))) {
      notes.push(`${campaign.name}: does not stack with ${awarded.map((a) => a.campaign.name).join(', ')}`);
      continue;
    }
    const raw = campaign.kind === 'bonus' ? whole(campaign.bonusPoints ?? 0n) : mul(base, minusOne(dec(campaign.multiplier ?? '1')));
    if (raw.n <= 0n) continue;
    const wording = campaign.kind === 'bonus' ? `+${campaign.bonusPoints}` : `×${campaign.multiplier}`;
    const parts = [...campaign.funders]
      .sort((a, b) => byId(a.partnerId, b.partnerId))
      .map((funder): Contribution => ({
        source: { kind: 'campaign', id: campaign.campaignId, version: campaign.version },
        points: floor(mul(raw, dec(funder.share))),
        reason:
          campaign.funders.length > 1
            ? `${campaign.name} campaign ${wording} (${funder.partnerId}'s share ${funder.share})`
            : `${campaign.name} campaign ${wording}`,
        fundingPartnerId: funder.partnerId,
        moneyMinor: 0n,
      }));
    // A held-out member: the campaign is left out here, so it neither awards nor keeps others from stacking.
    if (campaign.heldOut) withheld.push({ campaign, parts });
    else awarded.push({ campaign, parts });
  }

  // 4. Per-member caps: each rule's points per day and month, each campaign's awards per member.
  for (const contribution of contributions) {
    if (contribution.source.kind !== 'rule') continue;
    const rule = earns.find((earn) => earn.rule.ruleId === contribution.source.id)!.rule;
    const used = memberFacts.ruleUsage[rule.ruleId] ?? { day: 0n, month: 0n };
    let allowed = contribution.points;
    if (rule.capPerDay !== null) allowed = minBig(allowed, rule.capPerDay - used.day);
    if (rule.capPerMonth !== null) allowed = minBig(allowed, rule.capPerMonth - used.month);
    if (allowed < 0n) allowed = 0n;
    if (allowed < contribution.points) {
      contribution.reason += ` (capped: ${allowed} of ${contribution.points})`;
      contribution.points = allowed;
    }
  }
  const kept: typeof awarded = [];
  for (const one of awarded) {
    if (one.campaign.perMemberLimit !== null && one.campaign.memberAwards >= one.campaign.perMemberLimit) {
      notes.push(`${one.campaign.name}: the member has had it ${one.campaign.memberAwards} times already`);
    } else kept.push(one);
  }

  // 5. Campaign budgets, points and money (money at each funder's issue price), exactly to the cap.
  for (const { campaign, parts } of kept) {
    const fitted = withinBudget(campaign, parts);
    let trimmed = false;
    for (const [index, part] of parts.entries()) {
      const { points, moneyMinor } = fitted[index]!;
      if (points < part.points) trimmed = true;
      part.points = points;
      part.moneyMinor = moneyMinor;
    }
    if (trimmed && campaign.strict) {
      return {
        ok: false,
        code: 'CAMPAIGN_BUDGET_EXHAUSTED',
        campaignId: campaign.campaignId,
        message: `campaign ${campaign.name} has not enough budget left for this activity`,
      };
    }
    if (trimmed)
      notes.push(`${campaign.name}: budget exhausted, ${parts.every((p) => p.points === 0n) ? 'not applied' : 'applied up to its cap'}`);
    contributions.push(...parts);
  }

  // Held out: listed where the campaign would have awarded points (some left after flooring and within its
  // budget); it consumes nothing, so it never refuses an activity either, strict or not. No note says so: the
  // receipt reaches the partner's till, and a holdout only measures anything while nobody there can tell who is in it.
  const heldOut: HeldOutCampaign[] = [];
  for (const { campaign, parts } of withheld) {
    if (withinBudget(campaign, parts).every((part) => part.points === 0n)) continue;
    heldOut.push({ campaignId: campaign.campaignId, version: campaign.version });
  }

  const positive = contributions.filter((contribution) => contribution.points > 0n);
  return { ok: true, contributions: positive, notes, total: positive.reduce((sum, c) => sum + c.points, 0n), heldOut };
}

/** What each part of a campaign's award keeps within what is left of its points and money budget, in order. */
function withinBudget(campaign: CampaignState, parts: readonly Contribution[]): Array<{ points: bigint; moneyMinor: bigint }> {
  let pointsLeft = campaign.pointsCap === null ? null : campaign.pointsCap - campaign.pointsUsed;
  let moneyLeft = campaign.moneyCapMinor === null ? null : campaign.moneyCapMinor - campaign.moneyUsedMinor;
  return parts.map((part) => {
    const funder = campaign.funders.find((f) => f.partnerId === part.fundingPartnerId)!;
    let points = part.points;
    if (pointsLeft !== null) points = minBig(points, pointsLeft < 0n ? 0n : pointsLeft);
    if (moneyLeft !== null) points = pointsWithinMoney(points, funder.issuePrice, moneyLeft);
    const moneyMinor = moneyOf(points, funder.issuePrice);
    if (pointsLeft !== null) pointsLeft -= points;
    if (moneyLeft !== null) moneyLeft -= moneyMinor;
    return { points, moneyMinor };
  });
}

/**
 * What a return of `returnedMinor` takes back from one part (lot) of a purchase's points: pro rata
 * by the returned value, floored, counted cumulatively so that returning every part gives back
 * exactly what the part earned, and never more than what is left of it.
 */
export function returnTake(
  partPoints: bigint,
  totalMinor: bigint,
  returnedBeforeMinor: bigint,
  returnedMinor: bigint,
  reversedBefore: bigint,
): bigint {
  if (totalMinor <= 0n) return 0n;
  const cumulative = returnedBeforeMinor + returnedMinor;
  const target = (partPoints * (cumulative > totalMinor ? totalMinor : cumulative)) / totalMinor;
  const take = target - reversedBefore;
  return take < 0n ? 0n : take;
}
