import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar, DecimalScalar } from '../scalars';
import { connectionOf } from './connection.type';

export enum ReversalPolicy {
  refuse = 'refuse',
  debt = 'debt',
}
registerEnumType(ReversalPolicy, {
  name: 'ReversalPolicy',
  description: 'What a refund does when the points were already spent: refuse it, or leave the member a recoverable debt.',
});

export enum FundingMode {
  postpaid = 'postpaid',
  prepaid = 'prepaid',
}
registerEnumType(FundingMode, { name: 'FundingMode', description: 'How a partner pays for the points it issues.' });

@ObjectType({ description: "A version of a partner's contract, in force from validFrom until the next version. Never changed once made." })
export class PartnerContract {
  @Field(() => ID) id!: string;
  @Field() validFrom!: Date;
  @Field({ description: 'Settlement currency (ISO 4217).' }) currency!: string;
  @Field(() => DecimalScalar, { description: 'What the partner pays per CP it issues, in minor units of the currency.' })
  issuePrice!: string;
  @Field(() => DecimalScalar, { description: 'What the partner is paid per CP redeemed with it, in minor units.' }) redeemPrice!: string;
  @Field(() => DecimalScalar, { description: "The issuer's share (0–1) of breakage on its expired points." }) breakageShare!: string;
  @Field(() => Int) lotLifetimeMonths!: number;
  @Field() transfersAllowed!: boolean;
  @Field(() => ReversalPolicy) reversalPolicy!: ReversalPolicy;
  @Field(() => Int, { description: 'Return window during which issued points stay pending.' }) pendingDays!: number;
  @Field(() => GraphQLJSONObject, { description: 'Issue multiplier per coalition tier, e.g. {"Silver": "1.5"}; tiers not named: 1.' })
  tierMultipliers!: Record<string, string>;
  @Field(() => FundingMode, { description: 'postpaid: settles after each period; prepaid: issues draw on money paid in advance.' })
  fundingMode!: FundingMode;
  @Field(() => AmountScalar, {
    nullable: true,
    description: "Post-paid only: the most the partner's unsettled issue money may reach, minor units.",
  })
  netDebitCapMinor!: string | null;
  @Field() createdAt!: Date;
}

export const PartnerContractConnection = connectionOf(PartnerContract, 'PartnerContract');

@InputType({ description: 'Contract terms. Left out: the defaults at registration, the terms in force when a new version is set.' })
export class ContractInput {
  @Field(() => String, { nullable: true }) currency?: string | null;
  @Field(() => DecimalScalar, { nullable: true }) issuePrice?: string | null;
  @Field(() => DecimalScalar, { nullable: true }) redeemPrice?: string | null;
  @Field(() => DecimalScalar, { nullable: true }) breakageShare?: string | null;
  @Field(() => Int, { nullable: true }) lotLifetimeMonths?: number | null;
  @Field(() => Boolean, { nullable: true }) transfersAllowed?: boolean | null;
  @Field(() => ReversalPolicy, { nullable: true }) reversalPolicy?: ReversalPolicy | null;
  @Field(() => Int, { nullable: true }) pendingDays?: number | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Tier name → multiplier (a decimal string from 1 to 10).' })
  tierMultipliers?: Record<string, string> | null;
  @Field(() => FundingMode, { nullable: true }) fundingMode?: FundingMode | null;
  @Field(() => AmountScalar, { nullable: true, description: 'Post-paid cap in minor units (≥ 0).' }) netDebitCapMinor?: bigint | null;
}

@ObjectType({ description: 'How many CP one point of a partner unit is worth, from validFrom on.' })
export class ExchangeRate {
  @Field(() => ID) id!: string;
  @Field() asset!: string;
  @Field(() => DecimalScalar) cpPerPoint!: string;
  @Field() validFrom!: Date;
  @Field() createdAt!: Date;
}

@ObjectType({ description: "A partner's own program currency, e.g. ACME.STARS." })
export class PartnerUnit {
  @Field() partnerId!: string;
  @Field() code!: string;
  @Field({ description: 'The asset code in the ledger: PARTNER.CODE.' }) asset!: string;
}
