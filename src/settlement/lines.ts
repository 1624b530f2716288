/**
 * The money of a settlement period, computed from the ledger alone (docs/settlement.md), in SQL so
 * that a period of millions of entries streams. Every money figure is a *line* tied to one
 * journal entry; totals, positions, statements and the reconciliation are sums of lines.
 *
 * Signs: `money_minor` is what the line adds to what the partner owes the hub (negative: the
 * hub owes the partner). `points` is the CP the line is about, always ≥ 0.
 *
 * | kind            | from                                         | money (minor units, half-even)                  |
 * |-----------------|----------------------------------------------|-------------------------------------------------|
 * | issue           | CP created at P (issuance account)           | + points × P's issue price on the entry          |
 * | exchange_in     | P's points exchanged into CP                 | + points × P's issue price on the entry          |
 * | redeem          | CP retired at Q (redemption account)         | − points × Q's redeem price on the entry         |
 * | exchange_out    | CP exchanged out into Q's points             | − points × Q's redeem price on the entry         |
 * | issue_reversal  | a refund of an issue                         | − the funded value of the points taken back      |
 * | redeem_reversal | a refund of a redemption                     | + the cumulative rounding of the redeem line back |
 * | breakage        | P's lots expired                             | − funded value × P's breakage share              |
 * | adjustment      | finance resolving a dispute                  | ± the adjustment                                |
 * | prefunded       | a prepaid partner's issue, paid in advance   | − the issue money drawn from its prepaid balance |
 * | reward          | a catalogue reward redeemed at Q (docs/rewards.md) | − Q's declared cost on the entry          |
 * | reward_refund   | an unused entitlement refunded               | + the declared cost of its reward line back      |
 * | grant           | CP P granted with a reason (op grant)        | + points × P's issue price on the entry          |
 * | referral        | a referral bonus P pays as the programme's payer | + points × P's issue price on the entry      |
 * | campaign        | CP a campaign created at its funder P        | + points × P's issue price on the entry          |
 *
 * The *funded value* of points leaving a lot is what its issuer paid in for them, exactly: the
 * lot's value is its issue line (points × price, rounded once); each time points leave the lot
 * (or its transferred parts), the value leaving is round(cumulative × price) − round(previous
 * cumulative × price), so the pieces always add up to the issue line, never a cent more or less.
 * Reversed redemptions round the same way against their original line.
 */

/**
 * Settings for a transaction that computes over a whole period: longer than a request may take,
 * and hash joins only — the period's CTEs carry no statistics, and a nested loop over one of them
 * turns a seconds-long close into minutes (measured: 2.6 s against 241 s at 125,000 lines).
 * Without nested loops the planner's cost estimates rise past `jit_above_cost` even for an empty
 * period, and compiling the plans then takes seconds that the queries themselves never need, so
 * JIT is off too (see docs/benchmarks.md, "Closing small periods").
 */
export const PERIOD_QUERY_SETTINGS = [`SET LOCAL statement_timeout = '30min'`, 'SET LOCAL enable_nestloop = off', 'SET LOCAL jit = off'];

/** The contract price in force for a partner at a time: the fallback for entries recorded before prices were stored on exchanges. */
export const contractPrice = (column: 'issue_price' | 'redeem_price', partner: string, at: string) =>
  `(SELECT k.${column} FROM partner_contract k WHERE k.partner_id = ${partner} AND k.valid_from <= ${at} ORDER BY k.valid_from DESC LIMIT 1)`;

/**
 * The issue price of a lot's issuer on the entry that made it: an activity's entry names each funding
 * partner's price (`issuePrice:<partner>`, docs/loyalty-engine.md), other entries the one issuer's.
 */
export const lotIssuePrice = (entry: string, lot: string) =>
  `(${entry}.rates->>('issuePrice:' || ${lot}.issuer_partner_id))::numeric, (${entry}.rates->>'issuePrice')::numeric`;

