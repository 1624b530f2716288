import { ArgsType, createUnionType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  EntitlementAlreadyUsed,
  EntitlementExpired,
  EntitlementNotFound,
  failuresOf,
  IdempotencyConflict,
  InsufficientBalance,
  instructionRejections,
  InvalidInput,
  NotFound,
  RewardNotAvailable,
  RewardNotEligible,
  RewardNotFound,
  RewardOutOfStock,
  UnknownMember,
} from './error-result.type';
import { AmountScalar } from '../scalars';
import { connectionOf, PageArgs } from './connection.type';
import { AcceptedInstruction, LotConsumption, MovementReceipt } from './receipt.type';

export enum RewardKindEnum {
  product = 'product',
  discount = 'discount',
  service = 'service',
  experience = 'experience',
  tier_perk = 'tier_perk',
}
registerEnumType(RewardKindEnum, {
  name: 'RewardKind',
  description: 'What a reward is: a product, a discount, a (non-monetary) service, an experience, or a tier perk.',
});

export enum RefundPolicyEnum {
  full = 'full',
  none = 'none',
}
registerEnumType(RefundPolicyEnum, {
  name: 'RefundPolicy',
  description: 'What happens to an entitlement left unused past its expiry: full gives the points back, none keeps them.',
});

export enum EntitlementStatusEnum {
  issued = 'issued',
  used = 'used',
  expired = 'expired',
  refunded = 'refunded',
}
registerEnumType(EntitlementStatusEnum, {
  name: 'EntitlementStatus',
  description:
    'issued: usable until expiresAt; used: redeemed at the partner; expired: unused, not refunded; refunded: unused, points given back.',
});

@ObjectType({ description: "A reward in the coalition's catalogue, published by the partner that provides it (docs/rewards.md)." })
export class Reward {
  @Field(() => ID) id!: string;
  @Field(() => ID, { description: 'The providing partner: redemptions settle to it at its declared cost.' }) partnerId!: string;
  @Field(() => RewardKindEnum) kind!: RewardKindEnum;
  @Field() title!: string;
  @Field() description!: string;
  @Field(() => AmountScalar, { description: 'The price in CP.' }) pricePoints!: bigint;
  @Field(() => AmountScalar, { nullable: true, description: 'Items left; null: unlimited.' }) stock!: bigint | null;
  @Field() validFrom!: Date;
  @Field(() => Date, { nullable: true, description: 'Redeemable until then (excluded); null: no end.' }) validUntil!: Date | null;
  @Field(() => String, { nullable: true, description: 'The lowest tier that may redeem it; null: any.' }) minTier!: string | null;
  @Field(() => [String], { nullable: true, description: 'Only these tiers may redeem it; null: any (within minTier).' })
  tiers!: string[] | null;
  @Field({ description: "Redeemable by members of any partner; otherwise only by the providing partner's members." })
  coalitionWide!: boolean;
  @Field(() => AmountScalar, {
    nullable: true,
    description: 'What the hub pays the providing partner per redemption, in minor units; only the partner itself and operators see it.',
  })
  costMinor!: bigint | null;
  @Field(() => String, { nullable: true }) costCurrency!: string | null;
  @Field(() => Int, { description: 'How long an entitlement lasts, in days.' }) entitlementDays!: number;
  @Field(() => RefundPolicyEnum) refundPolicy!: RefundPolicyEnum;
  @Field({ description: 'False once withdrawn: no longer redeemable.' }) active!: boolean;
  @Field(() => Boolean, {
    nullable: true,
    description: 'For a member: whether this member may redeem it now (tier, partner); null for others.',
  })
  eligible!: boolean | null;
  @Field() createdAt!: Date;
}

export const RewardConnection = connectionOf(Reward, 'Reward');

@ArgsType()
export class RewardsArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: "Only this partner's rewards." }) partnerId?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'Members: only the rewards they may redeem (default true); false lists the others too, flagged eligible: false.',
  })
  eligibleOnly?: boolean | null;
}

@InputType({ description: 'A new reward (docs/rewards.md).' })
export class CreateRewardInput {
  @Field(() => RewardKindEnum) kind!: RewardKindEnum;
  @Field() title!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => AmountScalar) pricePoints!: bigint;
  @Field(() => AmountScalar, { nullable: true, description: 'Null or absent: unlimited.' }) stock?: bigint | null;
  @Field(() => Date, { nullable: true, description: 'Default: now.' }) validFrom?: Date | null;
  @Field(() => Date, { nullable: true }) validUntil?: Date | null;
  @Field(() => String, { nullable: true }) minTier?: string | null;
  @Field(() => [String], { nullable: true }) tiers?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Default: true for a tier perk, false otherwise.' }) coalitionWide?: boolean | null;
  @Field(() => AmountScalar, { description: 'The declared cost per redemption, in minor units of costCurrency.' }) costMinor!: bigint;
  @Field({ description: "The hub's settlement currency." }) costCurrency!: string;
  @Field(() => Int) entitlementDays!: number;
  @Field(() => RefundPolicyEnum) refundPolicy!: RefundPolicyEnum;
}

