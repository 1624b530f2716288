import { useEffect, useId, useState } from 'react';
import { isRefusal, nodes, REFUSAL, type GraphqlClient, type Result } from '../api';
import { date, dateTime, points, sum } from '../format';
import { errorText, idempotencyKey, Loading, Notice, Problem, Section, Shell, Table, useLoad } from '../ui';

/**
 * The member's console (docs/consoles.md, "Member"): mobile-first, one column at 360 px. Every
 * figure is the hub's (me, me.combinedBalance, me.explain, rewards, quoteExchange); the page only
 * groups lots by issuer and adds their remaining points, exactly, to show the per-partner breakdown.
 */

const NAV = [
  { id: 'overview', label: 'Balance' },
  { id: 'history', label: 'History' },
  { id: 'rewards', label: 'Rewards' },
  { id: 'exchange', label: 'Exchange' },
];

interface Lot {
  id: string;
  issuerPartnerId: string;
  amount: string;
  remaining: string;
  issuedAt: string;
  expiresAt: string;
  vestsAt: string | null;
}

interface Overview {
  me: {
    id: string;
    balance: string;
    available: string;
    pending: string;
    referralCode: string;
    tier: { name: string; earnedInWindow: string | null; windowDays: number; next: string | null; toNext: string | null };
    combinedBalance: {
      totalCp: string;
      expiringWithin30Days: string;
      ratesAsOf: string | null;
      assets: Array<{ asset: string; amount: string; cpPerPoint: string | null; cpValue: string | null }>;
    };
    lots: { edges: Array<{ node: Lot }>; pageInfo: { hasNextPage: boolean } };
    explain: { summary: { sentence: string } };
  } | null;
}

const OVERVIEW = `{ me { id balance available pending referralCode
  tier { name earnedInWindow windowDays next toNext }
  combinedBalance { totalCp expiringWithin30Days ratesAsOf assets { asset amount cpPerPoint cpValue } }
  lots(first: 100) { edges { node { id issuerPartnerId amount remaining issuedAt expiresAt vestsAt } } pageInfo { hasNextPage } }
  explain(first: 1) { summary { sentence } } } }`;

export function MemberConsole(props: { graphql: GraphqlClient; onSignOut: () => void }) {
  const { graphql } = props;
  const [page, setPage] = useState('overview');
  const overview = useLoad(() => graphql<Overview>(OVERVIEW), [graphql]);
  const me = overview.data?.me;
  return (
    <Shell
      kind="member"
      subtitle={me ? `tier ${me.tier.name}` : undefined}
      nav={NAV}
      current={page}
      onNavigate={setPage}
      onSignOut={props.onSignOut}
    >
      {overview.error && <Problem>{overview.error}</Problem>}
      {overview.loading && !overview.data && <Loading what="your balance" />}
      {overview.data && me === null && <Problem>You are not enrolled with the partner that signed you in.</Problem>}
      {me && page === 'overview' && <BalancePage me={me} />}
      {me && page === 'history' && <HistoryPage graphql={graphql} />}
      {me && page === 'rewards' && <RewardsPage graphql={graphql} onRedeemed={overview.reload} />}
      {me && page === 'exchange' && <ExchangePage graphql={graphql} me={me} onExchanged={overview.reload} />}
    </Shell>
  );
}

