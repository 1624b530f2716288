import type { GraphqlClient } from '../api';
import { BarChart } from '../chart';
import { dateTime, decimal, percent, points } from '../format';
import { Loading, Problem, Section, Table, useLoad } from '../ui';
import { refusalText, type KpiQuestion, type KpiRatio, type Refused } from './kpi-answers';

/**
 * Member lift and the liability and breakage trend on the KPI page (docs/consoles.md, "KPIs"; the
 * figures: docs/kpis.md), for the same scope, period and as-of date as the figures above them.
 * Exact figures in the tables; the charts' bar heights are the only floats.
 */

const RATIO = 'numerator denominator value';
const FIGURES = `customers purchases spend purchasesPerCustomer { ${RATIO} } spendPerCustomer { ${RATIO} }`;

export const MEMBER_LIFT_QUERY = `query KpiMemberLift($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiMemberLift(scope: $scope, period: $period, asOf: $asOf) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on KpiMemberLift {
      months { month partnersReported reportedAt members { ${FIGURES} } nonMembers { ${FIGURES} }
               purchaseLift { ${RATIO} } spendLift { ${RATIO} } }
      period { monthsReported members { ${FIGURES} } nonMembers { ${FIGURES} } purchaseLift { ${RATIO} } spendLift { ${RATIO} } }
    }
  }
}`;

export const LIABILITY_QUERY = `query KpiLiability($scope: KpiScopeInput!, $period: KpiPeriodInput!, $asOf: DateTimeISO) {
  kpiLiability(scope: $scope, period: $period, asOf: $asOf) {
    __typename
    ... on ErrorResult { errorCode message }
    ... on KpiLiability {
      openingOutstanding
      months { month issued redeemed expired reversed outstanding outstandingAt breakageRate { ${RATIO} } breakageToDate { ${RATIO} } }
    }
  }
}`;

interface LiftFigures {
  customers: string;
  purchases: string;
  spend: string;
  purchasesPerCustomer: KpiRatio;
  spendPerCustomer: KpiRatio;
}

interface LiftRow {
  members: LiftFigures;
  nonMembers: LiftFigures | null;
  purchaseLift: KpiRatio | null;
  spendLift: KpiRatio | null;
}

interface MemberLift {
  __typename: 'KpiMemberLift';
  months: Array<LiftRow & { month: string; partnersReported: number; reportedAt: string | null }>;
  period: LiftRow & { monthsReported: number };
}

interface Liability {
  __typename: 'KpiLiability';
  openingOutstanding: string;
  months: Array<{
    month: string;
    issued: string;
    redeemed: string;
    expired: string;
    reversed: string;
    outstanding: string;
    outstandingAt: string;
    breakageRate: KpiRatio;
    breakageToDate: KpiRatio;
  }>;
}

/** A lift as a signed percentage with its exact ratio, or a dash without a report. */
const lift = (ratio: KpiRatio | null) =>
  ratio === null ? '—' : `${percent(ratio.value)} (${points(ratio.numerator)} / ${points(ratio.denominator)})`;

/** A bar height: the only float, taken from the exact decimal string. */
const height = (value: string | null | undefined) => (value === null || value === undefined ? 0 : Number(value));

export function MemberLiftSection({ graphql, asked }: { graphql: GraphqlClient; asked: KpiQuestion }) {
  const variables = { scope: asked.scope, period: asked.period, asOf: asked.asOf };
  const answer = useLoad(
    () => graphql<{ kpiMemberLift: MemberLift | Refused }>(MEMBER_LIFT_QUERY, variables),
    [graphql, JSON.stringify(variables)],
  );
  return (
    <Section title="Member lift">
      <p className="muted">
        Members&apos; purchases and spend per active member against the non-members&apos; per customer that partners reported (the
        coalition: over the partners that reported for each month). The segment above does not apply here.
      </p>
      {answer.error && <Problem>{answer.error}</Problem>}
      {answer.loading && <Loading what="member lift" />}
      {!answer.loading && answer.data && <MemberLiftFigures result={answer.data.kpiMemberLift} />}
    </Section>
  );
}

