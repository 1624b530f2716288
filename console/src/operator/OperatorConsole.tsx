import { useId, useState } from 'react';
import { isRefusal, nodes, REFUSAL, type GraphqlClient, type Result } from '../api';
import { date, dateTime, percent, points } from '../format';
import { KpisPage } from './KpisPage';
import { errorText, Loading, Notice, Problem, Section, Shell, Table, useLoad } from '../ui';

/**
 * The operator's console (docs/consoles.md, "Operator"): partners and their keys, contracts and
 * rates, campaigns and earn rules, webhooks and their deliveries. Partner tokens work too, where
 * the API lets a partner see or change its own, and the KPI dashboards (KpisPage.tsx).
 */

const NAV = [
  { id: 'partners', label: 'Partners' },
  { id: 'campaigns', label: 'Campaigns' },
  { id: 'webhooks', label: 'Webhooks' },
  { id: 'kpis', label: 'KPIs' },
];

export function OperatorConsole(props: { graphql: GraphqlClient; onSignOut: () => void }) {
  const [page, setPage] = useState(() => (window.location.pathname.endsWith('/kpis') ? 'kpis' : 'partners'));
  const partners = useLoad(() => props.graphql<{ partners: { edges: Array<{ node: PartnerRow }> } }>(PARTNERS), [props.graphql]);
  const list = nodes(partners.data?.partners);
  return (
    <Shell kind="operator" nav={NAV} current={page} onNavigate={setPage} onSignOut={props.onSignOut}>
      {partners.error && page !== 'kpis' && <Problem>{partners.error}</Problem>}
      {!partners.data && partners.loading && <Loading what="partners" />}
      {partners.data && page === 'partners' && <PartnersPage graphql={props.graphql} partners={list} onChanged={partners.reload} />}
      {partners.data && page === 'campaigns' && <CampaignsPage graphql={props.graphql} partners={list} />}
      {page === 'webhooks' && <WebhooksPage graphql={props.graphql} />}
      {(partners.data || partners.error) && page === 'kpis' && <KpisPage graphql={props.graphql} partners={list} />}
    </Shell>
  );
}

interface PartnerKey {
  kid: string;
  alg: string;
  status: string;
  createdAt: string;
  revokedAt: string | null;
}

interface Contract {
  id: string;
  validFrom: string;
  currency: string;
  issuePrice: string;
  redeemPrice: string;
  breakageShare: string;
  lotLifetimeMonths: number;
  pendingDays: number;
  fundingMode: string;
  createdAt: string;
}

interface PartnerRow {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  keys: PartnerKey[];
  unit: { asset: string; rate: { cpPerPoint: string; validFrom: string } | null } | null;
}

const PARTNERS = `{ partners(first: 50) { edges { node { id name status createdAt
  keys { kid alg status createdAt revokedAt }
  unit { asset rate { cpPerPoint validFrom } } } } } }`;

function PartnersPage({ graphql, partners, onChanged }: { graphql: GraphqlClient; partners: PartnerRow[]; onChanged: () => void }) {
  const [selected, setSelected] = useState(partners[0]?.id);
  const partner = partners.find((row) => row.id === selected);
  return (
    <>
      <Section title="Partners">
        <Table
          caption="Partners of the coalition"
          head={['Partner', 'Name', 'Status', 'Active keys', 'Programme unit', '']}
          rows={partners.map((row) => [
            row.id,
            row.name,
            <span key="status" className={`badge ${row.status}`}>
              {row.status}
            </span>,
            String(row.keys.filter((key) => key.status === 'active').length),
            row.unit ? `${row.unit.asset}${row.unit.rate ? ` (1 = ${row.unit.rate.cpPerPoint} CP)` : ''}` : '—',
            <button key="show" type="button" className="secondary" aria-pressed={row.id === selected} onClick={() => setSelected(row.id)}>
              Manage
            </button>,
          ])}
          empty="No partners registered yet."
        />
      </Section>
      {partner && <PartnerDetail key={partner.id} graphql={graphql} partner={partner} onChanged={onChanged} />}
    </>
  );
}

