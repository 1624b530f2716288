import { useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError, type GraphqlClient } from '../api';
import { BarChart } from '../chart';
import { date, dateTime, decimal, percent, points, step } from '../format';
import { errorText, Loading, Problem, Section, Table, useLoad } from '../ui';
import { refusalText, type KpiQuestion, type KpiRatio, type Refused } from './kpi-answers';
import { LiabilitySection, MemberLiftSection } from './KpiTrends';

/**
 * The KPI dashboards (docs/consoles.md, "KPIs"; the figures: docs/kpis.md). The person picks a
 * scope (the coalition or one partner), whole months, an as-of date and an optional segment; the
 * page shows what `kpis` and `kpiCampaigns` answer for exactly those inputs. Ratios arrive as exact
 * decimal strings and money as minor-unit strings: both are formatted by string arithmetic. Chart
 * heights are the only floats, and each chart has a table of the exact figures beside it.
 */

export interface Kpis {
  __typename: 'Kpis';
  partnerId: string | null;
  from: string;
  to: string;
  months: number;
  previousFrom: string;
  asOf: string;
  rollupCompleteBefore: string | null;
  activeMembers: number;
  purchases: string;
  spend: string;
  previousSpend: string;
  enrolments: number;
  enrolmentsByChannel: Array<{ channel: string; members: number }>;
  retentionCohorts: Array<{
    month: string;
    size: number;
    months: Array<{ offset: number; month: string; active: number; retention: KpiRatio }>;
  }>;
  monthlyRetention: KpiRatio;
  churn: KpiRatio;
  repeatPurchaseRate: KpiRatio;
  purchaseFrequency: KpiRatio;
  averageTransactionValue: KpiRatio;
  spendGrowth: KpiRatio;
  clv: { value: string | null; monthlyMarginPerMember: KpiRatio; monthlyRetention: KpiRatio; margin: string; monthlyDiscountRate: string };
  lifecycleFunnel: Array<{ stage: string; members: number }>;
  crossPartnerReach: KpiRatio;
  referralConversion: KpiRatio;
  rewardUptake: Array<{ kind: string; redemptions: number; members: number; uptake: KpiRatio }>;
  settings: {
    partnerId: string | null;
    margin: string;
    monthlyDiscountRate: string;
    lifecycleWindowMonths: number;
    loyalMinPurchases: number;
    loyalMonths: number;
    setAt: string | null;
  };
}

interface KpiCampaign {
  campaignId: string;
  name: string;
  startsAt: string;
  endsAt: string;
  membersReached: number;
  pointsAwarded: string;
  pointsCap: string | null;
  budgetUsed: KpiRatio | null;
  purchasesDuring: string;
  purchasesBefore: string;
  incrementalPurchasesPerMember: KpiRatio;
  holdoutShare: string;
  holdoutMembers: number;
  holdoutPurchasesDuring: string;
  incrementalPurchasesPerMemberVsHoldout: KpiRatio | null;
}

const RATIO = 'numerator denominator value';

export const KPIS_QUERY = `query Kpis($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $segment: KpiSegmentInput) {
  kpis(scope: $scope, period: $period, asOf: $asOf, segment: $segment) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on Kpis {
      partnerId from to months previousFrom asOf rollupCompleteBefore
      activeMembers purchases spend previousSpend enrolments
      enrolmentsByChannel { channel members }
      retentionCohorts { month size months { offset month active retention { ${RATIO} } } }
      monthlyRetention { ${RATIO} } churn { ${RATIO} } repeatPurchaseRate { ${RATIO} }
      purchaseFrequency { ${RATIO} } averageTransactionValue { ${RATIO} } spendGrowth { ${RATIO} }
      clv { value monthlyMarginPerMember { ${RATIO} } monthlyRetention { ${RATIO} } margin monthlyDiscountRate }
      lifecycleFunnel { stage members }
      crossPartnerReach { ${RATIO} } referralConversion { ${RATIO} }
      rewardUptake { kind redemptions members uptake { ${RATIO} } }
      settings { partnerId margin monthlyDiscountRate lifecycleWindowMonths loyalMinPurchases loyalMonths setAt }
    }
  }
}`;