function MemberLiftFigures({ result }: { result: MemberLift | Refused }) {
  if (result.__typename !== 'KpiMemberLift') return <Problem>{refusalText(result)}</Problem>;
  const rows = [...result.months.map((row) => ({ label: row.month, ...row })), { label: 'Period (reported months)', ...result.period }];
  return (
    <>
      <BarChart
        label="Spend per customer by month: members against non-members"
        unit="minor units per customer"
        labels={result.months.map((row) => row.month)}
        datasets={[
          { label: 'Members', data: result.months.map((row) => height(row.members.spendPerCustomer.value)) },
          { label: 'Non-members', data: result.months.map((row) => height(row.nonMembers?.spendPerCustomer.value)) },
        ]}
      />
      <Table
        caption="Member lift by month"
        head={[
          'Month',
          'Active members',
          'Purchases / member',
          'Spend / member',
          'Non-member customers',
          'Purchases / customer',
          'Spend / customer',
          'Purchase lift',
          'Spend lift',
        ]}
        numeric={[1, 2, 3, 4, 5, 6, 7, 8]}
        rows={rows.map((row) => [
          row.label,
          points(row.members.customers),
          decimal(row.members.purchasesPerCustomer.value, 2),
          decimal(row.members.spendPerCustomer.value, 2),
          row.nonMembers ? points(row.nonMembers.customers) : 'no report',
          decimal(row.nonMembers?.purchasesPerCustomer.value, 2),
          decimal(row.nonMembers?.spendPerCustomer.value, 2),
          lift(row.purchaseLift),
          lift(row.spendLift),
        ])}
      />
    </>
  );
}

export function LiabilitySection({ graphql, asked }: { graphql: GraphqlClient; asked: KpiQuestion }) {
  const variables = { scope: asked.scope, period: asked.period, asOf: asked.asOf };
  const answer = useLoad(
    () => graphql<{ kpiLiability: Liability | Refused }>(LIABILITY_QUERY, variables),
    [graphql, JSON.stringify(variables)],
  );
  return (
    <Section title="Liability and breakage">
      <p className="muted">
        CP the scope&apos;s partner issued (the coalition: all CP), in points: issued, redeemed (less refunds), expired and taken back by
        refunds in each month, and outstanding at its end. Breakage: expired / (expired + redeemed), in the month and to date.
      </p>
      {answer.error && <Problem>{answer.error}</Problem>}
      {answer.loading && <Loading what="liability" />}
      {!answer.loading && answer.data && <LiabilityFigures result={answer.data.kpiLiability} />}
    </Section>
  );
}

function LiabilityFigures({ result }: { result: Liability | Refused }) {
  if (result.__typename !== 'KpiLiability') return <Problem>{refusalText(result)}</Problem>;
  return (
    <>
      <p className="muted">Outstanding when the period began: {points(result.openingOutstanding)} CP.</p>
      <BarChart
        label="CP issued, redeemed and expired by month"
        unit="CP"
        labels={result.months.map((row) => row.month)}
        datasets={[
          { label: 'Issued', data: result.months.map((row) => height(row.issued)) },
          { label: 'Redeemed', data: result.months.map((row) => height(row.redeemed)) },
          { label: 'Expired', data: result.months.map((row) => height(row.expired)) },
        ]}
      />
      <Table
        caption="Liability and breakage by month"
        head={['Month', 'Issued', 'Redeemed', 'Expired', 'Refunded issues', 'Outstanding', 'At', 'Breakage', 'Breakage to date']}
        numeric={[1, 2, 3, 4, 5, 7, 8]}
        rows={result.months.map((row) => [
          row.month,
          points(row.issued),
          points(row.redeemed),
          points(row.expired),
          points(row.reversed),
          points(row.outstanding),
          dateTime(row.outstandingAt),
          `${percent(row.breakageRate.value)} (${points(row.breakageRate.numerator)} / ${points(row.breakageRate.denominator)})`,
          `${percent(row.breakageToDate.value)} (${points(row.breakageToDate.numerator)} / ${points(row.breakageToDate.denominator)})`,
        ])}
      />
    </>
  );
}