function PartnerDetail({ graphql, partner, onChanged }: { graphql: GraphqlClient; partner: PartnerRow; onChanged: () => void }) {
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const [revoking, setRevoking] = useState<string>();
  const [jwk, setJwk] = useState('');
  const jwkId = useId();
  const active = partner.keys.filter((key) => key.status === 'active');
  const mutate = async (query: string, variables: Record<string, unknown>, done: string) => {
    setMessage(undefined);
    try {
      const { result } = await graphql<{ result: Result<object> }>(query, variables);
      if (isRefusal(result)) setMessage({ ok: false, text: result.message ?? result.errorCode });
      else {
        setMessage({ ok: true, text: done });
        onChanged();
      }
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };
  const addKey = async () => {
    let publicJwk: unknown;
    try {
      publicJwk = JSON.parse(jwk);
    } catch {
      setMessage({ ok: false, text: 'That is not JSON: paste the public JWK the partner generated (partner SDK: generatePartnerKey).' });
      return;
    }
    await mutate(
      `mutation($partner: ID!, $jwk: JSONObject!) { result: addPartnerKey(partnerId: $partner, publicJwk: $jwk) { ${REFUSAL} ... on Partner { id } } }`,
      { partner: partner.id, jwk: publicJwk },
      'Key added: the partner can sign with it now. Revoke the old key once it has switched.',
    );
    setJwk('');
  };
  const revoke = async (kid: string) => {
    setRevoking(undefined);
    await mutate(
      `mutation($partner: ID!, $kid: String!) { result: revokePartnerKey(partnerId: $partner, kid: $kid) { ${REFUSAL} ... on Partner { id } } }`,
      { partner: partner.id, kid },
      `Key ${kid} revoked: nothing it signs is accepted any more.`,
    );
  };
  const history = useLoad(
    () =>
      graphql<{ partner: { contracts: { edges: Array<{ node: Contract }> } } | null }>(
        `
          query ($id: ID!) {
            partner(id: $id) {
              contracts(first: 20) {
                edges {
                  node {
                    id
                    validFrom
                    currency
                    issuePrice
                    redeemPrice
                    breakageShare
                    lotLifetimeMonths
                    pendingDays
                    fundingMode
                    createdAt
                  }
                }
              }
            }
          }
        `,
        { id: partner.id },
      ),
    [graphql, partner.id],
  );
  const contracts = nodes(history.data?.partner?.contracts);
  return (
    <>
      <Section title={`${partner.name} (${partner.id}): keys`}>
        {message && (message.ok ? <Notice>{message.text}</Notice> : <Problem>{message.text}</Problem>)}
        <Table
          caption={`${partner.id}'s signing keys`}
          head={['Key id', 'Algorithm', 'Status', 'Added', 'Revoked', '']}
          rows={partner.keys.map((key) => [
            <code key="kid">{key.kid}</code>,
            key.alg,
            key.status,
            dateTime(key.createdAt),
            dateTime(key.revokedAt),
            key.status === 'active' ? (
              <button key="revoke" type="button" className="danger" onClick={() => setRevoking(key.kid)}>
                Revoke…
              </button>
            ) : (
              ''
            ),
          ])}
        />
        {revoking && (
          <div className="panel warning" role="alertdialog" aria-labelledby="revoke-title" aria-describedby="revoke-text">
            <h3 id="revoke-title">Revoke key {revoking}?</h3>
            <p id="revoke-text">
              {active.length <= 1
                ? `This is ${partner.id}'s LAST active key. Revoking it stops every instruction and token ${partner.id} signs until the partner registers a new key. Add the new key first unless you mean to cut the partner off.`
                : `Instructions and tokens signed with ${revoking} stop being accepted at once. ${partner.id} keeps ${active.length - 1} other active key(s).`}
            </p>
            <div className="row-actions">
              <button type="button" className="danger" onClick={() => void revoke(revoking)}>
                {active.length <= 1 ? 'Revoke the last key' : 'Revoke key'}
              </button>
              <button type="button" className="secondary" onClick={() => setRevoking(undefined)} autoFocus>
                Cancel
              </button>
            </div>
          </div>
        )}
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void addKey();
          }}
        >
          <label htmlFor={jwkId}>Rotate: add a new public key (JWK with kid and alg) before revoking the old one</label>
          <textarea id={jwkId} rows={3} value={jwk} onChange={(event) => setJwk(event.target.value)} spellCheck={false} required />
          <button type="submit">Add key</button>
        </form>
      </Section>
      <Section title="Contracts and rates">
        {history.error && <Problem>{history.error}</Problem>}
        {partner.unit && (
          <p>
            Programme unit <strong>{partner.unit.asset}</strong>:{' '}
            {partner.unit.rate
              ? `1 point = ${partner.unit.rate.cpPerPoint} CP since ${dateTime(partner.unit.rate.validFrom)}`
              : 'no exchange rate set'}
            .
          </p>
        )}
        <Table
          caption={`${partner.id}'s contract versions, newest first`}
          head={['Valid from', 'Issue price', 'Redeem price', 'Breakage share', 'Lot lifetime', 'Pending days', 'Funding']}
          numeric={[1, 2, 3]}
          rows={contracts.map((contract) => [
            dateTime(contract.validFrom),
            `${contract.issuePrice} ${contract.currency}`,
            `${contract.redeemPrice} ${contract.currency}`,
            percent(contract.breakageShare),
            `${contract.lotLifetimeMonths} months`,
            String(contract.pendingDays),
            contract.fundingMode,
          ])}
          rowClass={(index) =>
            index === contracts.findIndex((contract) => Date.parse(contract.validFrom) <= Date.now()) ? 'current' : undefined
          }
          empty="No contract."
        />
      </Section>
    </>
  );
}

