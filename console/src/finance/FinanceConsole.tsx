import { useId, useState } from 'react';
import { isRefusal, nodes, REFUSAL, type GraphqlClient, type Result } from '../api';
import { BarChart } from '../chart';
import { dateTime, money, percent, points } from '../format';
import { download, errorText, Loading, Notice, Problem, Section, Shell, Table, useLoad } from '../ui';

/**
 * The finance console (docs/consoles.md, "Finance"): settlement periods and their figures, statements
 * with their exports, disputes, reconciliation and the liability and breakage charts. Every figure is
 * the hub's (docs/settlement.md); the page lays them out and downloads what the API returns.
 */

const NAV = [
  { id: 'periods', label: 'Periods' },
  { id: 'statements', label: 'Statements' },
  { id: 'disputes', label: 'Disputes' },
  { id: 'liability', label: 'Liability' },
];

export function FinanceConsole(props: { graphql: GraphqlClient; onSignOut: () => void }) {
  const [page, setPage] = useState('periods');
  return (
    <Shell kind="finance" nav={NAV} current={page} onNavigate={setPage} onSignOut={props.onSignOut}>
      {page === 'periods' && <PeriodsPage graphql={props.graphql} />}
      {page === 'statements' && <StatementsPage graphql={props.graphql} />}
      {page === 'disputes' && <DisputesPage graphql={props.graphql} />}
      {page === 'liability' && <LiabilityPage graphql={props.graphql} />}
    </Shell>
  );
}

interface PeriodRow {
  id: string;
  startsAt: string;
  endsAt: string;
  status: string;
  closedAt: string | null;
}

const PERIOD_FIELDS = 'id startsAt endsAt status closedAt';