function BalancePage({ me }: { me: NonNullable<Overview['me']> }) {
  const combined = me.combinedBalance;
  const lots = nodes(me.lots).filter((lot) => lot.remaining !== '0');
  const now = Date.now();
  const byIssuer = new Map<string, string[]>();
  for (const lot of lots) byIssuer.set(lot.issuerPartnerId, [...(byIssuer.get(lot.issuerPartnerId) ?? []), lot.remaining]);
  const soon = lots.filter((lot) => Date.parse(lot.expiresAt) - now <= 30 * 86_400_000);
  const pending = lots.filter((lot) => lot.vestsAt !== null && Date.parse(lot.vestsAt) > now);
  const tier = me.tier;
  const earned = BigInt(tier.earnedInWindow ?? '0');
  const toNext = BigInt(tier.toNext ?? '0');
  const progress = tier.next === null ? 100 : earned + toNext === 0n ? 0 : Number((earned * 100n) / (earned + toNext));
  return (
    <>
      <Section title="Combined balance">
        <p className="big" data-testid="combined-total">
          {points(combined.totalCp.split('.')[0])} <span className="unit">CP</span>
        </p>
        {combined.totalCp.includes('.') && (
          <p className="muted">Exactly {points(combined.totalCp)} CP, with your programme points at today's rates.</p>
        )}
        <p>{me.explain.summary.sentence}</p>
        <dl className="facts">
          <div>
            <dt>Spendable now</dt>
            <dd>{points(me.available)} CP</dd>
          </div>
          <div>
            <dt>Pending</dt>
            <dd>{points(me.pending)} CP</dd>
          </div>
          <div>
            <dt>Expiring within 30 days</dt>
            <dd>{points(combined.expiringWithin30Days)} CP</dd>
          </div>
        </dl>
      </Section>
      <Section title="By programme">
        <Table
          caption="Balance by programme, valued in coalition points"
          head={['Programme', 'Points', 'Rate (CP per point)', 'Worth (CP)']}
          numeric={[1, 2, 3]}
          rows={combined.assets.map((asset) => [
            asset.asset === 'CP' ? 'Coalition points (CP)' : asset.asset,
            points(asset.amount),
            asset.cpPerPoint ?? 'no rate',
            asset.cpValue === null ? 'no rate' : points(asset.cpValue),
          ])}
          empty="No points yet."
        />
        {combined.ratesAsOf && <p className="muted">Rates as of {dateTime(combined.ratesAsOf)}.</p>}
      </Section>
      <Section title="By partner">
        <Table
          caption="Coalition points by the partner that issued them"
          head={['Partner', 'CP']}
          numeric={[1]}
          rows={[...byIssuer.entries()].map(([partner, remaining]) => [partner, points(sum(remaining))])}
          empty="No coalition points yet."
        />
        {me.lots.pageInfo.hasNextPage && <p className="muted">Showing your first 100 lots.</p>}
      </Section>
      <Section title="Expiring soon">
        <Table
          caption="Points expiring within 30 days"
          head={['From', 'CP', 'Expires']}
          numeric={[1]}
          rows={soon.map((lot) => [lot.issuerPartnerId, points(lot.remaining), date(lot.expiresAt)])}
          empty="Nothing expires in the next 30 days."
        />
      </Section>
      <Section title="Pending points">
        <Table
          caption="Points not yet spendable, with the date they vest"
          head={['From', 'CP', 'Spendable from']}
          numeric={[1]}
          rows={pending.map((lot) => [lot.issuerPartnerId, points(lot.remaining), date(lot.vestsAt)])}
          empty="No pending points."
        />
      </Section>
      <Section title="Tier">
        <p>
          You are <strong>{tier.name}</strong>
          {tier.next ? (
            <>
              : {points(tier.toNext)} CP more within {tier.windowDays} days reaches <strong>{tier.next}</strong>.
            </>
          ) : (
            ', the top tier.'
          )}
        </p>
        <label className="meter-label" htmlFor="tier-progress">
          Progress to {tier.next ?? 'the top'}: {progress}%
        </label>
        <progress id="tier-progress" max={100} value={progress} />
        <p className="muted">
          Earned in the last {tier.windowDays} days: {points(tier.earnedInWindow)} CP.
        </p>
      </Section>
      <Section title="Refer a friend">
        <p>Give a friend your code when they join a partner: you both get a bonus after their first purchase.</p>
        <p className="code" data-testid="referral-code">
          {me.referralCode}
        </p>
      </Section>
    </>
  );
}

