import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar, DecimalScalar } from '../scalars';

export enum EarnRuleKind {
  spend = 'spend',
  action = 'action',
}
registerEnumType(EarnRuleKind, { name: 'EarnRuleKind', description: 'spend: points per spend unit; action: fixed points for an action.' });

export enum ActivityAction {
  signup = 'signup',
  profile_completed = 'profile_completed',
  review = 'review',
  referral_qualified = 'referral_qualified',
  engagement = 'engagement',
}
registerEnumType(ActivityAction, { name: 'ActivityAction', description: 'A non-purchase activity.' });

export enum CampaignKind {
  multiplier = 'multiplier',
  bonus = 'bonus',
}
registerEnumType(CampaignKind, { name: 'CampaignKind' });

export enum CampaignTargetKind {
  all = 'all',
  tiers = 'tiers',
  new_at_partner = 'new_at_partner',
}
registerEnumType(CampaignTargetKind, {
  name: 'CampaignTargetKind',
  description: 'Who a campaign is for: everyone, some tiers, members who never bought at the partner.',
});

export enum CampaignStacking {
  stackable = 'stackable',
  exclusive = 'exclusive',
}
registerEnumType(CampaignStacking, {
  name: 'CampaignStacking',
  description: 'exclusive: applies only alone (the first by priority wins).',
});

@ObjectType({
  description: "A version of one of a partner's earn rules, in force from validFrom until its next version (docs/loyalty-engine.md).",
})
export class EarnRule {
  @Field(() => ID) id!: string;
  @Field() partnerId!: string;
  @Field({ description: "The rule's own id, the same across its versions." }) ruleId!: string;
  @Field(() => Int) version!: number;
  @Field() validFrom!: Date;
  @Field({ description: 'false: this version switches the rule off.' }) active!: boolean;
  @Field() name!: string;
  @Field(() => EarnRuleKind) kind!: EarnRuleKind;
  @Field(() => DecimalScalar, { nullable: true, description: 'Spend: points per unitMinor spent, exact.' }) pointsPerUnit!: string | null;
  @Field(() => AmountScalar, { nullable: true, description: 'Spend: the spend unit in minor units (100: per 1.00).' }) unitMinor!:
    bigint | null;
  @Field(() => String, { nullable: true }) category!: string | null;
  @Field(() => String, { nullable: true }) sku!: string | null;
  @Field(() => ActivityAction, { nullable: true }) action!: ActivityAction | null;
  @Field(() => AmountScalar, { nullable: true, description: 'Action: the fixed points.' }) points!: bigint | null;
  @Field(() => AmountScalar) minBasketMinor!: bigint;
  @Field(() => AmountScalar, { nullable: true }) capPerDay!: bigint | null;
  @Field(() => AmountScalar, { nullable: true }) capPerMonth!: bigint | null;
  @Field() createdAt!: Date;
}

@InputType({
  description: 'A new version of an earn rule. Spend rules: pointsPerUnit (and unitMinor, default 100); action rules: action and points.',
})
export class EarnRuleInput {
  @Field() ruleId!: string;
  @Field() name!: string;
  @Field(() => EarnRuleKind) kind!: EarnRuleKind;
  @Field(() => DecimalScalar, { nullable: true }) pointsPerUnit?: string | null;
  @Field(() => AmountScalar, { nullable: true }) unitMinor?: bigint | null;
  @Field(() => String, { nullable: true, description: 'Only lines of this category count.' }) category?: string | null;
  @Field(() => String, { nullable: true, description: 'Only lines of this SKU count.' }) sku?: string | null;
  @Field(() => ActivityAction, { nullable: true }) action?: ActivityAction | null;
  @Field(() => AmountScalar, { nullable: true }) points?: bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: 'The rule applies to baskets of at least this total.' }) minBasketMinor?:
    bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: 'Most points this rule gives a member per day (UTC).' }) capPerDay?:
    bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: 'Most points this rule gives a member per month (UTC).' }) capPerMonth?:
    bigint | null;
  @Field(() => Boolean, { nullable: true, description: 'false: switch the rule off from validFrom.' }) active?: boolean | null;
}