function PeriodsPage({ graphql }: { graphql: GraphqlClient }) {
  const list = useLoad(
    () =>
      graphql<{ currentSettlementPeriod: PeriodRow; settlementPeriods: { edges: Array<{ node: PeriodRow }> } }>(
        `{ currentSettlementPeriod { ${PERIOD_FIELDS} } settlementPeriods(first: 50) { edges { node { ${PERIOD_FIELDS} } } } }`,
      ),
    [graphql],
  );
  const [selected, setSelected] = useState<string>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  // Bumped when a period closes: its figures are loaded afresh.
  const [closings, setClosings] = useState(0);
  const periods = nodes(list.data?.settlementPeriods);
  const current = list.data?.currentSettlementPeriod;
  const shown = selected ?? periods.find((period) => period.status === 'closed')?.id ?? current?.id;
  const close = async (period: PeriodRow) => {
    setBusy(true);
    setMessage(undefined);
    try {
      const { result } = await graphql<{ result: Result<{ id: string; status: string }> }>(
        `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { ${REFUSAL} ... on SettlementPeriod { id status } } }`,
        {
          id: period.id,
        },
      );
      if (isRefusal(result)) setMessage({ ok: false, text: `Not closed: ${result.message}` });
      else {
        setMessage({ ok: true, text: `Period ${period.id} is ${result.status}; its statements are issued.` });
        setSelected(result.id);
        setClosings((n) => n + 1);
        list.reload();
      }
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Section title="Settlement periods">
        {list.error && <Problem>{list.error}</Problem>}
        {message && (message.ok ? <Notice>{message.text}</Notice> : <Problem>{message.text}</Problem>)}
        {!list.data && list.loading && <Loading what="periods" />}
        <Table
          caption="Settlement periods, newest first"
          head={['Period', 'From', 'To', 'Status', '']}
          rows={periods.map((period) => [
            period.id,
            dateTime(period.startsAt),
            dateTime(period.endsAt),
            <span key="status" className={`badge ${period.status}`}>
              {period.status}
            </span>,
            <span key="actions" className="row-actions">
              <button type="button" className="secondary" onClick={() => setSelected(period.id)} aria-pressed={period.id === shown}>
                Show
              </button>
              {period.status === 'open' && (
                <button type="button" onClick={() => void close(period)} disabled={busy}>
                  Close period
                </button>
              )}
            </span>,
          ])}
        />
      </Section>
      {shown && <PeriodDetail key={`${shown}:${closings}`} graphql={graphql} id={shown} />}
    </>
  );
}

interface Figure {
  points: string;
  moneyMinor: string;
}

interface PeriodDetailData {
  settlementPeriod: {
    id: string;
    status: string;
    closedAt: string | null;
    closedBy: string | null;
    summary: {
      currency: string;
      entries: string;
      spreadMinor: string;
      breakageKeptMinor: string;
      adjustmentsMinor: string;
      revenueMinor: string;
      liabilityChangeMinor: string;
      prefundedMinor: string;
      grossMinor: string;
      netMinor: string;
      nettingEfficiency: number;
    } | null;
    positions: {
      edges: Array<{
        node: {
          partnerId: string;
          netMinor: string;
          issued: Figure;
          redeemed: Figure;
          breakage: Figure;
          rewards: Figure;
          campaign: Figure;
        };
      }>;
    };
    obligations: { edges: Array<{ node: { issuer: string; consumer: string; points: string; fundedMinor: string } }> };
    transfers: { edges: Array<{ node: { position: number; payer: string; payee: string; amountMinor: string } }> };
  } | null;
  reconciliation: { ok: boolean; differences: string[]; checks: Array<{ name: string; ok: boolean; detail: string }> } | null;
}

function PeriodDetail({ graphql, id }: { graphql: GraphqlClient; id: string }) {
  // Two requests: each stays under the hub's query cost limit (docs/security.md).
  const detail = useLoad(async () => {
    const [figures, flows] = await Promise.all([
      graphql<{ settlementPeriod: Omit<NonNullable<PeriodDetailData['settlementPeriod']>, 'obligations' | 'transfers'> | null }>(
        `
          query ($id: ID!) {
            settlementPeriod(id: $id) {
              id
              status
              closedAt
              closedBy
              summary {
                currency
                entries
                spreadMinor
                breakageKeptMinor
                adjustmentsMinor
                revenueMinor
                liabilityChangeMinor
                prefundedMinor
                grossMinor
                netMinor
                nettingEfficiency
              }
              positions(first: 50) {
                edges {
                  node {
                    partnerId
                    netMinor
                    issued {
                      points
                      moneyMinor
                    }
                    redeemed {
                      points
                      moneyMinor
                    }
                    breakage {
                      points
                      moneyMinor
                    }
                    rewards {
                      points
                      moneyMinor
                    }
                    campaign {
                      points
                      moneyMinor
                    }
                  }
                }
              }
            }
          }
        `,
        { id },
      ),
      graphql<{
        settlementPeriod: Pick<NonNullable<PeriodDetailData['settlementPeriod']>, 'obligations' | 'transfers'> | null;
        reconciliation: PeriodDetailData['reconciliation'];
      }>(
        `
          query ($id: ID!) {
            settlementPeriod(id: $id) {
              obligations(first: 100) {
                edges {
                  node {
                    issuer
                    consumer
                    points
                    fundedMinor
                  }
                }
              }
              transfers(first: 50) {
                edges {
                  node {
                    position
                    payer
                    payee
                    amountMinor
                  }
                }
              }
            }
            reconciliation(periodId: $id) {
              ok
              differences
              checks {
                name
                ok
                detail
              }
            }
          }
        `,
        { id },
      ),
    ]);
    const period = figures.settlementPeriod && flows.settlementPeriod ? { ...figures.settlementPeriod, ...flows.settlementPeriod } : null;
    return { settlementPeriod: period, reconciliation: flows.reconciliation } satisfies PeriodDetailData;
  }, [graphql, id]);
  const period = detail.data?.settlementPeriod;
  if (detail.error) return <Problem>{detail.error}</Problem>;
  if (!period) return detail.loading ? <Loading what="the period" /> : <Problem>No period {id}.</Problem>;
  const summary = period.summary;
  const currency = summary?.currency ?? 'EUR';
  const obligations = nodes(period.obligations);
  const issuers = [...new Set(obligations.map((o) => o.issuer))].sort();
  const consumers = [...new Set(obligations.map((o) => o.consumer))].sort();
  const cell = (issuer: string, consumer: string) => obligations.find((o) => o.issuer === issuer && o.consumer === consumer);
  const reconciliation = detail.data?.reconciliation;
  return (
    <>
      <Section title={`Period ${period.id}`}>
        {period.status !== 'closed' ? (
          <p className="muted">This period is {period.status}: its figures are computed when it closes.</p>
        ) : (
          <p className="muted">
            Closed {dateTime(period.closedAt)} by {period.closedBy ?? '—'}.
          </p>
        )}
        {summary && (
          <dl className="facts">
            <div>
              <dt>Gross (every line paid separately)</dt>
              <dd>{money(summary.grossMinor, currency)}</dd>
            </div>
            <div>
              <dt>Net (after netting)</dt>
              <dd>{money(summary.netMinor, currency)}</dd>
            </div>
            <div>
              <dt>Netting efficiency</dt>
              <dd data-testid="netting-efficiency">{percent(summary.nettingEfficiency)}</dd>
            </div>
            <div>
              <dt>Hub revenue</dt>
              <dd>{money(summary.revenueMinor, currency)}</dd>
            </div>
            <div>
              <dt>Liability change</dt>
              <dd>{money(summary.liabilityChangeMinor, currency)}</dd>
            </div>
            <div>
              <dt>Entries</dt>
              <dd>{points(summary.entries)}</dd>
            </div>
          </dl>
        )}
      </Section>
      {period.status === 'closed' && reconciliation && (
        <Section title="Reconciliation">
          <p className={reconciliation.ok ? 'ok' : 'problem'} role={reconciliation.ok ? 'status' : 'alert'}>
            {reconciliation.ok ? 'Reconciled: every check agrees.' : `${reconciliation.differences.length} difference(s) found.`}
          </p>
          <Table
            caption="Reconciliation checks"
            head={['Check', 'Result', 'Detail']}
            rows={reconciliation.checks.map((check) => [check.name, check.ok ? 'agrees' : 'DIFFERS', check.detail])}
            rowClass={(index) => (reconciliation.checks[index]?.ok === false ? 'differs' : undefined)}
          />
          {reconciliation.differences.length > 0 && (
            <ul className="differences">
              {reconciliation.differences.map((difference) => (
                <li key={difference}>{difference}</li>
              ))}
            </ul>
          )}
        </Section>
      )}
      <Section title="Positions per partner">
        <Table
          caption="Each partner's position in the period (positive: owes the hub)"
          head={['Partner', 'Issued CP', 'Redeemed CP', 'Breakage CP', 'Rewards CP', 'Campaign CP', 'Net']}
          numeric={[1, 2, 3, 4, 5, 6]}
          rows={nodes(period.positions).map((position) => [
            position.partnerId,
            points(position.issued.points),
            points(position.redeemed.points),
            points(position.breakage.points),
            points(position.rewards.points),
            points(position.campaign.points),
            <strong key="net">{money(position.netMinor, currency)}</strong>,
          ])}
          empty="No positions in this period."
        />
      </Section>
      <Section title="Obligation matrix">
        <p className="muted">
          Funded value of points issued by the row's partner and consumed at the column's (minor units in {currency}).
        </p>
        <Table
          caption="Obligations: issuer (rows) by consuming partner (columns)"
          head={['Issuer \\ consumer', ...consumers]}
          numeric={consumers.map((_, index) => index + 1)}
          rows={issuers.map((issuer) => [
            issuer,
            ...consumers.map((consumer) => {
              const found = cell(issuer, consumer);
              return found ? `${money(found.fundedMinor, currency)} (${points(found.points)} CP)` : '—';
            }),
          ])}
          empty="No points changed hands between partners."
        />
      </Section>
      <Section title="Netting transfers">
        <Table
          caption="Payments after multilateral netting"
          head={['#', 'Payer', 'Payee', 'Amount']}
          numeric={[3]}
          rows={nodes(period.transfers).map((transfer) => [
            String(transfer.position),
            transfer.payer,
            transfer.payee,
            money(transfer.amountMinor, currency),
          ])}
          empty="Nothing to pay."
        />
        {summary && (
          <p>
            Gross {money(summary.grossMinor, currency)} → net {money(summary.netMinor, currency)}: netting saves{' '}
            {percent(summary.nettingEfficiency)} of the money moved.
          </p>
        )}
      </Section>
    </>
  );
}

interface StatementRow {
  id: string;
  periodId: string;
  partnerId: string;
  currency: string;
  lineCount: string;
  netMinor: string;
  status: string;
  issuedAt: string;
  acknowledgedAt: string | null;
}

function StatementsPage({ graphql }: { graphql: GraphqlClient }) {
  const list = useLoad(
    () =>
      graphql<{ statements: { edges: Array<{ node: StatementRow }> } }>(
        '{ statements(first: 100) { edges { node { id periodId partnerId currency lineCount netMinor status issuedAt acknowledgedAt } } } }',
      ),
    [graphql],
  );
  const [problem, setProblem] = useState<string>();
  const save = async (statement: StatementRow, format: 'CSV' | 'JSON') => {
    setProblem(undefined);
    try {
      const { statement: found } = await graphql<{ statement: { document: string; fileName: string } | null }>(
        'query($id: ID!, $format: StatementFormat!) { statement(id: $id) { document(format: $format) fileName(format: $format) } }',
        { id: statement.id, format },
      );
      if (found === null) throw new Error(`statement ${statement.id} is gone`);
      download(found.fileName, found.document, format === 'CSV' ? 'text/csv' : 'application/json');
    } catch (caught) {
      setProblem(errorText(caught));
    }
  };
  return (
    <Section title="Statements">
      {list.error && <Problem>{list.error}</Problem>}
      {problem && <Problem>{problem}</Problem>}
      {!list.data && list.loading && <Loading what="statements" />}
      <p className="muted">Each download is the hub-signed statement's document, as docs/statement-exports.md describes.</p>
      <Table
        caption="Statements, newest period first"
        head={['Period', 'Partner', 'Lines', 'Net', 'Status', 'Download']}
        numeric={[2, 3]}
        rows={nodes(list.data?.statements).map((statement) => [
          statement.periodId,
          statement.partnerId,
          points(statement.lineCount),
          money(statement.netMinor, statement.currency),
          <span key="status" className={`badge ${statement.status}`}>
            {statement.status}
          </span>,
          <span key="download" className="row-actions">
            <button
              type="button"
              className="secondary"
              onClick={() => void save(statement, 'CSV')}
              aria-label={`Download ${statement.partnerId} statement for period ${statement.periodId} as CSV`}
            >
              CSV
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => void save(statement, 'JSON')}
              aria-label={`Download ${statement.partnerId} statement for period ${statement.periodId} as JSON`}
            >
              JSON
            </button>
          </span>,
        ])}
        empty="No statements yet: they are issued when a period closes."
      />
    </Section>
  );
}

