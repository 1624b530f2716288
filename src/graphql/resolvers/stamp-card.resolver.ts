import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { forbidden } from '../../common/auth-errors';
import type { Viewer } from '../../common/viewer';
import type { StampCardService } from '../../engine/stamps/stamp-cards';
import { subjectOf } from '../../settlement/subject';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { Member } from '../types/member.type';
import { settingFailures, StampCardResult } from '../types/results.type';
import { MemberStampCardConnection, StampCard, StampCardInput } from '../types/stamp-card.type';

/** The partner a request may configure: a partner token only its own; the operator any (named). As for earn rules. */
function configuredPartner(viewer: Viewer, partnerId: string | null | undefined): string {
  if (viewer.kind === 'partner') {
    if (partnerId && partnerId !== viewer.partnerId) throw forbidden('a partner manages only its own stamp cards');
    return viewer.partnerId;
  }
  if (!partnerId) throw forbidden('the operator names the partner (partnerId)');
  return partnerId;
}

/** Stamp cards (docs/stamp-cards.md): defined by the partner itself or the operator. */
@Resolver()
export class StampCardResolver {
  constructor(private readonly cards: StampCardService) {}

  @Authorized('operator', 'partner')
  @Mutation(() => StampCardResult, {
    description: 'A new stamp card: a category of the partner, the stamps it needs, its reward, a window.',
  })
  async createStampCard(
    @Arg('input', () => StampCardInput) input: StampCardInput,
    @Ctx() context: RequestContext,
    @Arg('partnerId', () => ID, { nullable: true, description: 'The operator names the partner; a partner token sets its own.' })
    partnerId?: string | null,
  ): Promise<typeof StampCardResult> {
    const partner = configuredPartner(context.viewer, partnerId);
    return present(await this.cards.createStampCard(partner, input, subjectOf(context.viewer)), StampCard, settingFailures);
  }

  @Authorized('operator', 'partner')
  @Mutation(() => StampCardResult, { description: 'Ends a stamp card now: stamps counted stay, no new ones are counted.' })
  async endStampCard(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext): Promise<typeof StampCardResult> {
    const partner = context.viewer.kind === 'partner' ? context.viewer.partnerId : null;
    return present(await this.cards.endStampCard(id, partner), StampCard, settingFailures);
  }

  @Authorized('operator', 'partner')
  @Query(() => [StampCard], { description: "A partner's stamp cards, newest first (a partner token: its own)." })
  stampCards(@Ctx() context: RequestContext, @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null) {
    return this.cards.stampCards(configuredPartner(context.viewer, partnerId));
  }
}

/** Member.stampCards: a member's progress, batched per request (one statement for every member of a page). */
@Resolver(() => Member)
export class MemberStampCardResolver {
  @FieldResolver(() => MemberStampCardConnection, {
    description: 'Stamp cards the member has stamps or completions on, by card id. A partner sees only its own cards.',
  })
  stampCards(@Root() member: Member, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    const partnerId = context.viewer.kind === 'partner' ? context.viewer.partnerId : null;
    return context.loaders.memberStampCards.load({
      memberId: member.id,
      partnerId,
      page: { first: page.first, after: page.after ?? null },
    });
  }
}