interface Campaign {
  id: string;
  name: string;
  kind: string;
  multiplier: string | null;
  bonusPoints: string | null;
  startsAt: string;
  endsAt: string;
  timeZone: string;
  funders: Array<{ partnerId: string; share: string }>;
  pointsCap: string | null;
  pointsUsed: string;
  holdoutShare: string;
}

interface EarnRule {
  id: string;
  ruleId: string;
  version: number;
  name: string;
  kind: string;
  pointsPerUnit: string | null;
  unitMinor: string | null;
  category: string | null;
  action: string | null;
  points: string | null;
  active: boolean;
  validFrom: string;
}

function CampaignsPage({ graphql, partners }: { graphql: GraphqlClient; partners: PartnerRow[] }) {
  const [partnerId, setPartnerId] = useState(partners[0]?.id ?? '');
  const selectId = useId();
  const data = useLoad(
    () =>
      partnerId === ''
        ? Promise.resolve(undefined)
        : graphql<{ campaigns: Campaign[]; earnRules: EarnRule[] }>(
            `
              query ($partner: ID!) {
                campaigns(partnerId: $partner) {
                  id
                  name
                  kind
                  multiplier
                  bonusPoints
                  startsAt
                  endsAt
                  timeZone
                  funders {
                    partnerId
                    share
                  }
                  pointsCap
                  pointsUsed
                  holdoutShare
                }
                earnRules(partnerId: $partner) {
                  id
                  ruleId
                  version
                  name
                  kind
                  pointsPerUnit
                  unitMinor
                  category
                  action
                  points
                  active
                  validFrom
                }
              }
            `,
            { partner: partnerId },
          ),
    [graphql, partnerId],
  );
  const now = Date.now();
  return (
    <>
      <Section title="Campaigns and earn rules">
        <label htmlFor={selectId}>Partner</label>
        <select id={selectId} value={partnerId} onChange={(event) => setPartnerId(event.target.value)}>
          {partners.map((partner) => (
            <option key={partner.id} value={partner.id}>
              {partner.id} — {partner.name}
            </option>
          ))}
        </select>
        {data.error && <Problem>{data.error}</Problem>}
        {data.loading && !data.data && <Loading what="campaigns" />}
        <h3>Campaigns</h3>
        <Table
          caption={`Campaigns ${partnerId} funds`}
          head={['Name', 'Kind', 'Window', 'Funders', 'Points used', 'Holdout', 'Status']}
          rows={(data.data?.campaigns ?? []).map((campaign) => [
            campaign.name,
            campaign.kind === 'multiplier' ? `× ${campaign.multiplier}` : `+${points(campaign.bonusPoints)} CP`,
            `${dateTime(campaign.startsAt)} – ${dateTime(campaign.endsAt)}`,
            campaign.funders.map((funder) => `${funder.partnerId} ${percent(funder.share)}`).join(', '),
            `${points(campaign.pointsUsed)}${campaign.pointsCap ? ` of ${points(campaign.pointsCap)}` : ''}`,
            campaign.holdoutShare === '0' ? 'none' : percent(campaign.holdoutShare),
            Date.parse(campaign.startsAt) > now ? 'scheduled' : Date.parse(campaign.endsAt) <= now ? 'ended' : 'running',
          ])}
          empty="No campaigns."
        />
        <h3>Earn rules</h3>
        <Table
          caption={`${partnerId}'s earn rules`}
          head={['Rule', 'Version', 'Earns', 'On', 'Active', 'Since']}
          rows={(data.data?.earnRules ?? []).map((rule) => [
            `${rule.name} (${rule.ruleId})`,
            String(rule.version),
            rule.kind === 'spend' ? `${rule.pointsPerUnit} CP per ${points(rule.unitMinor)} minor units` : `${points(rule.points)} CP`,
            rule.category ?? rule.action ?? 'every purchase',
            rule.active ? 'yes' : 'no',
            date(rule.validFrom),
          ])}
          empty="No earn rules."
        />
      </Section>
      {partnerId !== '' && <CreateCampaign graphql={graphql} partnerId={partnerId} onCreated={data.reload} />}
    </>
  );
}

