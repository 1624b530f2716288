import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import type { LedgerQueryService } from '../../ledger/ledger-query.service';
import type { MemberQueryService } from '../../members/member-query.service';
import type { RequestContext } from '../context';
import { AmountScalar } from '../scalars';
import { PageArgs } from '../types/connection.type';
import { JournalEntryConnection, LotConnection } from '../types/ledger.type';
import { Member, MemberConnection, MemberTier } from '../types/member.type';
import type { TierService, VisibleTier } from '../../members/tiers';
import type { SummaryPart } from '../../members/member-summary';
import { referenceArg } from '../identifier-args';

/** The Member fields read from the member summary (src/members/member-summary.ts), and the part each reads. */
const SUMMARY_FIELDS: Readonly<Record<string, SummaryPart>> = {
  balance: 'balance',
  available: 'spendable',
  combinedBalance: 'wallets',
  tier: 'earned',
};

/**
 * The summary parts the fields selected under this member field will read, so that the member is looked
 * up and they are read in one statement. Fragments are followed; @skip/@include are not evaluated (a part
 * read for a skipped field costs a column, one not foreseen is read by its field as usual).
 */
function summaryPartsAsked(info: GraphQLResolveInfo, partsAllowed: (part: SummaryPart) => boolean): SummaryPart[] {
  const parts = new Set<SummaryPart>();
  const visited = new Set<string>();
  const walk = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const part = SUMMARY_FIELDS[selection.name.value];
        if (part !== undefined && partsAllowed(part)) parts.add(part);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        walk(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return [...parts];
}

@Resolver(() => Member)
export class MemberResolver {
  constructor(
    private readonly memberQueries: MemberQueryService,
    private readonly ledger: LedgerQueryService,
    private readonly tiers: TierService,
  ) {}

  @FieldResolver(() => MemberTier, { description: 'The coalition tier now; partners use it for issue multipliers (applyTierMultiplier).' })
  async tier(@Root() member: Member, @Ctx() context: RequestContext): Promise<VisibleTier> {
    return this.tiers.forViewer(context.viewer, await context.loaders.tier.load(member.id));
  }

  @Authorized('member')
  @Query(() => Member, {
    nullable: true,
    description: 'The member behind a member token (signed by a partner); null if not enrolled there.',
  })
  me(@Ctx() context: RequestContext, @Info() info: GraphQLResolveInfo): Promise<Member | null> {
    const parts = summaryPartsAsked(info, () => true);
    return this.memberQueries.findMeOrNull(context.viewer, (partnerId, ref) => context.loaders.memberByRef(partnerId, ref, parts));
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => Member, { nullable: true, description: 'A member by hub id. Partners see only members enrolled with them.' })
  member(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext): Promise<Member | null> {
    return this.memberQueries.findForViewer(context.viewer, id);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => MemberConnection, {
    description: 'Members in hub id order: every member for operators and finance, those enrolled with it for a partner.',
  })
  members(@Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.memberQueries.list(context.viewer, page);
  }

  @Authorized('partner')
  @Query(() => Member, { nullable: true, description: "A member by the calling partner's own reference." })
  memberByRef(
    @Arg('ref', referenceArg) ref: string,
    @Ctx() context: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Member | null> {
    // A partner is refused combinedBalance (src/exchange/combined-balance.service.ts): its wallets are not read ahead.
    const parts = summaryPartsAsked(info, (part) => part !== 'wallets');
    return this.memberQueries.findByRefForPartner(context.viewer, ref, (partnerId, memberRef) =>
      context.loaders.memberByRef(partnerId, memberRef, parts),
    );
  }

  @FieldResolver(() => AmountScalar, {
    description: 'CP in the wallet, earned at every partner (points on hold or still pending included; see available).',
  })
  balance(@Root() member: Member, @Ctx() context: RequestContext): Promise<bigint> {
    return context.loaders.walletBalance.load(member.id);
  }

  @FieldResolver(() => AmountScalar, {
    description:
      'CP issued inside a return window, not spendable until they vest (included in balance). A partner sees only the pending points it issued.',
  })
  pending(@Root() member: Member, @Ctx() context: RequestContext): Promise<bigint> {
    return context.loaders.pending.load(this.memberQueries.lotScope(context.viewer, member.id));
  }

  @FieldResolver(() => AmountScalar, {
    description: 'What the member can spend now: balance less points on hold and points still pending.',
  })
  available(@Root() member: Member, @Ctx() context: RequestContext): Promise<bigint> {
    return context.loaders.spendable.load(member.id);
  }

  @FieldResolver(() => LotConnection, {
    description: 'CP lots, soonest to expire first (the order in which they are spent). A partner sees only lots it issued.',
  })
  lots(
    @Root() member: Member,
    @Args() page: PageArgs,
    @Ctx() context: RequestContext,
    @Arg('includeSpent', { defaultValue: false }) includeSpent: boolean,
  ) {
    return this.ledger.memberLots(this.memberQueries.lotScope(context.viewer, member.id), includeSpent, page);
  }

  @FieldResolver(() => JournalEntryConnection, {
    description: 'Journal entries of this member, newest first. A partner sees only its own.',
  })
  history(@Root() member: Member, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.ledger.entries(this.memberQueries.historyScope(context.viewer, member.id), page);
  }
}
