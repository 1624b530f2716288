import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { PartnerQueryService } from '../../partners/partner-query.service';
import type { PartnerService } from '../../partners/partner.service';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { Partner, PartnerConnection, PartnerKey, RegisterPartnerInput } from '../types/partner.type';
import { partnerFailures, PartnerResult } from '../types/results.type';
import { partnerIdArg, referenceArg } from '../identifier-args';

@Resolver(() => Partner)
export class PartnerResolver {
  constructor(
    private readonly partnerService: PartnerService,
    private readonly partnerQueries: PartnerQueryService,
  ) {}

  @Authorized('operator', 'finance')
  @Query(() => PartnerConnection)
  partners(@Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.partnerQueries.list(context.viewer, page);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => Partner, { nullable: true, description: 'A partner may read only itself.' })
  partner(@Arg('id', () => ID, partnerIdArg) id: string, @Ctx() context: RequestContext) {
    return this.partnerQueries.findForViewer(context.viewer, id);
  }

  @FieldResolver(() => [PartnerKey])
  keys(@Root() partner: Partner, @Ctx() context: RequestContext) {
    return context.loaders.partnerKeys.load(partner.id);
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult, { description: 'Register a partner with its public keys; creates its issuance and redemption accounts.' })
  async registerPartner(@Arg('input') input: RegisterPartnerInput): Promise<typeof PartnerResult> {
    return present(await this.partnerService.register(input), Partner, partnerFailures);
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult, {
    description: 'Add a key (rotation): register the new kid, move signing to it, then revoke the old one.',
  })
  async addPartnerKey(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('publicJwk', () => GraphQLJSONObject) publicJwk: Record<string, unknown>,
  ): Promise<typeof PartnerResult> {
    return present(await this.partnerService.addKey(partnerId, publicJwk), Partner, partnerFailures);
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult, {
    description: 'Revoke a key at once: instructions and tokens signed with it are refused from the next request.',
  })
  async revokePartnerKey(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('kid', referenceArg) kid: string,
  ): Promise<typeof PartnerResult> {
    return present(await this.partnerService.revokeKey(partnerId, kid), Partner, partnerFailures);
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult, { description: "Suspend a partner: its signed requests are refused; members' balances are untouched." })
  async suspendPartner(@Arg('partnerId', () => ID, partnerIdArg) partnerId: string): Promise<typeof PartnerResult> {
    return present(await this.partnerService.setStatus(partnerId, 'suspended'), Partner, partnerFailures);
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult)
  async resumePartner(@Arg('partnerId', () => ID, partnerIdArg) partnerId: string): Promise<typeof PartnerResult> {
    return present(await this.partnerService.setStatus(partnerId, 'active'), Partner, partnerFailures);
  }
}