@InputType({ description: 'Changes to a reward; absent fields stay as they are.' })
export class UpdateRewardInput {
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => AmountScalar, { nullable: true }) pricePoints?: bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: 'A new stock level (a restock).' }) stock?: bigint | null;
  @Field(() => Boolean, { nullable: true, description: 'True: unlimited stock from now on.' }) unlimitedStock?: boolean | null;
  @Field(() => Date, { nullable: true }) validUntil?: Date | null;
  @Field(() => Boolean, { nullable: true, description: 'False withdraws it.' }) active?: boolean | null;
}

@ObjectType({ description: 'What a redemption gives the member: a single-use voucher code, valid until expiresAt.' })
export class Entitlement {
  @Field(() => ID) id!: string;
  @Field({ description: 'The voucher code the member shows the providing partner (128 random bits, base32).' }) code!: string;
  @Field(() => ID) rewardId!: string;
  @Field(() => String, { nullable: true }) rewardTitle?: string | null;
  @Field(() => ID, { description: 'The providing partner.' }) partnerId!: string;
  @Field(() => ID) memberId!: string;
  @Field(() => EntitlementStatusEnum) status!: EntitlementStatusEnum;
  @Field(() => AmountScalar, { nullable: true, description: 'The CP paid.' }) pricePoints?: bigint | null;
  @Field(() => Date, { nullable: true }) createdAt?: Date | null;
  @Field() expiresAt!: Date;
  @Field(() => Date, { nullable: true }) usedAt!: Date | null;
}

export const EntitlementConnection = connectionOf(Entitlement, 'Entitlement');

@ObjectType({ description: "A member's redemption of a reward (member token): the points debited and the entitlement." })
export class RewardRedemption {
  @Field(() => ID) entryId!: string;
  @Field(() => ID) memberId!: string;
  @Field(() => AmountScalar) amount!: string;
  @Field(() => AmountScalar, { description: "The member's CP balance right after (for a replay: now)." }) balance!: string;
  @Field() recordedAt!: Date;
  @Field(() => [LotConsumption]) consumed!: LotConsumption[];
  @Field(() => Entitlement) entitlement!: Entitlement;
  @Field({ description: 'True when this idempotency key was used before: the original redemption, nothing new written.' })
  replayed!: boolean;
}

@ObjectType({
  implements: [AcceptedInstruction, MovementReceipt],
  description: "A partner's redemption of a reward for its member (op redeem_reward): the points debited and the entitlement.",
})
export class RewardRedemptionReceipt extends MovementReceipt {
  @Field(() => [LotConsumption]) consumed!: LotConsumption[];
  @Field(() => Entitlement) entitlement!: Entitlement;
}

@ObjectType({ implements: AcceptedInstruction, description: 'An entitlement marked used (op use_entitlement).' })
export class EntitlementUseReceipt extends AcceptedInstruction {
  @Field(() => Entitlement) entitlement!: Entitlement;
}

const rewardRefusals = [
  UnknownMember,
  RewardNotFound,
  RewardNotAvailable,
  RewardNotEligible,
  RewardOutOfStock,
  InsufficientBalance,
] as const;

export const redeemRewardForMemberFailures = failuresOf('redeem_reward', [...instructionRejections, ...rewardRefusals]);
export const RedeemRewardForMemberResult = createUnionType({
  name: 'RedeemRewardForMemberResult',
  types: () => [RewardRedemptionReceipt, ...redeemRewardForMemberFailures] as const,
});

export const useEntitlementFailures = failuresOf('use_entitlement', [
  ...instructionRejections,
  EntitlementNotFound,
  EntitlementAlreadyUsed,
  EntitlementExpired,
]);
export const UseEntitlementResult = createUnionType({
  name: 'UseEntitlementResult',
  types: () => [EntitlementUseReceipt, ...useEntitlementFailures] as const,
});

export const redeemRewardFailures = failuresOf('redeemReward', [...rewardRefusals, IdempotencyConflict, InvalidInput]);
export const RedeemRewardResult = createUnionType({
  name: 'RedeemRewardResult',
  types: () => [RewardRedemption, ...redeemRewardFailures] as const,
});

export const createRewardFailures = failuresOf('createReward', [InvalidInput]);
export const CreateRewardResult = createUnionType({ name: 'CreateRewardResult', types: () => [Reward, ...createRewardFailures] as const });

export const updateRewardFailures = failuresOf('updateReward', [NotFound, InvalidInput]);
export const UpdateRewardResult = createUnionType({ name: 'UpdateRewardResult', types: () => [Reward, ...updateRewardFailures] as const });
