import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Mutation, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { PersistedOperationService } from '../../partners/persisted-operations.service';
import { subjectOf } from '../../settlement/subject';
import type { RequestContext } from '../context';
import { partnerIdArg } from '../identifier-args';
import { documentCheck } from '../persisted-operations';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { Partner, PersistedOperation, PersistedOperationConnection } from '../types/partner.type';
import { partnerFailures, PartnerResult, PersistedOperationResult, settingFailures } from '../types/results.type';

/** Safelists of persisted operations (docs/security.md, "Persisted operations"): operator actions. */
@Resolver(() => Partner)
export class PersistedOperationResolver {
  constructor(private readonly operations: PersistedOperationService) {}

  @FieldResolver(() => PersistedOperationConnection, {
    description: "Operations registered on its safelist, by id (the partner SDK's are on it too: partner-sdk/operations.json).",
  })
  persistedOperations(@Root() partner: Partner, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return context.loaders.persistedOperations.load({ partnerId: partner.id, page: { first: page.first, after: page.after ?? null } });
  }

  @Authorized('operator')
  @Mutation(() => PartnerResult, {
    description:
      "Safelist-only on: the partner's tokens and signed instructions run only documents on its safelist (the partner SDK's, and those registered for it); off: any document. Counts from the next request in every hub process.",
  })
  async setPartnerSafelistOnly(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('enabled') enabled: boolean,
    @Ctx() context: RequestContext,
  ): Promise<typeof PartnerResult> {
    return present(await this.operations.setSafelistOnly(partnerId, enabled, subjectOf(context.viewer)), Partner, partnerFailures);
  }

  @Authorized('operator')
  @Mutation(() => PersistedOperationResult, {
    description:
      "Add a document to a partner's safelist, under the SHA-256 of its exact text (`id`, if given, must be that hash). One named operation, valid against the schema; registering it again answers the first registration.",
  })
  async registerPersistedOperation(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('body') body: string,
    @Arg('id', () => String, { nullable: true }) id: string | null | undefined,
    @Ctx() context: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<typeof PersistedOperationResult> {
    return present(
      await this.operations.register(partnerId, body, id, subjectOf(context.viewer), documentCheck(info.schema)),
      PersistedOperation,
      settingFailures,
    );
  }
}
