import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { Clock } from '../../common/clock';
import { ErrorCode, fail } from '../../common/errors';
import type { LiabilityTrendService } from '../../kpis/liability-trend';
import type { MemberLiftService } from '../../kpis/member-lift';
import { subjectOf } from '../../settlement/subject';
import type { RequestContext } from '../context';
import { present } from '../present';
import { KpiPeriodInput, KpiScopeInput } from '../types/kpi.type';
import { KpiLiability, KpiMemberLift, NonMemberReport, NonMemberReportInput } from '../types/kpi-trend.type';
import {
  KpiLiabilityResult,
  KpiMemberLiftResult,
  kpisFailures,
  nonMemberReportFailures,
  NonMemberReportResult,
} from '../types/results.type';

const OWN_AND_COALITION = 'a partner reads its own figures and the coalition’s only';

/**
 * Member lift and the liability and breakage trend (docs/kpis.md), read like `kpis`: operators and
 * finance any partner's or the coalition's; a partner token its own and the coalition's (another
 * partner's: ScopeNotAllowed); members none. Partners report their non-member customers here.
 */
@Resolver()
export class KpiTrendResolver {
  constructor(
    private readonly memberLift: MemberLiftService,
    private readonly liabilityTrend: LiabilityTrendService,
    private readonly clock: Clock,
  ) {}

  @Authorized('operator', 'partner')
  @Mutation(() => NonMemberReportResult, {
    description:
      "Reports a partner's non-member customers for a month (a partner: its own; an operator: any partner). A later report for the month supersedes this one from then on.",
  })
  async reportNonMemberCustomers(
    @Arg('input', () => NonMemberReportInput) input: NonMemberReportInput,
    @Ctx() context: RequestContext,
  ): Promise<typeof NonMemberReportResult> {
    const viewer = context.viewer;
    const by = viewer.kind === 'partner' ? { kind: 'partner' as const, partnerId: viewer.partnerId } : { kind: 'operator' as const };
    const outcome = await this.memberLift.report(
      {
        partnerId: input.partnerId ?? null,
        month: input.month,
        customers: input.customers,
        purchases: input.purchases,
        spend: input.spend,
      },
      by,
      subjectOf(viewer),
      this.clock.now(),
    );
    return present(outcome, NonMemberReport, nonMemberReportFailures);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => KpiMemberLiftResult, {
    description:
      "Members' purchases and spend per active member against the non-members' per customer that partners reported, per month and for the period, as of a time (default now).",
  })
  async kpiMemberLift(
    @Arg('scope', () => KpiScopeInput) scope: KpiScopeInput,
    @Arg('period', () => KpiPeriodInput) period: KpiPeriodInput,
    @Ctx() context: RequestContext,
    @Arg('asOf', () => Date, { nullable: true, description: 'Only what was recorded up to then counts (default now).' }) asOf?: Date | null,
  ): Promise<typeof KpiMemberLiftResult> {
    const partnerId = scope.partnerId ?? null;
    if (context.viewer.kind === 'partner' && partnerId !== null && partnerId !== context.viewer.partnerId) {
      return present(fail(ErrorCode.SCOPE_NOT_ALLOWED, OWN_AND_COALITION), KpiMemberLift, kpisFailures);
    }
    const now = this.clock.now();
    const outcome = await this.memberLift.lift({ partnerId, from: period.from, to: period.to, asOf: asOf ?? now }, now);
    return present(outcome, KpiMemberLift, kpisFailures);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => KpiLiabilityResult, {
    description:
      'CP issued, redeemed, expired and outstanding per month, with breakage, for the CP a partner issued (the coalition: all), as of a time (default now).',
  })
  async kpiLiability(
    @Arg('scope', () => KpiScopeInput) scope: KpiScopeInput,
    @Arg('period', () => KpiPeriodInput) period: KpiPeriodInput,
    @Ctx() context: RequestContext,
    @Arg('asOf', () => Date, { nullable: true, description: 'Only what was recorded up to then counts (default now).' }) asOf?: Date | null,
  ): Promise<typeof KpiLiabilityResult> {
    const partnerId = scope.partnerId ?? null;
    if (context.viewer.kind === 'partner' && partnerId !== null && partnerId !== context.viewer.partnerId) {
      return present(fail(ErrorCode.SCOPE_NOT_ALLOWED, OWN_AND_COALITION), KpiLiability, kpisFailures);
    }
    const now = this.clock.now();
    const outcome = await this.liabilityTrend.trend({ partnerId, from: period.from, to: period.to, asOf: asOf ?? now }, now);
    return present(outcome, KpiLiability, kpisFailures);
  }
}