/** The issue price of a counter posting's partner on its entry (see lotIssuePrice). */
const counterIssuePrice = `coalesce((c.rates->>('issuePrice:' || c.partner_id))::numeric, (c.rates->>'issuePrice')::numeric)`;
/** The campaign points of an activity's entry charged to the counter posting's partner (0 for every other entry). */
const campaignPoints = `coalesce((c.rates->>('campaignPoints:' || c.partner_id))::bigint, 0)`;

/**
 * CTEs over period `$1`: `funded` (each lot consumption of the period's entries with the funded
 * value leaving), `counter` (the period's postings on partners' CP issuance and redemption
 * accounts) and `created` (lots the period's entries funded).
 */
const PERIOD_CTES = `
  period_consumption AS (
    SELECT c.id, c.lot_id FROM lot_consumption c JOIN journal_entry e ON e.id = c.entry_id
    WHERE e.period_id = $1 AND c.kind <> 'transfer'
  ),
  up (lot_id, cur, parent) AS (
    SELECT l.id, l.id, l.from_lot_id FROM lot l WHERE l.id IN (SELECT lot_id FROM period_consumption)
    UNION ALL
    SELECT up.lot_id, l.id, l.from_lot_id FROM up JOIN lot l ON l.id = up.parent
  ),
  roots AS (SELECT DISTINCT cur AS root_id FROM up WHERE parent IS NULL),
  family (lot_id, root_id) AS (
    SELECT root_id, root_id FROM roots
    UNION ALL
    SELECT l.id, f.root_id FROM family f JOIN lot l ON l.from_lot_id = f.lot_id
  ),
  root_price AS (
    SELECT r.id AS root_id,
           coalesce(${lotIssuePrice('e', 'r')}, ${contractPrice('issue_price', 'r.issuer_partner_id', 'e.recorded_at')}, 0) AS price
    FROM lot r JOIN journal_entry e ON e.id = r.entry_id
    WHERE r.id IN (SELECT root_id FROM roots)
  ),
  running AS (
    SELECT c.id, c.entry_id, c.issuer_partner_id, c.consumer_partner_id, c.amount, f.root_id,
           sum(c.amount) OVER (PARTITION BY f.root_id ORDER BY c.id) AS cum_after
    FROM lot_consumption c JOIN family f ON f.lot_id = c.lot_id
    WHERE c.kind <> 'transfer'
  ),
  funded AS (
    SELECT r.id, r.entry_id, e.type, r.issuer_partner_id, r.consumer_partner_id, r.amount,
           (round_half_even(r.cum_after * p.price) - round_half_even((r.cum_after - r.amount) * p.price))::bigint AS funded_minor
    FROM running r JOIN root_price p USING (root_id) JOIN journal_entry e ON e.id = r.entry_id
    WHERE r.id IN (SELECT id FROM period_consumption)
  ),
  counter AS (
    -- A stamp card's reward (docs/stamp-cards.md) is settled exactly as issued points: an issue line.
    SELECT e.seq, e.id AS entry_id, CASE WHEN e.type = 'stamp_reward' THEN 'issue' ELSE e.type END AS type, e.recorded_at, e.order_ref, e.rates, e.reverses_entry_id,
           a.owner_id AS partner_id, a.kind AS account_kind, p.amount
    FROM journal_entry e
    JOIN posting p ON p.entry_id = e.id
    JOIN account a ON a.id = p.account_id AND a.owner_kind = 'partner' AND a.asset = 'CP' AND a.kind IN ('issuance', 'redemption')
    WHERE e.period_id = $1
  ),
  created AS (
    SELECT l.issuer_partner_id,
           round_half_even(l.amount * coalesce(${lotIssuePrice('e', 'l')}, ${contractPrice('issue_price', 'l.issuer_partner_id', 'e.recorded_at')}, 0))::bigint AS funded_minor
    FROM lot l JOIN journal_entry e ON e.id = l.entry_id
    WHERE e.period_id = $1 AND l.from_lot_id IS NULL
  )`;

