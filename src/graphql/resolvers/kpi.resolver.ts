import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Clock } from '../../common/clock';
import { ErrorCode, fail } from '../../common/errors';
import type { CampaignResultsService } from '../../kpis/campaign-results';
import type { KpiService } from '../../kpis/kpi.service';
import { setKpiSettings, settingsAt } from '../../kpis/kpi-settings';
import type { KpiRefreshRun } from '../../kpis/rollups';
import { subjectOf } from '../../settlement/subject';
import type { DataSource } from 'typeorm';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import {
  KpiCampaignConnection,
  KpiPeriodInput,
  KpiRefresh,
  Kpis,
  KpiScopeInput,
  KpiSegmentInput,
  KpiSettings,
  KpiSettingsInput,
} from '../types/kpi.type';
import { KpiCampaignsResult, KpiSettingsResult, KpisResult, kpisFailures, settingFailures } from '../types/results.type';

/**
 * KPI figures (docs/kpis.md): operators and finance read any partner's or the coalition's; a partner
 * token its own and the coalition's (another partner's: ScopeNotAllowed); members none.
 */
@Resolver()
export class KpiResolver {
  constructor(
    private readonly kpiService: KpiService,
    private readonly campaignResults: CampaignResultsService,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly refresh: () => Promise<KpiRefreshRun>,
  ) {}

  @Authorized('operator', 'finance', 'partner')
  @Query(() => KpisResult, {
    description: 'The KPIs of a partner or the coalition for whole months, as of a time (default now): aggregates only.',
  })
  async kpis(
    @Arg('scope', () => KpiScopeInput) scope: KpiScopeInput,
    @Arg('period', () => KpiPeriodInput) period: KpiPeriodInput,
    @Ctx() context: RequestContext,
    @Arg('asOf', () => Date, { nullable: true, description: 'Only what was recorded up to then counts (default now).' }) asOf?: Date | null,
    @Arg('segment', () => KpiSegmentInput, { nullable: true }) segment?: KpiSegmentInput | null,
  ): Promise<typeof KpisResult> {
    const viewer = context.viewer;
    const partnerId = scope.partnerId ?? null;
    if (viewer.kind === 'partner' && partnerId !== null && partnerId !== viewer.partnerId) {
      return present(fail(ErrorCode.SCOPE_NOT_ALLOWED, 'a partner reads its own figures and the coalition’s only'), Kpis, kpisFailures);
    }
    const now = this.clock.now();
    const outcome = await this.kpiService.kpis({ partnerId, from: period.from, to: period.to, asOf: asOf ?? now, segment }, now);
    return present(outcome, Kpis, kpisFailures);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => KpiCampaignsResult, {
    description: "Results of the scope's campaigns running in the period, as of a time (default now), by campaign id: aggregates only.",
  })
  async kpiCampaigns(
    @Arg('scope', () => KpiScopeInput) scope: KpiScopeInput,
    @Arg('period', () => KpiPeriodInput) period: KpiPeriodInput,
    @Args() page: PageArgs,
    @Ctx() context: RequestContext,
    @Arg('asOf', () => Date, { nullable: true }) asOf?: Date | null,
  ): Promise<typeof KpiCampaignsResult> {
    const viewer = context.viewer;
    const partnerId = scope.partnerId ?? null;
    if (viewer.kind === 'partner' && partnerId !== null && partnerId !== viewer.partnerId) {
      return present(
        fail(ErrorCode.SCOPE_NOT_ALLOWED, 'a partner reads its own figures and the coalition’s only'),
        KpiCampaignConnection,
        kpisFailures,
      );
    }
    const now = this.clock.now();
    const outcome = await this.campaignResults.campaigns({ partnerId, from: period.from, to: period.to, asOf: asOf ?? now }, page, now);
    return present(outcome, KpiCampaignConnection, kpisFailures);
  }

  @Authorized('operator', 'finance', 'partner')
  @Query(() => KpiSettings, { description: 'The CLV inputs and lifecycle thresholds in force (a partner: its own).' })
  kpiSettings(@Ctx() context: RequestContext, @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null) {
    const viewer = context.viewer;
    const scope = viewer.kind === 'partner' ? viewer.partnerId : (partnerId ?? null);
    return settingsAt(this.dataSource, scope, this.clock.now());
  }

  @Authorized('operator')
  @Mutation(() => KpiSettingsResult, {
    description: "Sets the coalition's (no partnerId) or a partner's CLV inputs, and the coalition's lifecycle thresholds, from now on.",
  })
  async setKpiSettings(
    @Arg('input', () => KpiSettingsInput) input: KpiSettingsInput,
    @Ctx() context: RequestContext,
    @Arg('partnerId', () => ID, { nullable: true }) partnerId?: string | null,
  ): Promise<typeof KpiSettingsResult> {
    const outcome = await setKpiSettings(this.dataSource, partnerId ?? null, input, subjectOf(context.viewer), this.clock.now());
    return present(outcome, KpiSettings, settingFailures);
  }

  @Authorized('operator')
  @Mutation(() => KpiRefresh, {
    description: 'Brings the KPI rollups up to now (what the kpi-refresh job does); ran: false when a refresh was already running.',
  })
  async refreshKpis(): Promise<KpiRefresh> {
    return Object.assign(new KpiRefresh(), await this.refresh());
  }
}
