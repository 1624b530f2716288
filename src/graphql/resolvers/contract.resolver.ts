import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import type { ContractService } from '../../partners/contract.service';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { ContractInput, ExchangeRate, PartnerContract, PartnerContractConnection, PartnerUnit } from '../types/contract.type';
import { Partner } from '../types/partner.type';
import { ContractResult, ExchangeRateResult, settingFailures, UnitResult } from '../types/results.type';
import { DecimalScalar } from '../scalars';
import { partnerIdArg } from '../identifier-args';

/** Contracts, program units and exchange rates: set by the operator, read with the partner. */
@Resolver(() => Partner)
export class PartnerContractResolver {
  constructor(private readonly contractService: ContractService) {}

  @FieldResolver(() => PartnerContract, { nullable: true, description: 'The contract in force now.' })
  contract(@Root() partner: Partner, @Ctx() context: RequestContext) {
    return context.loaders.currentContract.load(partner.id);
  }

  @FieldResolver(() => PartnerContractConnection, { description: 'Every contract version, newest first (future-dated ones included).' })
  contracts(@Root() partner: Partner, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return context.loaders.contractHistory.load({ partnerId: partner.id, page: { first: page.first, after: page.after ?? null } });
  }

  @FieldResolver(() => PartnerUnit, { nullable: true, description: "The partner's own program currency, if it has one." })
  unit(@Root() partner: Partner, @Ctx() context: RequestContext) {
    return context.loaders.unit.load(partner.id);
  }

  @Authorized('operator')
  @Mutation(() => ContractResult, {
    description: 'A new contract version from validFrom (default now, never in the past); unnamed terms carry over.',
  })
  async setPartnerContract(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('input', () => ContractInput) input: ContractInput,
    @Arg('validFrom', () => Date, { nullable: true }) validFrom?: Date | null,
  ): Promise<typeof ContractResult> {
    return present(await this.contractService.setContract(partnerId, input, validFrom), PartnerContract, settingFailures);
  }

  @Authorized('operator')
  @Mutation(() => UnitResult, {
    description: 'Give a partner its own program unit, e.g. STARS → asset ACME.STARS. Once: the name never changes.',
  })
  async setPartnerUnit(@Arg('partnerId', () => ID, partnerIdArg) partnerId: string, @Arg('code') code: string): Promise<typeof UnitResult> {
    return present(await this.contractService.setUnit(partnerId, code), PartnerUnit, settingFailures);
  }

  @Authorized('operator')
  @Mutation(() => ExchangeRateResult, {
    description: "A new rate for the partner's unit (CP per point) from validFrom (default now, never in the past).",
  })
  async setExchangeRate(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('cpPerPoint', () => DecimalScalar) cpPerPoint: string,
    @Arg('validFrom', () => Date, { nullable: true }) validFrom?: Date | null,
  ): Promise<typeof ExchangeRateResult> {
    return present(await this.contractService.setRate(partnerId, cpPerPoint, validFrom), ExchangeRate, settingFailures);
  }
}

@Resolver(() => PartnerUnit)
export class PartnerUnitResolver {
  @FieldResolver(() => ExchangeRate, { nullable: true, description: 'The rate in force now.' })
  rate(@Root() unit: PartnerUnit, @Ctx() context: RequestContext) {
    return context.loaders.currentRate.load(unit.asset);
  }
}