/** Redeem reversals need every earlier reversal of the same redemption (any period) for their cumulative rounding. */
const REDEEM_REVERSALS = `
  redeem_reversal AS (
    SELECT r.id AS entry_id, r.seq, -p.amount AS points,
           sum(-p.amount) OVER (PARTITION BY r.reverses_entry_id ORDER BY r.seq) AS cum_after,
           (r.rates->>'redeemPrice')::numeric AS price
    FROM journal_entry r
    JOIN posting p ON p.entry_id = r.id
    JOIN account a ON a.id = p.account_id AND a.owner_kind = 'partner' AND a.asset = 'CP' AND a.kind = 'redemption'
    WHERE r.type = 'reversal' AND r.reverses_entry_id IN (SELECT reverses_entry_id FROM counter WHERE type = 'reversal' AND account_kind = 'redemption')
  ),
  -- Per entry, joined below (a correlated subquery on a CTE would scan it once per line).
  funded_by_entry AS (SELECT entry_id, sum(amount) AS points, sum(funded_minor) AS funded_minor FROM funded GROUP BY entry_id),
  -- A return of an activity gives back the lots of several issuers: each issuer's refund line takes its own lots' value.
  funded_by_issuer AS (SELECT entry_id, issuer_partner_id, sum(funded_minor) AS funded_minor FROM funded GROUP BY entry_id, issuer_partner_id)`;

/**
 * Every line of period `$1` (of partner `$2` when `$2` is not null), in ledger order:
 * partner_id, seq, entry_id, recorded_at, kind, points, price, money_minor, order_ref, reference.
 */
