import { Arg, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Resolver, Root, createUnionType } from 'type-graphql';
import type { FundingService } from '../../settlement/funding.service';
import { subjectOf } from '../../settlement/subject';
import type { RequestContext } from '../context';
import { present } from '../present';
import { AmountScalar } from '../scalars';
import { FundingMode } from '../types/contract.type';
import { failuresOf, InvalidInput, NotFound } from '../types/error-result.type';
import { Partner } from '../types/partner.type';
import { partnerIdArg } from '../identifier-args';

@ObjectType({ description: "A partner's funding standing: what it paid in advance or owes unsettled, and what it may still issue for." })
export class PartnerFunding {
  @Field(() => FundingMode) fundingMode!: FundingMode;
  @Field() currency!: string;
  @Field(() => AmountScalar, { description: 'Prepaid: money paid in and not yet drawn by issues.' }) prepaidBalanceMinor!: bigint;
  @Field(() => AmountScalar, { description: 'Post-paid: issue money drawn and not yet paid.' }) unsettledMinor!: bigint;
  @Field(() => AmountScalar, { nullable: true }) netDebitCapMinor!: bigint | null;
  @Field(() => AmountScalar, { nullable: true, description: 'What the partner may still issue for, minor units; null: no limit.' })
  headroomMinor!: bigint | null;
}

@ObjectType({ description: 'Money received from a partner, recorded as a funding entry.' })
export class FundingRecorded {
  @Field(() => ID) entryId!: string;
  @Field(() => ID) partnerId!: string;
  @Field(() => AmountScalar) amountMinor!: bigint;
  @Field(() => PartnerFunding) status!: PartnerFunding;
}

const fundingFailures = failuresOf('fund', [NotFound, InvalidInput]);
export const FundingResult = createUnionType({ name: 'FundingResult', types: () => [FundingRecorded, ...fundingFailures] as const });

@Resolver(() => Partner)
export class FundingResolver {
  constructor(private readonly fundingService: FundingService) {}

  @Authorized('operator', 'finance', 'partner')
  @FieldResolver(() => PartnerFunding, { nullable: true, description: 'Funding and limits; finance, operators and the partner itself.' })
  funding(@Root() partner: Partner, @Ctx() context: RequestContext) {
    return context.loaders.funding.load(partner.id);
  }

  @Authorized('finance', 'operator')
  @Mutation(() => FundingResult, {
    description:
      'Records money received from a partner: a prepaid top-up, or a post-paid payment that frees its cap. reference names the payment.',
  })
  async recordPartnerFunding(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('amountMinor', () => AmountScalar) amountMinor: bigint,
    @Arg('reference') reference: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof FundingResult> {
    return present(
      await this.fundingService.record(partnerId, amountMinor, reference, subjectOf(context.viewer)),
      FundingRecorded,
      fundingFailures,
    );
  }
}
