import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar, DecimalScalar } from '../scalars';
import { connectionOf } from './connection.type';

export enum LifecycleStageEnum {
  FIRST_VISIT = 'FIRST_VISIT',
  ONE_TIME = 'ONE_TIME',
  RETURNING = 'RETURNING',
  REPEAT = 'REPEAT',
  LOYAL = 'LOYAL',
}
registerEnumType(LifecycleStageEnum, {
  name: 'LifecycleStage',
  description:
    'Purchases in the lifecycle window: FIRST_VISIT 0, ONE_TIME 1, RETURNING 2, REPEAT 3 or more; LOYAL at least loyalMinPurchases and active in each of the last loyalMonths months (docs/kpis.md).',
});

@InputType({ description: 'Whose figures: a partner (partnerId) or, without it, the whole coalition.' })
export class KpiScopeInput {
  @Field(() => ID, { nullable: true, description: "A partner's figures; null: the coalition's. A partner token may name only itself." })
  partnerId?: string | null;
}

@InputType({ description: 'Whole calendar months (UTC), both included; at most 24.' })
export class KpiPeriodInput {
  @Field({ description: 'First month, YYYY-MM.' }) from!: string;
  @Field({ description: 'Last month, YYYY-MM (months after asOf are left out).' }) to!: string;
}

@InputType({ description: 'Only the members of one segment (every figure then counts them alone).' })
export class KpiSegmentInput {
  @Field(() => LifecycleStageEnum, { nullable: true, description: 'Their lifecycle stage at the end of the period.' })
  lifecycleStage?: LifecycleStageEnum | null;
  @Field(() => String, {
    nullable: true,
    description: 'Their enrolment channel: the channel of their first purchase ("unknown": sent none; "none": no purchase yet).',
  })
  enrolmentChannel?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "Their coalition tier at the end of the period (or at asOf, if earlier), by the hub's tier rules: from the CP earned in the tier window ending then, as `me { tier }` counts it.",
  })
  tier?: string | null;
}

@ObjectType({
  description: 'An exact ratio: integer (or minor-unit) numerator and denominator, and their quotient to 6 places, half to even.',
})
export class KpiRatio {
  @Field() numerator!: string;
  @Field() denominator!: string;
  @Field(() => String, {
    nullable: true,
    description: 'numerator / denominator, 6 decimal places, rounded half to even; null when the denominator is 0.',
  })
  value!: string | null;
}

@ObjectType()
export class KpiChannelCount {
  @Field() channel!: string;
  @Field(() => Int) members!: number;
}

@ObjectType()
export class KpiStageCount {
  @Field(() => LifecycleStageEnum) stage!: LifecycleStageEnum;
  @Field(() => Int) members!: number;
}

@ObjectType({ description: 'Redemptions of one kind of reward in the period, by members of the scope (a partner: of its own rewards).' })
export class KpiRewardUptake {
  @Field({ description: 'product, discount, service, experience or tier_perk' }) kind!: string;
  @Field(() => Int) redemptions!: number;
  @Field(() => Int, { description: 'Members who redeemed at least one.' }) members!: number;
  @Field(() => KpiRatio, { description: 'members / active members of the period.' }) uptake!: KpiRatio;
}

@ObjectType({ description: 'Month m+offset of a cohort: how many of its members were active then.' })
export class KpiCohortMonth {
  @Field(() => Int) offset!: number;
  @Field({ description: 'YYYY-MM' }) month!: string;
  @Field(() => Int) active!: number;
  @Field(() => KpiRatio, { description: 'active / cohort size' }) retention!: KpiRatio;
}

@ObjectType({ description: 'The members enrolled (in scope) in one month of the period, and their activity each month after.' })
export class KpiRetentionCohort {
  @Field({ description: 'Enrolment month, YYYY-MM.' }) month!: string;
  @Field(() => Int) size!: number;
  @Field(() => [KpiCohortMonth]) months!: KpiCohortMonth[];
}

@ObjectType({ description: 'CLV = m × r / (1 + d − r) (docs/kpis.md).' })
export class KpiClv {
  @Field(() => AmountScalar, {
    nullable: true,
    description: 'Minor units, half to even; null with no active member or no retention to model.',
  })
  value!: string | null;
  @Field(() => KpiRatio, { description: 'm: spend × margin / (active members × months), minor units.' })
  monthlyMarginPerMember!: KpiRatio;
  @Field(() => KpiRatio, { description: 'r' }) monthlyRetention!: KpiRatio;
  @Field(() => DecimalScalar) margin!: string;
  @Field(() => DecimalScalar, { description: 'd' }) monthlyDiscountRate!: string;
}

@ObjectType({ description: 'The CLV inputs and lifecycle thresholds (docs/kpis.md, "Settings").' })
export class KpiSettings {
  @Field(() => ID, { nullable: true, description: "The partner these apply to; null: the coalition's." }) partnerId!: string | null;
  @Field(() => DecimalScalar) margin!: string;
  @Field(() => DecimalScalar) monthlyDiscountRate!: string;
  @Field(() => Int) lifecycleWindowMonths!: number;
  @Field(() => Int) loyalMinPurchases!: number;
  @Field(() => Int) loyalMonths!: number;
  @Field(() => Date, { nullable: true, description: 'When they took effect; null: the defaults.' }) setAt!: Date | null;
}

@InputType({ description: 'A field left out keeps its value. Lifecycle thresholds are the coalition’s (no partnerId).' })
export class KpiSettingsInput {
  @Field(() => DecimalScalar, { nullable: true }) margin?: string | null;
  @Field(() => DecimalScalar, { nullable: true }) monthlyDiscountRate?: string | null;
  @Field(() => Int, { nullable: true }) lifecycleWindowMonths?: number | null;
  @Field(() => Int, { nullable: true }) loyalMinPurchases?: number | null;
  @Field(() => Int, { nullable: true }) loyalMonths?: number | null;
}