@ObjectType({ description: 'The categories purchase lines may name at a partner; none: any category.' })
export class EarnCategories {
  @Field() partnerId!: string;
  @Field(() => [String]) categories!: string[];
}

@ObjectType({ description: 'A partner in a campaign and its share of the campaign points (charged at its contract issue price).' })
export class CampaignFunder {
  @Field() partnerId!: string;
  @Field(() => DecimalScalar) share!: string;
}

@InputType()
export class CampaignFunderInput {
  @Field() partnerId!: string;
  @Field(() => DecimalScalar) share!: string;
}

@ObjectType({
  description: 'A campaign: a multiplier or bonus in a window, for partners in scope, within budgets (docs/loyalty-engine.md).',
})
export class Campaign {
  @Field(() => ID) id!: string;
  @Field(() => Int) version!: number;
  @Field() name!: string;
  @Field(() => CampaignKind) kind!: CampaignKind;
  @Field(() => DecimalScalar, { nullable: true }) multiplier!: string | null;
  @Field(() => AmountScalar, { nullable: true }) bonusPoints!: bigint | null;
  @Field({ description: 'purchase, or the action that triggers it.' }) trigger!: string;
  @Field() startsAt!: Date;
  @Field() endsAt!: Date;
  @Field() timeZone!: string;
  @Field(() => [CampaignFunder]) funders!: CampaignFunder[];
  @Field(() => CampaignTargetKind) targetKind!: CampaignTargetKind;
  @Field(() => [String]) targetTiers!: string[];
  @Field(() => CampaignStacking) stacking!: CampaignStacking;
  @Field(() => Int) priority!: number;
  @Field(() => Int, { nullable: true }) perMemberLimit!: number | null;
  @Field(() => AmountScalar, { nullable: true }) pointsCap!: bigint | null;
  @Field(() => AmountScalar) pointsUsed!: bigint;
  @Field(() => AmountScalar, { nullable: true }) moneyCapMinor!: bigint | null;
  @Field(() => AmountScalar) moneyUsedMinor!: bigint;
  @Field() strict!: boolean;
  @Field(() => DecimalScalar, {
    description: 'The share of members it holds out to compare with: they get nothing from it (0: none; docs/loyalty-engine.md).',
  })
  holdoutShare!: string;
  @Field() createdAt!: Date;
}

@InputType({ description: 'A new campaign. The window is read in timeZone (local date-times such as 2026-12-01T00:00).' })
export class CampaignInput {
  @Field() name!: string;
  @Field(() => CampaignKind) kind!: CampaignKind;
  @Field(() => DecimalScalar, { nullable: true }) multiplier?: string | null;
  @Field(() => AmountScalar, { nullable: true }) bonusPoints?: bigint | null;
  @Field(() => String, { nullable: true, description: 'purchase (default) or an action.' }) trigger?: string | null;
  @Field() startsLocal!: string;
  @Field() endsLocal!: string;
  @Field() timeZone!: string;
  @Field(() => [CampaignFunderInput]) funders!: CampaignFunderInput[];
  @Field(() => CampaignTargetKind, { nullable: true }) targetKind?: CampaignTargetKind | null;
  @Field(() => [String], { nullable: true }) targetTiers?: string[] | null;
  @Field(() => CampaignStacking, { nullable: true }) stacking?: CampaignStacking | null;
  @Field(() => Int, { nullable: true, description: 'Higher first.' }) priority?: number | null;
  @Field(() => Int, { nullable: true, description: 'Awards per member, at most.' }) perMemberLimit?: number | null;
  @Field(() => AmountScalar, { nullable: true }) pointsCap?: bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: "Minor units, at each funder's contract issue price." }) moneyCapMinor?:
    bigint | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'Over budget: refuse the activity (CampaignBudgetExhausted) instead of leaving the campaign out.',
  })
  strict?: boolean | null;
  @Field(() => DecimalScalar, {
    nullable: true,
    description:
      'The share of members held out (0 by default, at most 0.5): chosen by a hash of the campaign and member ids, they get nothing from it, so that campaign results can compare with them.',
  })
  holdoutShare?: string | null;
}