/** "YYYY-MM-DDTHH:mm" of a moment in UTC (what a datetime-local field shows). */
const localUtc = (ms: number) => new Date(ms).toISOString().slice(0, 16);

function CreateCampaign({ graphql, partnerId, onCreated }: { graphql: GraphqlClient; partnerId: string; onCreated: () => void }) {
  const [form, setForm] = useState(() => ({
    name: '',
    kind: 'multiplier',
    multiplier: '2',
    bonusPoints: '100',
    startsLocal: localUtc(Date.now() - 60_000),
    endsLocal: localUtc(Date.now() + 7 * 86_400_000),
    timeZone: 'UTC',
    pointsCap: '',
    holdoutShare: '0',
  }));
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const ids = {
    name: useId(),
    kind: useId(),
    value: useId(),
    starts: useId(),
    ends: useId(),
    zone: useId(),
    cap: useId(),
    holdout: useId(),
    holdoutHelp: useId(),
  };
  const set = (field: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });
  const submit = async () => {
    setMessage(undefined);
    const input = {
      name: form.name.trim(),
      kind: form.kind,
      ...(form.kind === 'multiplier' ? { multiplier: form.multiplier.trim() } : { bonusPoints: form.bonusPoints.trim() }),
      startsLocal: form.startsLocal,
      endsLocal: form.endsLocal,
      timeZone: form.timeZone.trim(),
      funders: [{ partnerId, share: '1' }],
      ...(form.pointsCap.trim() !== '' ? { pointsCap: form.pointsCap.trim() } : {}),
      ...(form.holdoutShare.trim() !== '' ? { holdoutShare: form.holdoutShare.trim() } : {}),
    };
    try {
      const { result } = await graphql<{ result: Result<{ id: string; name: string }> }>(
        `mutation($input: CampaignInput!) { result: createCampaign(input: $input) { ${REFUSAL} ... on Campaign { id name } } }`,
        { input },
      );
      if (isRefusal(result)) setMessage({ ok: false, text: `Not created: ${result.message}` });
      else {
        setMessage({ ok: true, text: `Campaign “${result.name}” created: it applies to ${partnerId}'s purchases in its window.` });
        onCreated();
      }
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };
  return (
    <Section title={`Create a campaign funded by ${partnerId}`}>
      {message && (message.ok ? <Notice>{message.text}</Notice> : <Problem>{message.text}</Problem>)}
      <form
        className="grid-form"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} value={form.name} onChange={set('name')} required maxLength={100} />
        <label htmlFor={ids.kind}>Kind</label>
        <select id={ids.kind} value={form.kind} onChange={set('kind')}>
          <option value="multiplier">Multiplier (points × factor)</option>
          <option value="bonus">Bonus (fixed points)</option>
        </select>
        {form.kind === 'multiplier' ? (
          <>
            <label htmlFor={ids.value}>Multiplier</label>
            <input id={ids.value} value={form.multiplier} onChange={set('multiplier')} inputMode="decimal" required />
          </>
        ) : (
          <>
            <label htmlFor={ids.value}>Bonus points</label>
            <input id={ids.value} value={form.bonusPoints} onChange={set('bonusPoints')} inputMode="numeric" required />
          </>
        )}
        <label htmlFor={ids.starts}>Starts (local time)</label>
        <input id={ids.starts} type="datetime-local" value={form.startsLocal} onChange={set('startsLocal')} required />
        <label htmlFor={ids.ends}>Ends (local time)</label>
        <input id={ids.ends} type="datetime-local" value={form.endsLocal} onChange={set('endsLocal')} required />
        <label htmlFor={ids.zone}>Time zone</label>
        <input id={ids.zone} value={form.timeZone} onChange={set('timeZone')} required />
        <label htmlFor={ids.cap}>Points budget (optional)</label>
        <input id={ids.cap} value={form.pointsCap} onChange={set('pointsCap')} inputMode="numeric" />
        <label htmlFor={ids.holdout}>Holdout share (0 to 0.5)</label>
        <input
          id={ids.holdout}
          value={form.holdoutShare}
          onChange={set('holdoutShare')}
          inputMode="decimal"
          aria-describedby={ids.holdoutHelp}
        />
        <span />
        <p id={ids.holdoutHelp} className="muted">
          The share of members the campaign leaves out, to compare its results with: they get nothing from it. 0: none.
        </p>
        <span />
        <button type="submit">Create campaign</button>
      </form>
    </Section>
  );
}

