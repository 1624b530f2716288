import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GrantService } from '../../grants/grant.service';
import type { InstructionService } from '../../instructions/instruction.service';
import type { ReferralService } from '../../referrals/referral.service';
import type { ReferralProgramme as Programme } from '../../referrals/referrals';
import { isDomainError } from '../../common/errors';
import type { RequestContext } from '../context';
import { partnerIdArg } from '../identifier-args';
import { present } from '../present';
import { partnerIdOf } from '../viewer-scope';
import { PageArgs } from '../types/connection.type';
import { Member } from '../types/member.type';
import {
  GrantConnection,
  GrantPolicy,
  GrantPolicyInput,
  GrantPolicyResult,
  GrantReceipt,
  GrantResult,
  GrantUsage,
  grantFailures,
  ReferralProgramme,
  ReferralProgrammeInput,
  ReferralProgrammeResult,
} from '../types/grant.type';
import { settingFailures } from '../types/results.type';

const INSTRUCTION_HELP =
  'A compact JWS signed by the partner (header typ coalition-tx+jwt). It authenticates itself: no bearer token is needed.';

const operatorOf = (context: RequestContext): string => (context.viewer.kind === 'operator' ? context.viewer.subject : 'operator');

const programmeOut = (programme: Programme) => ({
  ...programme,
  referrerBonus: programme.referrerBonus.toString(),
  refereeBonus: programme.refereeBonus.toString(),
});

/** Grants with reasons and referrals (docs/grants-and-referrals.md). */
@Resolver()
export class GrantResolver {
  constructor(
    private readonly instructions: InstructionService,
    private readonly grantService: GrantService,
    private readonly referrals: ReferralService,
  ) {}

  @Mutation(() => GrantResult, {
    description:
      'Grant points with a reason (op "grant"): compensation after a bad experience (with a case reference) or surprise and delight; within the partner\'s grant policy.',
  })
  async grantPoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof GrantResult> {
    const outcome = await this.instructions.submit('grant', instruction);
    const flat = isDomainError(outcome)
      ? outcome
      : { ...outcome.data, jti: outcome.jti, receipt: outcome.receipt, replayed: outcome.replayed };
    return present(flat, GrantReceipt, grantFailures);
  }

  @Authorized('partner')
  @Query(() => GrantConnection, { description: "The calling partner's own grants, newest first." })
  grants(@Args() page: PageArgs, @Ctx() context: RequestContext) {
    return this.grantService.grantsOf(partnerIdOf(context.viewer), { first: page.first, after: page.after ?? null });
  }

  @Authorized('partner')
  @Query(() => GrantPolicy, { nullable: true, description: "The calling partner's grant policy; null until the operator sets one." })
  grantPolicy(@Ctx() context: RequestContext) {
    return this.grantService.policyOf(partnerIdOf(context.viewer));
  }

  @Authorized('partner')
  @Query(() => GrantUsage, { description: 'What the calling partner has granted this month (UTC), against its policy.' })
  grantUsage(@Ctx() context: RequestContext) {
    return this.grantService.usageOf(partnerIdOf(context.viewer));
  }

  @Authorized('operator')
  @Mutation(() => GrantPolicyResult, {
    description: "Set a partner's grant policy (per-member cap, grants per month, budget per month; UTC months).",
  })
  async setGrantPolicy(
    @Arg('partnerId', () => ID, partnerIdArg) partnerId: string,
    @Arg('input', () => GrantPolicyInput) input: GrantPolicyInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof GrantPolicyResult> {
    return present(await this.grantService.setPolicy(partnerId, input, operatorOf(context)), GrantPolicy, settingFailures);
  }

  @Authorized('operator')
  @Query(() => ReferralProgramme, { nullable: true, description: "The coalition's referral programme; null until the operator sets one." })
  async referralProgramme() {
    const programme = await this.referrals.programme();
    return programme ? programmeOut(programme) : null;
  }

  @Authorized('operator')
  @Mutation(() => ReferralProgrammeResult, {
    description: 'Set the referral programme: the paying partner, the bonus of referrer and referee, the cap per referrer.',
  })
  async setReferralProgramme(
    @Arg('input', () => ReferralProgrammeInput) input: ReferralProgrammeInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof ReferralProgrammeResult> {
    const outcome = await this.referrals.setProgramme(input, operatorOf(context));
    return present(isDomainError(outcome) ? outcome : programmeOut(outcome), ReferralProgramme, settingFailures);
  }
}

@Resolver(() => Member)
export class MemberReferralResolver {
  constructor(private readonly referrals: ReferralService) {}

  @Authorized('member', 'partner')
  @FieldResolver(() => String, {
    description: "The member's referral code, made on first ask and the same ever after; a new member enrols with it (referralCode).",
  })
  referralCode(@Root() member: Member): Promise<string> {
    return this.referrals.codeOf(member.id);
  }
}