interface Dispute {
  id: string;
  statementId: string;
  partnerId: string;
  lines: string[];
  reason: string;
  openedAt: string;
  status: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

function DisputesPage({ graphql }: { graphql: GraphqlClient }) {
  const list = useLoad(
    () =>
      graphql<{ disputes: { edges: Array<{ node: Dispute }> } }>(
        '{ disputes(first: 100) { edges { node { id statementId partnerId lines reason openedAt status resolvedAt resolvedBy resolutionNote } } } }',
      ),
    [graphql],
  );
  const [resolving, setResolving] = useState<string>();
  const disputes = nodes(list.data?.disputes);
  return (
    <Section title="Disputes">
      {list.error && <Problem>{list.error}</Problem>}
      {!list.data && list.loading && <Loading what="disputes" />}
      <Table
        caption="Statement disputes"
        head={['Partner', 'Statement', 'Lines', 'Reason', 'Opened', 'Status', '']}
        rows={disputes.map((dispute) => [
          dispute.partnerId,
          <code key="statement">{dispute.statementId.slice(0, 8)}</code>,
          dispute.lines.join(', ') || 'all',
          dispute.reason,
          dateTime(dispute.openedAt),
          dispute.status === 'resolved' ? `resolved: ${dispute.resolutionNote ?? ''}` : 'open',
          dispute.status === 'open' ? (
            <button key="resolve" type="button" className="secondary" onClick={() => setResolving(dispute.id)}>
              Resolve…
            </button>
          ) : (
            ''
          ),
        ])}
        empty="No disputes."
      />
      {resolving && (
        <ResolveDispute
          graphql={graphql}
          dispute={disputes.find((dispute) => dispute.id === resolving)!}
          onDone={() => {
            setResolving(undefined);
            list.reload();
          }}
        />
      )}
    </Section>
  );
}

function ResolveDispute({ graphql, dispute, onDone }: { graphql: GraphqlClient; dispute: Dispute; onDone: () => void }) {
  const [adjustment, setAdjustment] = useState('0');
  const [note, setNote] = useState('');
  const [problem, setProblem] = useState<string>();
  const ids = { adjustment: useId(), note: useId() };
  const submit = async () => {
    try {
      const { result } = await graphql<{ result: Result<{ id: string; status: string }> }>(
        `mutation($id: ID!, $adjustment: Amount!, $note: String!) { result: resolveDispute(disputeId: $id, adjustmentMinor: $adjustment, note: $note) { ${REFUSAL} ... on StatementDispute { id status } } }`,
        { id: dispute.id, adjustment: adjustment.trim(), note },
      );
      if (isRefusal(result)) setProblem(result.message);
      else onDone();
    } catch (caught) {
      setProblem(errorText(caught));
    }
  };
  return (
    <form
      className="stack panel"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3>Resolve {dispute.partnerId}'s dispute</h3>
      <p className="muted">“{dispute.reason}”</p>
      {problem && <Problem>{problem}</Problem>}
      <label htmlFor={ids.adjustment}>Adjustment in minor units (positive: the partner owes more; 0: none)</label>
      <input
        id={ids.adjustment}
        value={adjustment}
        onChange={(event) => setAdjustment(event.target.value)}
        inputMode="numeric"
        pattern="-?[0-9]+"
        required
      />
      <label htmlFor={ids.note}>Resolution note</label>
      <textarea id={ids.note} value={note} onChange={(event) => setNote(event.target.value)} required rows={2} />
      <button type="submit">Resolve dispute</button>
    </form>
  );
}

interface LiabilityData {
  liabilityByIssuer: Array<{
    issuerPartnerId: string;
    points: string;
    pendingPoints: string;
    expiredUnsweptPoints: string;
    fundedMinor: string;
  }>;
  liabilityByExpiryMonth: {
    edges: Array<{
      node: { month: string; issuerPartnerId: string; points: string; fundedMinor: string; projectedBreakagePoints: string };
    }>;
  };
  breakageToDate: Array<{ issuerPartnerId: string; expiredPoints: string; sharePaidMinor: string; breakageRate: string }>;
}

function LiabilityPage({ graphql }: { graphql: GraphqlClient }) {
  const figures = useLoad(
    () =>
      graphql<LiabilityData>(`
        {
          liabilityByIssuer {
            issuerPartnerId
            points
            pendingPoints
            expiredUnsweptPoints
            fundedMinor
          }
          liabilityByExpiryMonth(first: 100) {
            edges {
              node {
                month
                issuerPartnerId
                points
                fundedMinor
                projectedBreakagePoints
              }
            }
          }
          breakageToDate {
            issuerPartnerId
            expiredPoints
            sharePaidMinor
            breakageRate
          }
        }
      `),
    [graphql],
  );
  if (figures.error) return <Problem>{figures.error}</Problem>;
  if (!figures.data) return <Loading what="liability" />;
  const { liabilityByIssuer, breakageToDate } = figures.data;
  const buckets = nodes(figures.data.liabilityByExpiryMonth);
  const months = [...new Set(buckets.map((bucket) => bucket.month))].sort();
  const issuers = [...new Set(buckets.map((bucket) => bucket.issuerPartnerId))].sort();
  // Chart heights only: the tables below each chart hold the exact figures.
  const height = (value: string) => Number(value);
  return (
    <>
      <Section title="Outstanding liability by issuer">
        <BarChart
          label="Outstanding coalition points by issuing partner"
          unit="CP"
          labels={liabilityByIssuer.map((row) => row.issuerPartnerId)}
          datasets={[
            { label: 'Outstanding CP', data: liabilityByIssuer.map((row) => height(row.points)) },
            { label: 'Of which pending', data: liabilityByIssuer.map((row) => height(row.pendingPoints)) },
          ]}
        />
        <Table
          caption="Outstanding liability by issuer"
          head={['Issuer', 'CP outstanding', 'Pending', 'Expired, not swept', 'Funded (minor units)']}
          numeric={[1, 2, 3, 4]}
          rows={liabilityByIssuer.map((row) => [
            row.issuerPartnerId,
            points(row.points),
            points(row.pendingPoints),
            points(row.expiredUnsweptPoints),
            points(row.fundedMinor),
          ])}
          empty="No points outstanding."
        />
      </Section>
      <Section title="Liability by expiry month">
        <BarChart
          label="Outstanding points by the month they expire, stacked by issuer"
          unit="CP"
          stacked
          labels={months}
          datasets={issuers.map((issuer) => ({
            label: issuer,
            data: months.map((month) =>
              height(buckets.find((bucket) => bucket.month === month && bucket.issuerPartnerId === issuer)?.points ?? '0'),
            ),
          }))}
        />
        <Table
          caption="Liability by expiry month and issuer"
          head={['Month', 'Issuer', 'CP', 'Projected breakage CP']}
          numeric={[2, 3]}
          rows={buckets.map((bucket) => [
            bucket.month,
            bucket.issuerPartnerId,
            points(bucket.points),
            points(bucket.projectedBreakagePoints),
          ])}
          empty="No points outstanding."
        />
      </Section>
      <Section title="Breakage to date">
        <BarChart
          label="Expired points by issuing partner"
          unit="CP"
          labels={breakageToDate.map((row) => row.issuerPartnerId)}
          datasets={[{ label: 'Expired CP', data: breakageToDate.map((row) => height(row.expiredPoints)) }]}
        />
        <Table
          caption="Breakage to date by issuer"
          head={['Issuer', 'Expired CP', 'Breakage rate', 'Share paid (minor units)']}
          numeric={[1, 2, 3]}
          rows={breakageToDate.map((row) => [
            row.issuerPartnerId,
            points(row.expiredPoints),
            percent(row.breakageRate),
            points(row.sharePaidMinor),
          ])}
          empty="No points have expired yet."
        />
      </Section>
    </>
  );
}
