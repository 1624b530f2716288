import { createUnionType, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';
import {
  failuresOf,
  FundingLimitExceeded,
  GrantBudgetExhausted,
  GrantCapExceeded,
  GrantsNotConfigured,
  instructionRejections,
  InvalidAmount,
  UnknownMember,
} from './error-result.type';
import { settingFailures } from './results.type';
import { AcceptedInstruction, MovementReceipt } from './receipt.type';

@ObjectType({
  implements: [AcceptedInstruction, MovementReceipt],
  description: 'Points granted with a reason (op "grant"): an entry of type grant, funded like an issue.',
})
export class GrantReceipt extends MovementReceipt {
  @Field() asset: string = 'CP';
  @Field({ description: 'compensation or surprise_and_delight.' }) kind!: string;
  @Field({ description: 'late_delivery, damaged_item, service_failure, goodwill or other.' }) reasonCode!: string;
  @Field(() => String, { nullable: true, description: "The partner's case reference (always set for compensation)." })
  caseReference!: string | null;
}

export const grantFailures = failuresOf('grant', [
  ...instructionRejections,
  InvalidAmount,
  UnknownMember,
  FundingLimitExceeded,
  GrantsNotConfigured,
  GrantCapExceeded,
  GrantBudgetExhausted,
]);
export const GrantResult = createUnionType({ name: 'GrantResult', types: () => [GrantReceipt, ...grantFailures] as const });

@ObjectType({ description: "A partner's grant policy: caps and budget per month (UTC), set by the operator." })
export class GrantPolicy {
  @Field(() => ID) partnerId!: string;
  @Field(() => AmountScalar, { description: 'Points one member may be granted by the partner in a month.' }) memberCapPoints!: string;
  @Field(() => Int, { description: 'Grants the partner may make in a month.' }) periodCapGrants!: number;
  @Field(() => AmountScalar, { description: 'Points the partner may grant in a month, all members together.' }) budgetPoints!: string;
  @Field() updatedBy!: string;
  @Field() updatedAt!: Date;
}

@InputType()
export class GrantPolicyInput {
  @Field(() => AmountScalar) memberCapPoints!: string;
  @Field(() => Int) periodCapGrants!: number;
  @Field(() => AmountScalar) budgetPoints!: string;
}

@ObjectType({ description: 'One grant, as the partner that made it sees it.' })
export class Grant {
  @Field(() => ID) entryId!: string;
  @Field(() => ID) memberId!: string;
  @Field({ description: 'The month it counts against, YYYY-MM (UTC).' }) period!: string;
  @Field() kind!: string;
  @Field() reasonCode!: string;
  @Field(() => String, { nullable: true }) caseReference!: string | null;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field(() => AmountScalar) amount!: string;
  @Field() grantedAt!: Date;
}

export const GrantConnection = connectionOf(Grant, 'Grant');

@ObjectType({ description: 'What the partner has used of its grant policy this month (UTC).' })
export class GrantUsage {
  @Field() period!: string;
  @Field(() => Int) grants!: number;
  @Field(() => AmountScalar) points!: string;
}

export const GrantPolicyResult = createUnionType({
  name: 'GrantPolicyResult',
  types: () => [GrantPolicy, ...settingFailures] as const,
});

@ObjectType({ description: "The coalition's referral programme: bonuses paid by one partner on a referee's first qualifying purchase." })
export class ReferralProgramme {
  @Field(() => ID, { description: 'The partner that pays the bonuses (at its contract issue price).' }) partnerId!: string;
  @Field(() => AmountScalar) referrerBonus!: string;
  @Field(() => AmountScalar) refereeBonus!: string;
  @Field(() => Int, { description: 'How many members one member may refer.' }) capPerReferrer!: number;
  @Field() updatedBy!: string;
  @Field() updatedAt!: Date;
}

@InputType()
export class ReferralProgrammeInput {
  @Field(() => ID) partnerId!: string;
  @Field(() => AmountScalar) referrerBonus!: string;
  @Field(() => AmountScalar) refereeBonus!: string;
  @Field(() => Int) capPerReferrer!: number;
}

export const ReferralProgrammeResult = createUnionType({
  name: 'ReferralProgrammeResult',
  types: () => [ReferralProgramme, ...settingFailures] as const,
});