@ObjectType({ description: 'The KPIs of a scope and period, as of a time (docs/kpis.md): aggregates only, never a member.' })
export class Kpis {
  @Field(() => ID, { nullable: true, description: 'null: the coalition.' }) partnerId!: string | null;
  @Field({ description: 'YYYY-MM' }) from!: string;
  @Field({ description: 'YYYY-MM (the last month counted: at most the month of asOf).' }) to!: string;
  @Field(() => Int) months!: number;
  @Field({ description: 'First month of the previous equal period (spend growth), YYYY-MM.' }) previousFrom!: string;
  @Field(() => Date) asOf!: Date;
  @Field(() => String, { nullable: true, description: 'Days before this (YYYY-MM-DD) were read from the rollup.' })
  rollupCompleteBefore!: string | null;
  @Field(() => Int) activeMembers!: number;
  @Field(() => AmountScalar) purchases!: string;
  @Field(() => AmountScalar, { description: 'Basket totals of the purchases, minor units.' }) spend!: string;
  @Field(() => AmountScalar) previousSpend!: string;
  @Field(() => Int) enrolments!: number;
  @Field(() => [KpiChannelCount]) enrolmentsByChannel!: KpiChannelCount[];
  @Field(() => [KpiRetentionCohort]) retentionCohorts!: KpiRetentionCohort[];
  @Field(() => KpiRatio, { description: 'Members active in month m−1 and m / members active in m−1, over the months of the period.' })
  monthlyRetention!: KpiRatio;
  @Field(() => KpiRatio, { description: '1 − monthlyRetention.' }) churn!: KpiRatio;
  @Field(() => KpiRatio, { description: 'Members with 2 or more purchases / members with 1 or more.' }) repeatPurchaseRate!: KpiRatio;
  @Field(() => KpiRatio, { description: 'Purchases / active members.' }) purchaseFrequency!: KpiRatio;
  @Field(() => KpiRatio, { description: 'Spend / purchases, minor units.' }) averageTransactionValue!: KpiRatio;
  @Field(() => KpiRatio, { description: '(spend − previous spend) / previous spend.' }) spendGrowth!: KpiRatio;
  @Field(() => KpiClv) clv!: KpiClv;
  @Field(() => [KpiStageCount]) lifecycleFunnel!: KpiStageCount[];
  @Field(() => KpiRatio, {
    description: 'Active members also active at another partner / active members (coalition: at 2 or more partners).',
  })
  crossPartnerReach!: KpiRatio;
  @Field(() => KpiRatio, { description: 'Referees (enrolled in the period) with a qualifying purchase / referral codes used.' })
  referralConversion!: KpiRatio;
  @Field(() => [KpiRewardUptake], { description: 'Per reward kind redeemed in the period, by kind.' }) rewardUptake!: KpiRewardUptake[];
  @Field(() => KpiSettings) settings!: KpiSettings;
}

@ObjectType({ description: 'One refresh of the KPI rollups.' })
export class KpiRefresh {
  @Field({ description: 'false: another refresh was running; nothing done.' }) ran!: boolean;
  @Field(() => Int) days!: number;
  @Field(() => Int) rows!: number;
  @Field(() => Int) enrolments!: number;
  @Field(() => String, { nullable: true, description: 'Days before this (YYYY-MM-DD) are final in the rollup.' })
  completeBefore!: string | null;
}

@ObjectType({
  description:
    "A campaign's results as of a time (docs/kpis.md): what it awarded and how the members it reached bought during it, against the equal period before it and against the members it held out.",
})
export class KpiCampaign {
  @Field(() => ID) campaignId!: string;
  @Field() name!: string;
  @Field(() => Date) startsAt!: Date;
  @Field(() => Date, { description: 'Its end, or asOf if it was still running then.' }) endsAt!: Date;
  @Field(() => Int, { description: 'Members awarded points by it (at the partner, for a partner).' }) membersReached!: number;
  @Field(() => AmountScalar) pointsAwarded!: string;
  @Field(() => AmountScalar, { nullable: true }) pointsCap!: string | null;
  @Field(() => KpiRatio, { nullable: true, description: 'pointsAwarded / pointsCap; null without a points cap.' })
  budgetUsed!: KpiRatio | null;
  @Field(() => AmountScalar, { description: 'Purchases of the members reached, during the campaign.' }) purchasesDuring!: string;
  @Field(() => AmountScalar, { description: 'Their purchases in the equal period just before it.' }) purchasesBefore!: string;
  @Field(() => KpiRatio, {
    description: '(purchasesDuring − purchasesBefore) / membersReached: incremental purchases per member against the pre-period.',
  })
  incrementalPurchasesPerMember!: KpiRatio;
  @Field(() => DecimalScalar, { description: 'The share of members the campaign holds out (0: no holdout).' }) holdoutShare!: string;
  @Field(() => Int, { description: 'Members it held out where it would have awarded them points (at the partner, for a partner).' })
  holdoutMembers!: number;
  @Field(() => AmountScalar, { description: 'Purchases of the members held out, during the campaign.' }) holdoutPurchasesDuring!: string;
  @Field(() => KpiRatio, {
    nullable: true,
    description:
      'purchasesDuring / membersReached − holdoutPurchasesDuring / holdoutMembers, as one ratio; null for a campaign without a holdout.',
  })
  incrementalPurchasesPerMemberVsHoldout!: KpiRatio | null;
}

export const KpiCampaignConnection = connectionOf(KpiCampaign, 'KpiCampaign');