interface Endpoint {
  id: string;
  partnerId: string;
  url: string;
  eventTypes: string[];
  active: boolean;
  disabledReason: string | null;
}

interface Delivery {
  id: string;
  eventType: string;
  status: string;
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

function WebhooksPage({ graphql }: { graphql: GraphqlClient }) {
  const data = useLoad(
    () =>
      graphql<{ webhookEndpoints: { edges: Array<{ node: Endpoint }> } }>(
        '{ webhookEndpoints(first: 50) { edges { node { id partnerId url eventTypes active disabledReason } } } }',
      ),
    [graphql],
  );
  const endpoints = nodes(data.data?.webhookEndpoints);
  const [selected, setSelected] = useState<string>();
  const shown = endpoints.find((endpoint) => endpoint.id === selected) ?? endpoints[0];
  return (
    <>
      <Section title="Webhook endpoints">
        {data.error && <Problem>{data.error}</Problem>}
        {!data.data && data.loading && <Loading what="webhooks" />}
        <Table
          caption="Webhook endpoints"
          head={['Partner', 'URL', 'Events', 'State', '']}
          rows={endpoints.map((endpoint) => [
            endpoint.partnerId,
            <code key="url">{endpoint.url}</code>,
            endpoint.eventTypes.length === 0 ? 'all' : endpoint.eventTypes.join(', '),
            endpoint.active ? 'active' : `disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`,
            <button
              key="log"
              type="button"
              className="secondary"
              aria-pressed={endpoint.id === shown?.id}
              onClick={() => setSelected(endpoint.id)}
            >
              Delivery log
            </button>,
          ])}
          empty="No webhook endpoints registered."
        />
      </Section>
      {shown && <DeliveryLog key={shown.id} graphql={graphql} endpoint={shown} />}
    </>
  );
}

function DeliveryLog({ graphql, endpoint }: { graphql: GraphqlClient; endpoint: Endpoint }) {
  const log = useLoad(
    () =>
      graphql<{ webhookEndpoint: { deliveries: { edges: Array<{ node: Delivery }> } } | null }>(
        `
          query ($id: ID!) {
            webhookEndpoint(id: $id) {
              deliveries(first: 50) {
                edges {
                  node {
                    id
                    eventType
                    status
                    attemptCount
                    lastStatusCode
                    lastError
                    deliveredAt
                    createdAt
                  }
                }
              }
            }
          }
        `,
        { id: endpoint.id },
      ),
    [graphql, endpoint.id],
  );
  const deliveries = nodes(log.data?.webhookEndpoint?.deliveries);
  return (
    <Section title={`Delivery log: ${endpoint.partnerId} → ${endpoint.url}`}>
      {log.error && <Problem>{log.error}</Problem>}
      {!log.data && log.loading && <Loading what="deliveries" />}
      <Table
        caption={`Latest deliveries to ${endpoint.url}`}
        head={['Event', 'Status', 'Attempts', 'Last answer', 'Delivered', 'Created']}
        rows={deliveries.map((delivery) => [
          delivery.eventType,
          <span key="status" className={`badge ${delivery.status}`}>
            {delivery.status}
          </span>,
          String(delivery.attemptCount),
          delivery.lastStatusCode !== null ? String(delivery.lastStatusCode) : (delivery.lastError ?? '—'),
          dateTime(delivery.deliveredAt),
          dateTime(delivery.createdAt),
        ])}
        rowClass={(index) => (deliveries[index]?.status === 'failed' ? 'differs' : undefined)}
        empty="No deliveries yet."
      />
    </Section>
  );
}
