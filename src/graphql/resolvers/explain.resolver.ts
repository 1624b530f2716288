import { Args, Authorized, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { forbidden } from '../../common/auth-errors';
import type { Connection } from '../../ledger/ledger-query.service';
import type { BalanceSummary as Summary, ExplainLine } from '../../members/explain/phrasing';
import type { RequestContext } from '../context';
import { PageArgs, PageInfo } from '../types/connection.type';
import { BalanceExplanation, BalanceLineEdge, BalanceSummary } from '../types/explain.type';
import { Member } from '../types/member.type';

/**
 * Member.explain (docs/explain.md): for the member itself only. It names other partners, what they
 * issued and where the points were spent, which no partner may read about a shared member.
 */
@Resolver(() => Member)
export class MemberExplainResolver {
  @Authorized('member')
  @FieldResolver(() => BalanceExplanation, {
    description:
      'Where every point came from and went, newest first, in plain words and as fields, with a summary (docs/explain.md). Member tokens only.',
  })
  explain(@Root() member: Member, @Args() page: PageArgs, @Ctx() context: RequestContext): BalanceExplanation {
    const { viewer } = context;
    if (viewer.kind !== 'member') throw forbidden('explain is read with a member token');
    return Object.assign(new BalanceExplanation(), {
      memberId: member.id,
      identifiersOf: viewer.partnerId,
      page: { first: page.first, after: page.after ?? null },
    });
  }
}

@Resolver(() => BalanceExplanation)
export class BalanceExplanationResolver {
  @FieldResolver(() => BalanceSummary, { description: 'Balance, pending points and points expiring within 30 days.' })
  summary(@Root() explanation: BalanceExplanation, @Ctx() context: RequestContext): Promise<Summary> {
    return context.loaders.explainSummary.load(explanation.memberId);
  }

  @FieldResolver(() => [BalanceLineEdge])
  async edges(@Root() explanation: BalanceExplanation, @Ctx() context: RequestContext): Promise<Connection<ExplainLine>['edges']> {
    return (await context.loaders.explainLines.load(explanation)).edges;
  }

  @FieldResolver(() => PageInfo)
  async pageInfo(@Root() explanation: BalanceExplanation, @Ctx() context: RequestContext): Promise<Connection<ExplainLine>['pageInfo']> {
    return (await context.loaders.explainLines.load(explanation)).pageInfo;
  }
}