export const PERIOD_LINES_SQL = `
WITH RECURSIVE ${PERIOD_CTES}, ${REDEEM_REVERSALS},
lines AS (
  SELECT c.partner_id, c.seq, c.entry_id, c.recorded_at, c.order_ref, c.reverses_entry_id::text AS reference,
         CASE WHEN c.type IN ('issue', 'grant', 'referral') THEN c.type WHEN c.type = 'exchange' THEN 'exchange_in' ELSE 'issue_reversal' END AS kind,
         -- An activity's campaign points are their own line (below); the rest of the entry's points at the partner are its issue line.
         CASE WHEN c.type = 'issue' THEN -c.amount - ${campaignPoints} ELSE abs(c.amount) END AS points,
         CASE WHEN c.type IN ('issue', 'grant', 'referral') THEN ${counterIssuePrice}
              WHEN c.type = 'exchange' THEN coalesce((c.rates->>'issuePrice')::numeric, ${contractPrice('issue_price', 'c.partner_id', 'c.recorded_at')}, 0)
              ELSE ${counterIssuePrice} END AS price,
         CASE WHEN c.type = 'issue' THEN
                round_half_even((-c.amount - ${campaignPoints}) * coalesce(${counterIssuePrice}, ${contractPrice('issue_price', 'c.partner_id', 'c.recorded_at')}, 0))::bigint
              WHEN c.type IN ('exchange', 'grant', 'referral') THEN
                round_half_even(-c.amount * coalesce((c.rates->>'issuePrice')::numeric, ${contractPrice('issue_price', 'c.partner_id', 'c.recorded_at')}, 0))::bigint
              ELSE -coalesce(fi.funded_minor, 0)::bigint END AS money_minor
  FROM counter c LEFT JOIN funded_by_issuer fi ON fi.entry_id = c.entry_id AND fi.issuer_partner_id = c.partner_id
  WHERE c.account_kind = 'issuance' AND c.type IN ('issue', 'exchange', 'reversal', 'grant', 'referral')
    AND NOT (c.type = 'issue' AND -c.amount = ${campaignPoints})
  UNION ALL
  SELECT c.partner_id, c.seq, c.entry_id, c.recorded_at, c.order_ref, NULL, 'campaign', ${campaignPoints}, ${counterIssuePrice},
         round_half_even(${campaignPoints} * ${counterIssuePrice})::bigint
  FROM counter c
  WHERE c.account_kind = 'issuance' AND c.type = 'issue' AND ${campaignPoints} > 0
  UNION ALL
  SELECT c.partner_id, c.seq, c.entry_id, c.recorded_at, c.order_ref, c.reverses_entry_id::text,
         CASE WHEN c.type = 'redeem' THEN 'redeem' WHEN c.type = 'exchange' THEN 'exchange_out' ELSE 'redeem_reversal' END,
         abs(c.amount),
         CASE WHEN c.type = 'exchange' THEN coalesce((c.rates->>'redeemPrice')::numeric, ${contractPrice('redeem_price', 'c.partner_id', 'c.recorded_at')}, 0)
              ELSE (c.rates->>'redeemPrice')::numeric END,
         CASE WHEN c.type IN ('redeem', 'exchange') THEN
                -round_half_even(c.amount * coalesce((c.rates->>'redeemPrice')::numeric, ${contractPrice('redeem_price', 'c.partner_id', 'c.recorded_at')}, 0))::bigint
              ELSE (round_half_even(rr.cum_after * rr.price) - round_half_even((rr.cum_after - rr.points) * rr.price))::bigint END
  FROM counter c LEFT JOIN redeem_reversal rr ON rr.entry_id = c.entry_id
  WHERE c.account_kind = 'redemption' AND c.type IN ('redeem', 'exchange', 'reversal')
  UNION ALL
  SELECT c.partner_id, c.seq, c.entry_id, c.recorded_at, c.order_ref, c.rates->>'rewardId',
         CASE WHEN c.type = 'reward' THEN 'reward' ELSE 'reward_refund' END,
         abs(c.amount), NULL,
         CASE WHEN c.type = 'reward' THEN -(c.rates->>'rewardCostMinor')::bigint ELSE (c.rates->>'rewardCostMinor')::bigint END
  FROM counter c
  WHERE c.account_kind = 'redemption' AND c.type IN ('reward', 'reward_refund')
  UNION ALL
  SELECT e.partner_id, e.seq, e.id, e.recorded_at, NULL, NULL, 'breakage',
         fe.points,
         coalesce((e.rates->>'breakageShare')::numeric, 0),
         -round_half_even(fe.funded_minor * coalesce((e.rates->>'breakageShare')::numeric, 0))::bigint
  FROM journal_entry e JOIN funded_by_entry fe ON fe.entry_id = e.id
  WHERE e.period_id = $1 AND e.type = 'expire'
  UNION ALL
  SELECT a.owner_id, e.seq, e.id, e.recorded_at, NULL, e.dispute_id::text, 'adjustment', 0, NULL, p.amount
  FROM journal_entry e
  JOIN posting p ON p.entry_id = e.id
  JOIN account a ON a.id = p.account_id AND a.owner_kind = 'partner' AND a.kind = 'settlement'
  WHERE e.period_id = $1 AND e.type = 'adjustment'
  UNION ALL
  SELECT a.owner_id, e.seq, e.id, e.recorded_at, e.order_ref, NULL, 'prefunded', 0, NULL, p.amount
  FROM journal_entry e
  JOIN posting p ON p.entry_id = e.id
  JOIN account a ON a.id = p.account_id AND a.owner_kind = 'partner' AND a.kind = 'prefunding'
  WHERE e.period_id = $1 AND e.type IN ('issue', 'exchange', 'grant', 'referral', 'stamp_reward')
)
SELECT partner_id, seq::text, entry_id, recorded_at, kind, points::text, price::text, money_minor::text, order_ref, reference
FROM lines WHERE $2::text IS NULL OR partner_id = $2
ORDER BY lines.partner_id, lines.seq, lines.kind`;

/**
 * A close computes the period's lines once and stores them, numbered per partner in ledger order
 * (statements page by line number); totals and statements are read from them.
 */
export const STORE_LINES_SQL = `
INSERT INTO settlement_line (period_id, partner_id, line_no, seq, entry_id, recorded_at, kind, points, price, money_minor, order_ref, reference)
SELECT $1, partner_id, row_number() OVER (PARTITION BY partner_id ORDER BY seq::bigint, kind), seq::bigint, entry_id, recorded_at, kind,
       points::bigint, price, money_minor::bigint, order_ref, reference
FROM (${PERIOD_LINES_SQL}) l`;