interface ExplainLine {
  entryId: string;
  sentence: string;
  amount: string;
  partnerName: string;
  occurredAt: string;
  vestsAt: string | null;
}

function HistoryPage({ graphql }: { graphql: GraphqlClient }) {
  const [lines, setLines] = useState<ExplainLine[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const load = async (after: string | null | undefined) => {
    setLoading(true);
    try {
      const data = await graphql<{
        me: { explain: { edges: Array<{ node: ExplainLine }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
      }>(
        `
          query ($after: String) {
            me {
              explain(first: 20, after: $after) {
                edges {
                  node {
                    entryId
                    sentence
                    amount
                    partnerName
                    occurredAt
                    vestsAt
                  }
                }
                pageInfo {
                  hasNextPage
                  endCursor
                }
              }
            }
          }
        `,
        { after: after ?? null },
      );
      const page = data.me.explain;
      setLines((previous) => [...(after ? previous : []), ...nodes(page)]);
      setCursor(page.pageInfo.endCursor);
      setMore(page.pageInfo.hasNextPage);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(undefined);
    // Loaded once per visit of the page.
  }, [graphql]);
  return (
    <Section title="History">
      {error && <Problem>{error}</Problem>}
      <ol className="history">
        {lines.map((line) => (
          <li key={line.entryId}>
            <span className={line.amount.startsWith('-') ? 'amount out' : 'amount in'}>
              {line.amount.startsWith('-') ? '' : '+'}
              {points(line.amount)} CP
            </span>
            <span>{line.sentence}</span>
          </li>
        ))}
      </ol>
      {loading && <Loading what="your history" />}
      {!loading && lines.length === 0 && !error && <p className="muted">Nothing has happened yet.</p>}
      {more && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          Show older
        </button>
      )}
    </Section>
  );
}

interface Reward {
  id: string;
  partnerId: string;
  kind: string;
  title: string;
  description: string;
  pricePoints: string;
  stock: string | null;
  validUntil: string | null;
  minTier: string | null;
  eligible: boolean | null;
}

interface Entitlement {
  id: string;
  code: string;
  rewardTitle: string | null;
  partnerId: string;
  status: string;
  expiresAt: string;
}

function RewardsPage({ graphql, onRedeemed }: { graphql: GraphqlClient; onRedeemed: () => void }) {
  const catalogue = useLoad(
    () =>
      graphql<{
        rewards: { edges: Array<{ node: Reward }> };
        me: { available: string; entitlements: { edges: Array<{ node: Entitlement }> } };
      }>(`
        {
          rewards(first: 50, eligibleOnly: false) {
            edges {
              node {
                id
                partnerId
                kind
                title
                description
                pricePoints
                stock
                validUntil
                minTier
                eligible
              }
            }
          }
          me {
            available
            entitlements(first: 20) {
              edges {
                node {
                  id
                  code
                  rewardTitle
                  partnerId
                  status
                  expiresAt
                }
              }
            }
          }
        }
      `),
    [graphql],
  );
  const [confirming, setConfirming] = useState<string>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const redeem = async (reward: Reward) => {
    setBusy(true);
    try {
      const { result } = await graphql<{
        result: Result<{ amount: string; balance: string; entitlement: { code: string; expiresAt: string } }>;
      }>(
        `mutation($id: ID!, $key: String!) { result: redeemReward(rewardId: $id, idempotencyKey: $key) { ${REFUSAL}
          ... on RewardRedemption { amount balance entitlement { code expiresAt } } } }`,
        { id: reward.id, key: idempotencyKey() },
      );
      if (isRefusal(result)) setOutcome({ ok: false, text: `Not redeemed: ${result.message}` });
      else {
        setOutcome({
          ok: true,
          text: `Redeemed “${reward.title}” for ${points(result.amount)} CP. Your voucher code is ${result.entitlement.code} (valid until ${date(result.entitlement.expiresAt)}). Balance now ${points(result.balance)} CP.`,
        });
        onRedeemed();
        catalogue.reload();
      }
    } catch (caught) {
      setOutcome({ ok: false, text: errorText(caught) });
    } finally {
      setBusy(false);
      setConfirming(undefined);
    }
  };
  const data = catalogue.data;
  return (
    <>
      <Section title="Rewards">
        {outcome && (outcome.ok ? <Notice>{outcome.text}</Notice> : <Problem>{outcome.text}</Problem>)}
        {catalogue.error && <Problem>{catalogue.error}</Problem>}
        {!data && catalogue.loading && <Loading what="the catalogue" />}
        {data && <p className="muted">You can spend {points(data.me.available)} CP now.</p>}
        <ul className="rewards">
          {data &&
            nodes(data.rewards).map((reward) => {
              const affordable = BigInt(reward.pricePoints) <= BigInt(data.me.available);
              const blocked =
                reward.eligible === false ? `Needs tier ${reward.minTier ?? 'higher'}` : !affordable ? 'Not enough points yet' : undefined;
              return (
                <li key={reward.id} className="reward">
                  <h3>{reward.title}</h3>
                  <p>{reward.description}</p>
                  <p className="muted">
                    {reward.kind.replace('_', ' ')} from {reward.partnerId}
                    {reward.stock !== null && ` · ${points(reward.stock)} left`}
                    {reward.validUntil && ` · until ${date(reward.validUntil)}`}
                  </p>
                  <p className="price">{points(reward.pricePoints)} CP</p>
                  {confirming === reward.id ? (
                    <div className="confirm" role="group" aria-label={`Confirm redeeming ${reward.title}`}>
                      <span>
                        Spend {points(reward.pricePoints)} CP on “{reward.title}”?
                      </span>
                      <button type="button" onClick={() => void redeem(reward)} disabled={busy} autoFocus>
                        Confirm
                      </button>
                      <button type="button" className="secondary" onClick={() => setConfirming(undefined)} disabled={busy}>
                        Cancel
                      </button>
                    </div>
                  ) : (
                    <button
                      type="button"
                      onClick={() => setConfirming(reward.id)}
                      disabled={blocked !== undefined}
                      aria-label={`Redeem ${reward.title}`}
                    >
                      {blocked ?? 'Redeem'}
                    </button>
                  )}
                </li>
              );
            })}
        </ul>
        {data && data.rewards.edges.length === 0 && <p className="muted">No rewards are on offer right now.</p>}
      </Section>
      <Section title="My vouchers">
        <Table
          caption="Your vouchers"
          head={['Reward', 'Code', 'Status', 'Valid until']}
          rows={nodes(data?.me.entitlements).map((entitlement) => [
            entitlement.rewardTitle ?? entitlement.partnerId,
            <code key="code">{entitlement.code}</code>,
            entitlement.status,
            date(entitlement.expiresAt),
          ])}
          empty="No vouchers yet."
        />
      </Section>
    </>
  );
}

interface Quote {
  quote: string;
  from: string;
  to: string;
  amountRequested: string;
  amountIn: string;
  amountOut: string;
  rateFrom: string;
  rateTo: string;
  residualCp: string;
  expiresAt: string;
}

/** Seconds left until `expiresAt`, updated every second. */
function useCountdown(expiresAt: string | undefined): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (expiresAt === undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [expiresAt]);
  return expiresAt === undefined ? 0 : Math.max(0, Math.ceil((Date.parse(expiresAt) - now) / 1000));
}

function ExchangePage({ graphql, me, onExchanged }: { graphql: GraphqlClient; me: NonNullable<Overview['me']>; onExchanged: () => void }) {
  const held = me.combinedBalance.assets.map((asset) => asset.asset);
  const choices = held.includes('CP') ? held : ['CP', ...held];
  const [from, setFrom] = useState(choices.find((asset) => asset !== 'CP') ?? 'CP');
  const [to, setTo] = useState('CP');
  const [amount, setAmount] = useState('');
  const [quote, setQuote] = useState<Quote>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const left = useCountdown(quote?.expiresAt);
  const ids = { from: useId(), to: useId(), amount: useId() };
  const ask = async () => {
    setBusy(true);
    setMessage(undefined);
    try {
      const { result } = await graphql<{ result: Result<Quote> }>(
        `query($from: String!, $to: String!, $amount: Amount!) { result: quoteExchange(from: $from, to: $to, amount: $amount) { ${REFUSAL}
          ... on ExchangeQuote { quote from to amountRequested amountIn amountOut rateFrom rateTo residualCp expiresAt } } }`,
        { from, to, amount: amount.trim() },
      );
      if (isRefusal(result)) {
        setQuote(undefined);
        setMessage({ ok: false, text: `No quote: ${result.message}` });
      } else setQuote(result as Quote);
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    } finally {
      setBusy(false);
    }
  };
  const take = async () => {
    if (!quote) return;
    setBusy(true);
    try {
      const { result } = await graphql<{
        result: Result<{ amountIn: string; amountOut: string; from: string; to: string; fromBalance: string; toBalance: string }>;
      }>(
        `mutation($quote: String!) { result: exchangePoints(quote: $quote) { ${REFUSAL} ... on ExchangeReceipt { amountIn amountOut from to fromBalance toBalance } } }`,
        { quote: quote.quote },
      );
      if (isRefusal(result)) setMessage({ ok: false, text: `Not exchanged: ${result.message}` });
      else {
        setMessage({
          ok: true,
          text: `Exchanged ${points(result.amountIn)} ${result.from} for ${points(result.amountOut)} ${result.to}. You now have ${points(result.fromBalance)} ${result.from} and ${points(result.toBalance)} ${result.to}.`,
        });
        onExchanged();
      }
      setQuote(undefined);
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Exchange between programmes">
      <p className="muted">Ask for a quote: the hub signs it, and it holds for a short time. Take it before the countdown ends.</p>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void ask();
        }}
      >
        <label htmlFor={ids.from}>From</label>
        <select id={ids.from} value={from} onChange={(event) => setFrom(event.target.value)}>
          {choices.map((asset) => (
            <option key={asset}>{asset}</option>
          ))}
        </select>
        <label htmlFor={ids.to}>To</label>
        <select id={ids.to} value={to} onChange={(event) => setTo(event.target.value)}>
          {choices.map((asset) => (
            <option key={asset}>{asset}</option>
          ))}
        </select>
        <label htmlFor={ids.amount}>Amount of {from}</label>
        <input
          id={ids.amount}
          inputMode="numeric"
          pattern="[0-9]+"
          required
          value={amount}
          onChange={(event) => setAmount(event.target.value)}
        />
        <button type="submit" disabled={busy}>
          Get a quote
        </button>
      </form>
      {message && (message.ok ? <Notice>{message.text}</Notice> : <Problem>{message.text}</Problem>)}
      {quote && (
        <div className="quote" aria-label="Quote">
          <p>
            You give{' '}
            <strong>
              {points(quote.amountIn)} {quote.from}
            </strong>{' '}
            and get{' '}
            <strong>
              {points(quote.amountOut)} {quote.to}
            </strong>
            {quote.amountIn !== quote.amountRequested &&
              ` (of the ${points(quote.amountRequested)} asked, only ${points(quote.amountIn)} convert whole)`}
            .
          </p>
          <p className="muted">
            Rates: 1 {quote.from} = {quote.rateFrom} CP; 1 {quote.to} = {quote.rateTo} CP. Rounding left over: {quote.residualCp} CP.
          </p>
          <p className={left > 0 ? 'countdown' : 'countdown expired'} data-testid="quote-countdown">
            {left > 0 ? `Valid for ${left} s` : 'This quote has expired: ask for a new one.'}
          </p>
          <button type="button" onClick={() => void take()} disabled={busy || left === 0}>
            Exchange now
          </button>
        </div>
      )}
    </Section>
  );
}