const CAMPAIGNS_QUERY = `query KpiCampaigns($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO, $after: String) {
  kpiCampaigns(scope: $scope, period: $period, asOf: $asOf, first: 20, after: $after) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on KpiCampaignConnection {
      edges { node { campaignId name startsAt endsAt membersReached pointsAwarded pointsCap budgetUsed { ${RATIO} }
        purchasesDuring purchasesBefore incrementalPurchasesPerMember { ${RATIO} }
        holdoutShare holdoutMembers holdoutPurchasesDuring incrementalPurchasesPerMemberVsHoldout { ${RATIO} } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

const STAGES: Record<string, string> = {
  FIRST_VISIT: 'First visit',
  ONE_TIME: 'One-time',
  RETURNING: 'Returning',
  REPEAT: 'Repeat',
  LOYAL: 'Loyal',
};

const pad = (n: number) => String(n).padStart(2, '0');
function monthOf(year: number, month: number): string {
  const normal = new Date(Date.UTC(year, month, 1));
  return `${normal.getUTCFullYear()}-${pad(normal.getUTCMonth() + 1)}`;
}

/** The month presets, ending with this month (UTC). */
function preset(name: string): { from: string; to: string } | undefined {
  const now = new Date();
  const [year, month] = [now.getUTCFullYear(), now.getUTCMonth()];
  const span = { 'this-month': 1, 'last-3': 3, 'last-6': 6, 'last-12': 12 }[name];
  if (span === undefined) return undefined;
  return { from: monthOf(year, month - span + 1), to: monthOf(year, month) };
}

/** An as-of date (YYYY-MM-DD) means the end of that UTC day, or now when that is still to come. */
export function asOfInstant(day: string): string | undefined {
  if (day === '') return undefined;
  const end = new Date(`${day}T23:59:59.999Z`);
  if (Number.isNaN(end.getTime())) return `${day}T23:59:59.999Z`; // the hub explains what is wrong with it
  return end.getTime() > Date.now() ? undefined : end.toISOString();
}

interface Draft {
  partnerId: string;
  preset: string;
  from: string;
  to: string;
  asOf: string;
  stage: string;
  channel: string;
  tier: string;
}

function question(draft: Draft): KpiQuestion {
  const period = preset(draft.preset) ?? { from: draft.from, to: draft.to };
  const segment: KpiQuestion['segment'] = {};
  if (draft.stage !== '') segment.lifecycleStage = draft.stage;
  if (draft.channel.trim() !== '') segment.enrolmentChannel = draft.channel.trim();
  if (draft.tier.trim() !== '') segment.tier = draft.tier.trim();
  const asOf = asOfInstant(draft.asOf);
  return {
    scope: { partnerId: draft.partnerId.trim() === '' ? null : draft.partnerId.trim() },
    period,
    ...(asOf !== undefined ? { asOf } : {}),
    ...(Object.keys(segment).length > 0 ? { segment } : {}),
  };
}

export function KpisPage({ graphql, partners }: { graphql: GraphqlClient; partners: Array<{ id: string; name: string }> }) {
  const initial = preset('last-3')!;
  const [draft, setDraft] = useState<Draft>({ partnerId: '', preset: 'last-3', ...initial, asOf: '', stage: '', channel: '', tier: '' });
  const [asked, setAsked] = useState<KpiQuestion>(() => question(draft));
  const ids = {
    scope: useId(),
    preset: useId(),
    from: useId(),
    to: useId(),
    asOf: useId(),
    stage: useId(),
    channel: useId(),
    tier: useId(),
  };
  const change = (field: keyof Draft) => (event: { target: { value: string } }) => setDraft((d) => ({ ...d, [field]: event.target.value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAsked(question(draft));
  };
  const key = JSON.stringify(asked);
  const figures = useLoad(() => graphql<{ kpis: Kpis | Refused }>(KPIS_QUERY, { ...asked }), [graphql, key]);
  const custom = draft.preset === 'custom';
  return (
    <>
      <Section title="KPIs">
        <form className="kpi-form" onSubmit={submit} aria-label="KPI inputs">
          <div>
            {partners.length > 0 ? (
              <>
                <label htmlFor={ids.scope}>Scope</label>
                <select id={ids.scope} value={draft.partnerId} onChange={change('partnerId')}>
                  <option value="">The whole coalition</option>
                  {partners.map((partner) => (
                    <option key={partner.id} value={partner.id}>
                      {partner.id} — {partner.name}
                    </option>
                  ))}
                </select>
              </>
            ) : (
              <>
                {/* No partner list (a partner's token may not read it): the partner's id is typed. */}
                <label htmlFor={ids.scope}>Scope: partner id (empty: the coalition)</label>
                <input id={ids.scope} value={draft.partnerId} onChange={change('partnerId')} autoComplete="off" spellCheck={false} />
              </>
            )}
          </div>
          <div>
            <label htmlFor={ids.preset}>Period</label>
            <select
              id={ids.preset}
              value={draft.preset}
              onChange={(event) => {
                const chosen = preset(event.target.value);
                setDraft((d) => ({ ...d, preset: event.target.value, ...(chosen ?? {}) }));
              }}
            >
              <option value="this-month">This month</option>
              <option value="last-3">Last 3 months</option>
              <option value="last-6">Last 6 months</option>
              <option value="last-12">Last 12 months</option>
              <option value="custom">Chosen months…</option>
            </select>
          </div>
          <div>
            <label htmlFor={ids.from}>From month</label>
            <input id={ids.from} type="month" value={draft.from} disabled={!custom} onChange={change('from')} placeholder="YYYY-MM" />
          </div>
          <div>
            <label htmlFor={ids.to}>To month</label>
            <input id={ids.to} type="month" value={draft.to} disabled={!custom} onChange={change('to')} placeholder="YYYY-MM" />
          </div>
          <div>
            <label htmlFor={ids.asOf}>As of (end of day, UTC; empty: now)</label>
            <input id={ids.asOf} type="date" value={draft.asOf} onChange={change('asOf')} />
          </div>
          <div>
            <label htmlFor={ids.stage}>Segment: lifecycle stage</label>
            <select id={ids.stage} value={draft.stage} onChange={change('stage')}>
              <option value="">Every member</option>
              {Object.entries(STAGES).map(([stage, label]) => (
                <option key={stage} value={stage}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={ids.channel}>Segment: enrolment channel</label>
            <input
              id={ids.channel}
              value={draft.channel}
              onChange={change('channel')}
              placeholder="any (e.g. web, store, none)"
              autoComplete="off"
            />
          </div>
          <div>
            <label htmlFor={ids.tier}>Segment: tier</label>
            <input id={ids.tier} value={draft.tier} onChange={change('tier')} placeholder="any (e.g. Gold)" autoComplete="off" />
          </div>
          <div className="kpi-submit">
            <button type="submit">Show KPIs</button>
          </div>
        </form>
      </Section>
      {figures.error && <Problem>{figures.error}</Problem>}
      {figures.loading && <Loading what="KPIs" />}
      {!figures.loading && figures.data && <KpiFigures graphql={graphql} asked={asked} result={figures.data.kpis} />}
    </>
  );
}

function KpiFigures({ graphql, asked, result }: { graphql: GraphqlClient; asked: KpiQuestion; result: Kpis | Refused }) {
  if (result.__typename !== 'Kpis') return <Problem>{refusalText(result)}</Problem>;
  const kpis = result;
  const scope = kpis.partnerId ?? 'the coalition';
  const segment = [
    asked.segment?.lifecycleStage && `stage ${STAGES[asked.segment.lifecycleStage] ?? asked.segment.lifecycleStage}`,
    asked.segment?.enrolmentChannel && `channel “${asked.segment.enrolmentChannel}”`,
    asked.segment?.tier && `tier ${asked.segment.tier}`,
  ].filter(Boolean);
  return (
    <>
      <Section title={`Figures for ${scope}`}>
        <p className="muted" data-testid="kpi-context">
          {kpis.from} to {kpis.to} ({kpis.months} {kpis.months === 1 ? 'month' : 'months'}), as of {dateTime(kpis.asOf)}
          {segment.length > 0 ? `; only members in ${segment.join(' and ')}` : ''}. Money in minor units of the purchases&apos; currency.
        </p>
        <dl className="facts kpi-tiles">
          <Fact name="Active members" testId="activeMembers" value={points(String(kpis.activeMembers))} />
          <Fact name="Enrolments" testId="enrolments" value={points(String(kpis.enrolments))} />
          <Fact name="Purchases" testId="purchases" value={points(kpis.purchases)} />
          <Fact
            name="Spend (minor units)"
            testId="spend"
            value={points(kpis.spend)}
            note={`previous period from ${kpis.previousFrom}: ${points(kpis.previousSpend)}`}
          />
          <Fact
            name="Average transaction value (minor units)"
            testId="averageTransactionValue"
            value={decimal(kpis.averageTransactionValue.value, 2)}
            ratio={kpis.averageTransactionValue}
          />
          <Fact
            name="Purchase frequency (per active member)"
            testId="purchaseFrequency"
            value={decimal(kpis.purchaseFrequency.value, 2)}
            ratio={kpis.purchaseFrequency}
          />
          <Fact
            name="Repeat-purchase rate"
            testId="repeatPurchaseRate"
            value={percent(kpis.repeatPurchaseRate.value)}
            ratio={kpis.repeatPurchaseRate}
          />
          <Fact
            name="Monthly retention"
            testId="monthlyRetention"
            value={percent(kpis.monthlyRetention.value)}
            ratio={kpis.monthlyRetention}
          />
          <Fact name="Churn" testId="churn" value={percent(kpis.churn.value)} ratio={kpis.churn} />
          <Fact name="Spend growth" testId="spendGrowth" value={percent(kpis.spendGrowth.value)} ratio={kpis.spendGrowth} />
          <Fact
            name="Cross-partner reach"
            testId="crossPartnerReach"
            value={percent(kpis.crossPartnerReach.value)}
            ratio={kpis.crossPartnerReach}
          />
          <Fact
            name="Referral conversion"
            testId="referralConversion"
            value={percent(kpis.referralConversion.value)}
            ratio={kpis.referralConversion}
          />
        </dl>
      </Section>
      <Section title="Customer lifetime value">
        <p className="muted">
          CLV = m × r / (1 + d − r): m the monthly margin per active member, r the monthly retention, d the monthly discount rate.
        </p>
        <dl className="facts">
          <Fact
            name="CLV (minor units)"
            testId="clv"
            value={points(kpis.clv.value)}
            note={kpis.clv.value === null ? 'not modelled: no active member or no retention to model' : undefined}
          />
          <Fact
            name="m: monthly margin per active member (minor units)"
            testId="clv-m"
            value={decimal(kpis.clv.monthlyMarginPerMember.value, 2)}
            ratio={kpis.clv.monthlyMarginPerMember}
          />
          <Fact
            name="r: monthly retention"
            testId="clv-r"
            value={percent(kpis.clv.monthlyRetention.value)}
            ratio={kpis.clv.monthlyRetention}
          />
          <Fact name="Margin" testId="clv-margin" value={percent(kpis.clv.margin)} />
          <Fact name="d: monthly discount rate" testId="clv-d" value={percent(kpis.clv.monthlyDiscountRate)} />
        </dl>
      </Section>
      <Section title="Enrolments by channel">
        <BarChart
          label="Members enrolled in the period by the channel of their first purchase"
          unit="members"
          labels={kpis.enrolmentsByChannel.map((row) => row.channel)}
          datasets={[{ label: 'Members', data: kpis.enrolmentsByChannel.map((row) => row.members) }]}
        />
        <Table
          caption="Enrolments by channel"
          head={['Channel', 'Members']}
          numeric={[1]}
          rows={kpis.enrolmentsByChannel.map((row) => [row.channel, points(String(row.members))])}
          empty="No enrolments in the period."
        />
      </Section>
      <Section title="Cohort retention">
        <CohortTable cohorts={kpis.retentionCohorts} />
      </Section>
      <Section title="Lifecycle funnel">
        <p className="muted">
          Each member&apos;s stage at the end of the period, from its purchases in the last {kpis.settings.lifecycleWindowMonths} months;
          loyal: at least {kpis.settings.loyalMinPurchases} purchases and active in each of the last {kpis.settings.loyalMonths} months.
        </p>
        <BarChart
          label="Members in each lifecycle stage"
          unit="members"
          labels={kpis.lifecycleFunnel.map((row) => STAGES[row.stage] ?? row.stage)}
          datasets={[{ label: 'Members', data: kpis.lifecycleFunnel.map((row) => row.members) }]}
        />
        <Table
          caption="Lifecycle funnel"
          head={['Stage', 'Members']}
          numeric={[1]}
          rows={kpis.lifecycleFunnel.map((row) => [STAGES[row.stage] ?? row.stage, points(String(row.members))])}
        />
      </Section>
      <Section title="Reward uptake">
        <p className="muted">Redemptions in the period by reward kind, and the share of the active members who redeemed one.</p>
        <Table
          caption="Reward uptake by reward kind"
          head={['Reward kind', 'Redemptions', 'Members', 'Uptake']}
          numeric={[1, 2, 3]}
          rows={kpis.rewardUptake.map((row) => [
            row.kind,
            points(String(row.redemptions)),
            points(String(row.members)),
            `${percent(row.uptake.value)} (${points(row.uptake.numerator)} / ${points(row.uptake.denominator)})`,
          ])}
          empty="No reward redeemed in the period."
        />
      </Section>
      <CampaignResults graphql={graphql} asked={asked} />
      <MemberLiftSection graphql={graphql} asked={asked} />
      <LiabilitySection graphql={graphql} asked={asked} />
      <Section title="Settings in force">
        <dl className="facts">
          <Fact name="Settings of" value={kpis.settings.partnerId ?? 'the coalition'} />
          <Fact name="In force since" value={kpis.settings.setAt ? date(kpis.settings.setAt) : 'the defaults'} />
          <Fact name="Rollup complete before" value={kpis.rollupCompleteBefore ?? 'not yet refreshed'} />
        </dl>
      </Section>
    </>
  );
}

/** One figure: its name, its formatted value and, for a ratio, the exact numerator and denominator. */
function Fact(props: { name: string; value: string; testId?: string; ratio?: KpiRatio; note?: string }) {
  return (
    <div>
      <dt>{props.name}</dt>
      <dd data-testid={props.testId ? `kpi-${props.testId}` : undefined}>{props.value}</dd>
      {props.ratio && (
        <dd className="ratio muted" data-testid={props.testId ? `kpi-${props.testId}-ratio` : undefined}>
          {points(props.ratio.numerator)} / {points(props.ratio.denominator)}
        </dd>
      )}
      {props.note && <dd className="ratio muted">{props.note}</dd>}
    </div>
  );
}

/** Cohorts by enrolment month, one column per month since; each cell shaded by its share (the text says it too). */
function CohortTable({ cohorts }: { cohorts: Kpis['retentionCohorts'] }) {
  const width = Math.max(0, ...cohorts.map((cohort) => cohort.months.length));
  if (cohorts.length === 0) return <p className="muted">No cohort in the period.</p>;
  return (
    <>
      <p className="muted">
        Members enrolled in each month, and the share of them active in each month after (month 0: the enrolment month).
      </p>
      <Table
        caption="Cohort retention by enrolment month"
        head={['Cohort', 'Members', ...Array.from({ length: width }, (_, offset) => `Month ${offset}`)]}
        numeric={Array.from({ length: width + 1 }, (_, index) => index + 1)}
        rows={cohorts.map((cohort) => [
          cohort.month,
          points(String(cohort.size)),
          ...Array.from({ length: width }, (_, offset) => {
            const cell = cohort.months.find((month) => month.offset === offset);
            if (!cell) return '';
            return (
              <span key={offset} className={`heat heat-${step(cell.retention.value)}`} data-testid={`cohort-${cohort.month}-${offset}`}>
                {percent(cell.retention.value)}
                <span className="heat-count"> ({cell.active})</span>
              </span>
            );
          }),
        ])}
      />
    </>
  );
}

function CampaignResults({ graphql, asked }: { graphql: GraphqlClient; asked: KpiQuestion }) {
  const [rows, setRows] = useState<KpiCampaign[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<string>();
  const [loading, setLoading] = useState(true);
  const load = async (after: string | null) => {
    setLoading(true);
    setProblem(undefined);
    try {
      const { kpiCampaigns } = await graphql<{
        kpiCampaigns:
          | Refused
          | {
              __typename: 'KpiCampaignConnection';
              edges: Array<{ node: KpiCampaign }>;
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
            };
      }>(CAMPAIGNS_QUERY, { scope: asked.scope, period: asked.period, asOf: asked.asOf, after });
      if (kpiCampaigns.__typename !== 'KpiCampaignConnection') setProblem(refusalText(kpiCampaigns));
      else {
        const page = kpiCampaigns.edges.map((edge) => edge.node);
        setRows((previous) => (after === null ? page : [...previous, ...page]));
        setNext(kpiCampaigns.pageInfo.hasNextPage ? kpiCampaigns.pageInfo.endCursor : null);
      }
    } catch (caught) {
      setProblem(caught instanceof ApiError || caught instanceof Error ? errorText(caught) : String(caught));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setRows([]);
    void load(null);
  }, [graphql, JSON.stringify(asked)]);
  return (
    <Section title="Campaign results">
      <p className="muted">
        Campaigns that ran in the period. Incremental purchases per member compare the members reached during the campaign with the equal
        period before it and, for a campaign with a holdout, with the members it held out (their purchases during it, per member).
      </p>
      {problem && <Problem>{problem}</Problem>}
      <Table
        caption="Campaign results"
        head={[
          'Campaign',
          'Ran',
          'Members reached',
          'Points awarded',
          'Budget used',
          'Purchases during',
          'Purchases before',
          'Incremental / member',
          'Held out',
          'Held-out purchases',
          'Incremental / member vs holdout',
        ]}
        numeric={[2, 3, 4, 5, 6, 7, 8, 9, 10]}
        rows={rows.map((row) => [
          row.name,
          <span key="ran" className="nowrap">
            {date(row.startsAt)} – {date(row.endsAt)}
          </span>,
          points(String(row.membersReached)),
          points(row.pointsAwarded),
          row.budgetUsed ? `${percent(row.budgetUsed.value)} of ${points(row.pointsCap)}` : 'no cap',
          points(row.purchasesDuring),
          points(row.purchasesBefore),
          decimal(row.incrementalPurchasesPerMember.value, 2),
          row.incrementalPurchasesPerMemberVsHoldout
            ? `${points(String(row.holdoutMembers))} (${percent(row.holdoutShare)})`
            : 'no holdout',
          row.incrementalPurchasesPerMemberVsHoldout ? points(row.holdoutPurchasesDuring) : '—',
          row.incrementalPurchasesPerMemberVsHoldout ? decimal(row.incrementalPurchasesPerMemberVsHoldout.value, 2) : '—',
        ])}
        empty={loading ? 'Loading campaigns…' : 'No campaign ran in the period.'}
      />
      {next !== null && (
        <button type="button" className="secondary" disabled={loading} onClick={() => void load(next)}>
          More campaigns
        </button>
      )}
    </Section>
  );
}