export const STORED_TOTALS_SQL = `
SELECT partner_id, kind, count(*)::int AS lines, sum(points)::text AS points, sum(money_minor)::text AS money_minor
FROM settlement_line WHERE period_id = $1 GROUP BY partner_id, kind ORDER BY partner_id, kind`;

/** One partner's stored lines, in order, shaped as PERIOD_LINES_SQL's rows. */
export const STORED_PARTNER_LINES_SQL = `
SELECT partner_id, seq::text, entry_id, recorded_at, kind, points::text, price, money_minor::text, order_ref, reference
FROM settlement_line WHERE period_id = $1 AND partner_id = $2 ORDER BY line_no`;

/** Totals per partner and kind over PERIOD_LINES_SQL. */
export const PERIOD_TOTALS_SQL = `
SELECT partner_id, kind, count(*)::int AS lines, sum(points::bigint)::text AS points, sum(money_minor::bigint)::text AS money_minor
FROM (${PERIOD_LINES_SQL}) l GROUP BY partner_id, kind ORDER BY partner_id, kind`;

/** A → Q: issuer A's points consumed at Q, net of reversed redemptions, with their funded value. */
export const PERIOD_OBLIGATIONS_SQL = `
WITH RECURSIVE ${PERIOD_CTES}
SELECT issuer_partner_id, consumer_partner_id, sum(amount)::text AS points, sum(funded_minor)::text AS funded_minor
FROM funded
WHERE type IN ('redeem', 'exchange', 'reward') OR (type IN ('reversal', 'reward_refund') AND amount < 0)
GROUP BY issuer_partner_id, consumer_partner_id
HAVING sum(amount) <> 0 OR sum(funded_minor) <> 0
ORDER BY issuer_partner_id, consumer_partner_id`;

/**
 * The hub's side of period `$1`: funded value of points created and of points leaving, split by
 * why they left (consumed at a partner, expired, taken back by an issuer's refund).
 */
export const PERIOD_FUNDING_SQL = `
WITH RECURSIVE ${PERIOD_CTES}
SELECT
  (SELECT coalesce(sum(funded_minor), 0) FROM created)::text AS created_minor,
  (SELECT coalesce(sum(funded_minor), 0) FROM funded WHERE type IN ('redeem', 'exchange', 'reward') OR (type IN ('reversal', 'reward_refund') AND amount < 0))::text AS consumed_minor,
  (SELECT coalesce(sum(funded_minor), 0) FROM funded WHERE type = 'expire')::text AS expired_minor,
  (SELECT coalesce(sum(funded_minor), 0) FROM funded WHERE type = 'reversal' AND amount > 0)::text AS refunded_minor`;

export type LineKind =
  | 'issue'
  | 'exchange_in'
  | 'redeem'
  | 'exchange_out'
  | 'issue_reversal'
  | 'redeem_reversal'
  | 'breakage'
  | 'adjustment'
  | 'prefunded'
  | 'reward'
  | 'reward_refund'
  | 'grant'
  | 'referral'
  | 'campaign';

export const LINE_KINDS: readonly LineKind[] = [
  'issue',
  'exchange_in',
  'redeem',
  'exchange_out',
  'issue_reversal',
  'redeem_reversal',
  'breakage',
  'adjustment',
  'prefunded',
  'reward',
  'reward_refund',
  'grant',
  'referral',
  'campaign',
];

/** Lines whose money the hub pays out for points consumed (what the spread is measured against). */
export const CONSUMPTION_KINDS: ReadonlySet<LineKind> = new Set(['redeem', 'exchange_out', 'redeem_reversal', 'reward', 'reward_refund']);

export interface LineRow {
  partner_id: string;
  seq: string;
  entry_id: string;
  recorded_at: Date;
  kind: LineKind;
  points: string;
  price: string | null;
  money_minor: string;
  order_ref: string | null;
  reference: string | null;
}
