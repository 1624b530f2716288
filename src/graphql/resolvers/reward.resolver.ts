import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { assert } from '../../common/assert';
import type { DomainError } from '../../common/errors';
import { isDomainError } from '../../common/errors';
import type { Accepted, InstructionService } from '../../instructions/instruction.service';
import type { RewardCatalogue } from '../../rewards/catalogue';
import type { EntitlementQueries } from '../../rewards/entitlements';
import type { MemberRedemptions } from '../../rewards/redemption';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { Member } from '../types/member.type';
import {
  CreateRewardInput,
  createRewardFailures,
  CreateRewardResult,
  Entitlement,
  EntitlementConnection,
  EntitlementUseReceipt,
  RedeemRewardForMemberResult,
  redeemRewardForMemberFailures,
  redeemRewardFailures,
  RedeemRewardResult,
  Reward,
  RewardConnection,
  RewardRedemption,
  RewardRedemptionReceipt,
  RewardsArgs,
  UpdateRewardInput,
  updateRewardFailures,
  UpdateRewardResult,
  useEntitlementFailures,
  UseEntitlementResult,
} from '../types/reward.type';
import { partnerIdOf } from '../viewer-scope';

const INSTRUCTION_HELP =
  'A compact JWS signed by the partner (header typ coalition-tx+jwt). It authenticates itself: no bearer token is needed.';

/** Receipt fields as GraphQL sees them: the stored result plus jti, receipt and replay flag. */
const flatten = <E extends DomainError>(outcome: Accepted | E) =>
  isDomainError(outcome) ? outcome : { ...outcome.data, jti: outcome.jti, receipt: outcome.receipt, replayed: outcome.replayed };

/** The rewards catalogue (docs/rewards.md): publishing, listing, redeeming, using entitlements. */
@Resolver(() => Reward)
export class RewardResolver {
  constructor(
    private readonly catalogue: RewardCatalogue,
    private readonly redemptions: MemberRedemptions,
    private readonly entitlements: EntitlementQueries,
    private readonly instructions: InstructionService,
  ) {}

  @Authorized('member', 'partner', 'operator', 'finance')
  @Query(() => RewardConnection, {
    description:
      "The catalogue, in publication order. A member: the rewards available now that it may redeem (eligibleOnly: false adds the others, flagged). A partner: its own rewards, and other partners' coalition-wide rewards available now. Operators and finance: every reward.",
  })
  rewards(@Args() args: RewardsArgs, @Ctx() context: RequestContext) {
    return this.catalogue.list(
      context.viewer,
      { first: args.first, after: args.after ?? null },
      { partnerId: args.partnerId ?? null, eligibleOnly: args.eligibleOnly ?? null },
    );
  }

  @Authorized('member', 'partner', 'operator', 'finance')
  @Query(() => Reward, { nullable: true, description: 'One reward, if the caller may see it (as in rewards).' })
  reward(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext) {
    return this.catalogue.findForViewer(context.viewer, id);
  }

  @Authorized('partner')
  @Mutation(() => CreateRewardResult, { description: 'Publishes a reward the calling partner provides.' })
  async createReward(
    @Arg('input', () => CreateRewardInput) input: CreateRewardInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof CreateRewardResult> {
    return present(await this.catalogue.create(partnerIdOf(context.viewer), input), Reward, createRewardFailures);
  }

  @Authorized('partner')
  @Mutation(() => UpdateRewardResult, {
    description: "Changes one of the calling partner's rewards: texts, price, stock, end of validity, withdrawal.",
  })
  async updateReward(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateRewardInput) input: UpdateRewardInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof UpdateRewardResult> {
    return present(await this.catalogue.update(partnerIdOf(context.viewer), id, input), Reward, updateRewardFailures);
  }

  @Authorized('member')
  @Mutation(() => RedeemRewardResult, {
    description:
      'The member behind the token redeems a reward: its price in CP is debited and an entitlement (voucher code) is created. The same idempotencyKey again answers the original redemption.',
  })
  async redeemReward(
    @Arg('rewardId', () => ID) rewardId: string,
    @Arg('idempotencyKey', {
      description: "The member app's key for this redemption (1 to 128 printable ASCII characters): retries send it again.",
    })
    idempotencyKey: string,
    @Ctx() context: RequestContext,
  ): Promise<typeof RedeemRewardResult> {
    const viewer = context.viewer;
    assert(viewer.kind === 'member', 'guarded by @Authorized("member")');
    const outcome = await this.redemptions.redeem(viewer, rewardId, idempotencyKey);
    return present(
      isDomainError(outcome) ? outcome : { ...outcome, replayed: outcome.replayed ?? false },
      RewardRedemption,
      redeemRewardFailures,
    );
  }

  @Mutation(() => RedeemRewardForMemberResult, {
    description:
      'A partner redeems a reward for its member (op "redeem_reward"): a reward of its own, or a coalition-wide one of another partner (which it settles to).',
  })
  async redeemRewardForMember(
    @Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string,
  ): Promise<typeof RedeemRewardForMemberResult> {
    return present(
      flatten(await this.instructions.submit('redeem_reward', instruction)),
      RewardRedemptionReceipt,
      redeemRewardForMemberFailures,
    );
  }

  @Mutation(() => UseEntitlementResult, {
    description: 'The providing partner marks an entitlement used by its code (op "use_entitlement"): once, before it expires.',
  })
  async useEntitlement(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof UseEntitlementResult> {
    return present(flatten(await this.instructions.submit('use_entitlement', instruction)), EntitlementUseReceipt, useEntitlementFailures);
  }

  @Authorized('partner')
  @Query(() => Entitlement, {
    nullable: true,
    description: "An entitlement to one of the calling partner's rewards, by the code the member shows; null for any other code.",
  })
  entitlementByCode(@Arg('code') code: string, @Ctx() context: RequestContext) {
    return this.entitlements.byCodeForPartner(partnerIdOf(context.viewer), code);
  }
}

@Resolver(() => Member)
export class MemberEntitlementResolver {
  constructor(private readonly queries: EntitlementQueries) {}

  @FieldResolver(() => EntitlementConnection, {
    description: "The member's entitlements to rewards, newest first, with code, status and expiry. A partner sees only its own rewards'.",
  })
  entitlements(@Root() member: Member, @Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.queries.ofMember(context.viewer, member.id, { first: page.first, after: page.after ?? null });
  }
}
