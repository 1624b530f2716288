import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { forbidden } from '../../common/auth-errors';
import type { Viewer } from '../../common/viewer';
import type { EngineConfigService } from '../../engine/engine-config.service';
import { subjectOf } from '../../settlement/subject';
import type { RequestContext } from '../context';
import { present } from '../present';
import { Campaign, CampaignInput, EarnCategories, EarnRule, EarnRuleInput } from '../types/engine.type';
import { CampaignResult, EarnCategoriesResult, EarnRuleResult, settingFailures } from '../types/results.type';

/** The partner a request may configure: a partner token only its own; the operator any (named). */
function configuredPartner(viewer: Viewer, partnerId: string | null | undefined): string {
  if (viewer.kind === 'partner') {
    if (partnerId && partnerId !== viewer.partnerId) throw forbidden('a partner sets only its own earn rules and campaigns');
    return viewer.partnerId;
  }
  if (!partnerId) throw forbidden('the operator names the partner (partnerId)');
  return partnerId;
}

/** Earn rules, categories and campaigns (docs/loyalty-engine.md): set by the partner itself or the operator. */
@Resolver()
export class EngineResolver {
  constructor(private readonly engine: EngineConfigService) {}

  @Authorized('operator', 'partner')
  @Mutation(() => EarnRuleResult, { description: 'A new version of an earn rule from validFrom (default now, never in the past).' })
  async setEarnRule(
    @Arg('input', () => EarnRuleInput) input: EarnRuleInput,
    @Ctx() context: RequestContext,
    @Arg('partnerId', () => ID, { nullable: true, description: 'The operator names the partner; a partner token sets its own.' })
    partnerId?: string | null,
    @Arg('validFrom', () => Date, { nullable: true }) validFrom?: Date | null,
  ): Promise<typeof EarnRuleResult> {
    const partner = configuredPartner(context.viewer, partnerId);
    return present(await this.engine.setEarnRule(partner, input, validFrom), EarnRule, settingFailures);
  }

  @Authorized('operator', 'partner')
  @Mutation(() => EarnCategoriesResult, { description: 'The categories purchase lines may name (an empty list: any).' })
  async setEarnCategories(
    @Arg('categories', () => [String]) categories: string[],
    @Ctx() context: RequestContext,
    @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null,
  ): Promise<typeof EarnCategoriesResult> {
    const partner = configuredPartner(context.viewer, partnerId);
    const outcome = await this.engine.setEarnCategories(partner, categories);
    return present(Array.isArray(outcome) ? { partnerId: partner, categories: outcome } : outcome, EarnCategories, settingFailures);
  }

  @Authorized('operator', 'partner')
  @Query(() => [EarnRule], { description: "A partner's earn rules in force now (a partner token: its own)." })
  earnRules(@Ctx() context: RequestContext, @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null) {
    return this.engine.earnRules(configuredPartner(context.viewer, partnerId));
  }

  @Authorized('operator', 'partner')
  @Query(() => [Campaign], { description: 'The campaigns a partner takes part in, newest first.' })
  campaigns(@Ctx() context: RequestContext, @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null) {
    return this.engine.campaigns(configuredPartner(context.viewer, partnerId));
  }

  @Authorized('operator', 'partner')
  @Mutation(() => CampaignResult, {
    description:
      "A campaign. A partner token may fund a campaign only alone; a coalition campaign over several partners is the operator's.",
  })
  async createCampaign(
    @Arg('input', () => CampaignInput) input: CampaignInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof CampaignResult> {
    const viewer = context.viewer;
    if (viewer.kind === 'partner' && input.funders.some((funder) => funder.partnerId !== viewer.partnerId)) {
      throw forbidden('a partner funds only its own campaigns');
    }
    return present(await this.engine.createCampaign(input, subjectOf(viewer)), Campaign, settingFailures);
  }

  @Authorized('operator', 'partner')
  @Mutation(() => CampaignResult, { description: 'Ends a campaign now.' })
  async endCampaign(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext): Promise<typeof CampaignResult> {
    const partner = context.viewer.kind === 'partner' ? context.viewer.partnerId : null;
    return present(await this.engine.endCampaign(id, partner), Campaign, settingFailures);
  }
}
