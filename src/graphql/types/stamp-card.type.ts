import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';

export enum StampRewardKind {
  points = 'points',
}
registerEnumType(StampRewardKind, {
  name: 'StampRewardKind',
  description:
    'What a completed stamp card gives: points (bonus points from the card’s partner). More kinds will follow (a catalogue reward).',
});

@ObjectType({ description: 'What a completed stamp card gives (docs/stamp-cards.md).' })
export class StampReward {
  @Field(() => StampRewardKind) kind!: StampRewardKind;
  @Field(() => AmountScalar, { nullable: true, description: 'kind points: the points per completion.' }) points!: bigint | null;
}

@ObjectType({
  description: "A partner's stamp card: a stamp per unit bought in its category; stampsRequired stamps complete it (docs/stamp-cards.md).",
})
export class StampCard {
  @Field(() => ID) id!: string;
  @Field() partnerId!: string;
  @Field() name!: string;
  @Field({ description: "One of the partner's categories: each unit of a purchase line in it is one stamp." }) category!: string;
  @Field(() => Int) stampsRequired!: number;
  @Field(() => StampReward) reward!: StampReward;
  @Field() startsAt!: Date;
  @Field(() => Date, { nullable: true }) endsAt!: Date | null;
  @Field() createdAt!: Date;
}

@InputType({ description: 'The reward of a stamp card: kind points with points.' })
export class StampRewardInput {
  @Field(() => StampRewardKind) kind!: StampRewardKind;
  @Field(() => AmountScalar, { nullable: true }) points?: bigint | null;
}

@InputType({ description: 'A new stamp card.' })
export class StampCardInput {
  @Field() name!: string;
  @Field() category!: string;
  @Field(() => Int, { description: '1 to 1000.' }) stampsRequired!: number;
  @Field(() => StampRewardInput) reward!: StampRewardInput;
  @Field(() => Date, { nullable: true, description: 'Default: now.' }) startsAt?: Date | null;
  @Field(() => Date, { nullable: true }) endsAt?: Date | null;
}

@ObjectType({ description: "A member's progress on a stamp card." })
export class MemberStampCard {
  @Field(() => StampCard) card!: StampCard;
  @Field(() => Int, { description: 'Stamps toward the next completion (fewer than card.stampsRequired).' }) stamps!: number;
  @Field(() => AmountScalar, { description: 'How many times the member completed the card.' }) completedCount!: bigint;
  @Field() updatedAt!: Date;
}

export const MemberStampCardConnection = connectionOf(MemberStampCard, 'MemberStampCard');
