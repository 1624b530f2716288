import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import type { ActivityClaims } from '../common/claims';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { addMonths } from '../ledger/apply-entry';
import { postEntry, type EntryPosting, type LotChange, type NewLot } from '../ledger/kernel';
import { CP, ensureAccount, findMovementTargets, type MovementTargets } from '../ledger/ledger.repository';
import type { ContractService } from '../partners/contract.service';
import { drawFunding } from '../settlement/funding.service';
import type { MovementContext } from '../operations/context';
import { campaignsInScope, declaredCategories, rulesInForce } from './engine-config.service';
import { evaluate, returnTake, type Contribution, type EngineActivity, type PurchaseLine } from './evaluate';
import type { ListenerOutcome, PurchaseListener, StampMove } from './purchase-listeners';

const DAY_MS = 86_400_000;

/** What the activity needs from the instruction path. */
export interface ActivityContext extends MovementContext {
  contracts: ContractService;
  purchaseListeners: readonly PurchaseListener[];
}

/** One contribution as the receipt lists it. */
export interface ActivityContribution {
  source: 'rule' | 'tier' | 'campaign';
  sourceId: string;
  version: number;
  points: string;
  reason: string;
  fundingPartnerId: string;
}

/** What an accepted activity answers and its receipt signs (docs/loyalty-engine.md, "The receipt"). */
export interface ActivityResult {
  activityId: string;
  activity: ActivityClaims['activity'];
  /** The entry of the points (an issue, or for a return the reversal); null when nothing was earned or given back. */
  entryId: string | null;
  memberId: string;
  /** Points earned (or, for a return, given back). */
  amount: string;
  balance: string;
  recordedAt: string;
  contributions: ActivityContribution[];
  /** Rules and campaigns that did not apply, and why (a campaign over its budget, a cap reached). */
  notes: string[];
  postings: Array<{ account: string; amount: string }>;
  rates: Record<string, string>;
  reversesEntryId?: string;
  vestsAt?: string;
  /** Stamp cards this activity moved (docs/stamp-cards.md); absent when none. */
  stamps?: StampMove[];
}

/** Folds what the listeners answered into the result: their stamp moves, notes and the wallet's last balance. */
function withListeners(result: ActivityResult, outcomes: readonly ListenerOutcome[]): ActivityResult {
  let folded = result;
  for (const outcome of outcomes) {
    if (outcome.stamps && outcome.stamps.length > 0) folded = { ...folded, stamps: [...(folded.stamps ?? []), ...outcome.stamps] };
    if (outcome.notes && outcome.notes.length > 0) folded = { ...folded, notes: [...folded.notes, ...outcome.notes] };
    if (outcome.balance !== undefined) folded = { ...folded, balance: outcome.balance.toString() };
  }
  return folded;
}

/** Actions that earn once per member and partner. */
const ONCE: ReadonlySet<string> = new Set(['signup', 'profile_completed']);

const shown = (c: Contribution): ActivityContribution => ({
  source: c.source.kind,
  sourceId: c.source.id,
  version: c.source.version,
  points: c.points.toString(),
  reason: c.reason,
  fundingPartnerId: c.fundingPartnerId,
});

/** A signed activity (op "activity"): a purchase or an action earns; a return gives back what its purchase earned. */
export function applyActivity(
  tx: EntityManager,
  context: ActivityContext,
  claims: ActivityClaims,
): Promise<ActivityResult | OpError<'activity'>> {
  return claims.activity === 'return' ? applyReturn(tx, context, claims) : applyEarn(tx, context, claims);
}

async function applyEarn(
  tx: EntityManager,
  context: ActivityContext,
  claims: ActivityClaims,
): Promise<ActivityResult | OpError<'activity'>> {
  const { partnerId, now } = context;
  // The wallet is locked first (it is credited): every activity of the member is evaluated one after the other,
  // so caps and limits read here cannot be used twice.
  const targets = await findMovementTargets(tx, partnerId, { ref: claims.member }, 'issuance', 'credit', now);
  if (!targets) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${claims.member} is enrolled at ${partnerId}`);
  const at = claims.occurredAt;
  let activity: EngineActivity;
  if (claims.activity === 'purchase') {
    if (claims.currency !== targets.contract.currency) {
      return fail(ErrorCode.INVALID_INSTRUCTION, `claim currency: ${partnerId} settles in ${targets.contract.currency}`, {
        claim: 'currency',
      });
    }
    const categories = await declaredCategories(tx, partnerId);
    const unknown = categories.size > 0 ? claims.lines.find((line) => line.category !== null && !categories.has(line.category)) : undefined;
    if (unknown) {
      return fail(ErrorCode.UNKNOWN_CATEGORY, `${partnerId} has no category ${unknown.category}`, { category: unknown.category });
    }
    if (claims.orderRef !== null) {
      const used: unknown[] = await tx.query(`SELECT 1 FROM activity WHERE partner_id = $1 AND order_ref = $2 AND kind = 'purchase'`, [
        partnerId,
        claims.orderRef,
      ]);
      if (used.length > 0) {
        return fail(ErrorCode.INVALID_INSTRUCTION, `claim orderRef: purchase ${claims.orderRef} was recorded already`, {
          claim: 'orderRef',
        });
      }
    }
    const lines: PurchaseLine[] = claims.lines.map((l) => ({
      category: l.category,
      sku: l.sku,
      quantity: l.quantity,
      amountMinor: l.amount,
    }));
    activity = { kind: 'purchase', partnerId, at, totalMinor: claims.total!, currency: claims.currency!, lines };
  } else {
    activity = { kind: 'action', partnerId, at, action: claims.action! };
  }

  const [history]: Array<{ bought: boolean; done: boolean }> = await tx.query(
    `SELECT EXISTS (SELECT 1 FROM activity WHERE member_id = $1 AND partner_id = $2 AND kind = 'purchase') AS bought,
            EXISTS (SELECT 1 FROM activity WHERE member_id = $1 AND partner_id = $2 AND kind = 'action' AND action = $3) AS done`,
    [targets.memberId, partnerId, claims.action ?? ''],
  );
  const repeated = activity.kind === 'action' && ONCE.has(activity.action) && history!.done;
  const day = `D:${at.toISOString().slice(0, 10)}`;
  const month = `M:${at.toISOString().slice(0, 7)}`;
  const usageRows: Array<{ rule_id: string; period: string; points: string }> = await tx.query(
    'SELECT rule_id, period, points::text FROM earn_usage WHERE member_id = $1 AND partner_id = $2 AND period = ANY($3::text[])',
    [targets.memberId, partnerId, [day, month]],
  );
  const ruleUsage: Record<string, { day: bigint; month: bigint }> = {};
  for (const row of usageRows) {
    const usage = (ruleUsage[row.rule_id] ??= { day: 0n, month: 0n });
    if (row.period === day) usage.day = BigInt(row.points);
    else usage.month = BigInt(row.points);
  }
  const tier = await context.tiers.tierOf(tx, targets.memberId, now);
  const trigger = activity.kind === 'purchase' ? 'purchase' : activity.action;
  const rules = repeated ? [] : await rulesInForce(tx, partnerId, at);
  // Budget rows are locked here, after the wallet (the global order: wallets, budgets, funding rows).
  const campaigns = repeated ? [] : await campaignsInScope(tx, partnerId, trigger, at, targets.memberId, now);
  const evaluation = evaluate(activity, rules, campaigns, {
    tier: tier.name,
    tierMultiplier: targets.contract.tierMultipliers[tier.name] ?? '1',
    boughtAtPartnerBefore: history!.bought,
    ruleUsage,
  });
  if (!evaluation.ok) return fail(ErrorCode.CAMPAIGN_BUDGET_EXHAUSTED, evaluation.message, { campaignId: evaluation.campaignId });
  const notes = repeated ? [`${claims.action} was recorded before: it earns once`] : evaluation.notes;
  const contributions = evaluation.contributions;
  const rates: Record<string, string> = {
    contractId: targets.contract.id,
    currency: targets.contract.currency,
    issuePrice: targets.contract.issuePrice,
    activity: claims.activity,
    rules: rules.map((rule) => `${rule.ruleId}@${rule.version}`).join(','),
    campaigns: campaigns.map((campaign) => `${campaign.campaignId}@${campaign.version}`).join(','),
    contributions: JSON.stringify(contributions.map(shown)),
  };

  let entryId: string | null = null;
  let balance = targets.balance;
  let postings: ActivityResult['postings'] = [];
  let vestsAt: Date | null = null;
  if (evaluation.total > 0n) {
    const posted = await postActivityEntry(tx, context, claims, targets, contributions, evaluation.total, rates);
    if (isDomainError(posted)) return posted;
    ({ balance, postings, vestsAt } = posted);
    entryId = context.entryId;
    const rulePoints = contributions.filter((c) => c.source.kind === 'rule').reduce((sum, c) => sum + c.points, 0n);
    if (rulePoints > 0n) await context.tiers.recordChange(tx, targets.memberId, rulePoints, now);
  }
  const budgeted = new Set(campaigns.filter((c) => c.pointsCap !== null || c.moneyCapMinor !== null).map((c) => c.campaignId));
  // The activity and what it used of rule caps and campaign budgets, in one statement (docs/loyalty-engine.md, "Concurrency and locks").
  await tx.query(
    `WITH ${USAGE_CTES}
     INSERT INTO activity (id, partner_id, jti, member_id, kind, action, order_ref, total_minor, currency, entry_id, points, occurred_at, recorded_at, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      context.entryId,
      partnerId,
      claims.jti,
      targets.memberId,
      claims.activity,
      claims.action,
      claims.orderRef,
      (claims.total ?? 0n).toString(),
      claims.currency,
      entryId,
      evaluation.total.toString(),
      at,
      now,
      JSON.stringify({
        contributions: contributions.map(shown),
        notes,
        channel: claims.channel,
        store: claims.store,
        lines: claims.lines.map((l) => ({ ...l, quantity: l.quantity.toString(), amount: l.amount.toString() })),
        rulePoints: contributions
          .filter((c) => c.source.kind === 'rule')
          .reduce((sum, c) => sum + c.points, 0n)
          .toString(),
        // Campaigns that held the member out where they would have applied (docs/loyalty-engine.md, "Holdout").
        ...(evaluation.heldOut.length > 0 ? { heldOut: evaluation.heldOut } : {}),
      }),
      ...usageParameters(targets.memberId, contributions, [day, month], budgeted),
    ],
  );
  const outcomes: ListenerOutcome[] = [];
  if (activity.kind === 'purchase') {
    for (const listener of context.purchaseListeners) {
      const outcome = await listener.onPurchase(tx, {
        activityId: context.entryId,
        partnerId,
        memberId: targets.memberId,
        entryId,
        orderRef: claims.orderRef,
        totalMinor: activity.totalMinor,
        currency: activity.currency,
        lines: activity.lines,
        occurredAt: at,
        now,
        contributions,
        firstAtPartner: !history!.bought,
        counterShards: context.counterShards,
      });
      if (isDomainError(outcome)) return outcome;
      if (outcome) outcomes.push(outcome);
    }
  }
  const result: ActivityResult = {
    activityId: context.entryId,
    activity: claims.activity,
    entryId,
    memberId: targets.memberId,
    amount: evaluation.total.toString(),
    balance: balance.toString(),
    recordedAt: now.toISOString(),
    contributions: contributions.map(shown),
    notes,
    postings,
    rates,
  };
  return withListeners(vestsAt ? { ...result, vestsAt: vestsAt.toISOString() } : result, outcomes);
}

/**
 * The one entry of an activity's points: type `issue` (settled exactly like issued points), the
 * member's wallet credited, each funding partner's issuance account debited with its share, and
 * one lot per funding partner and kind (the rules' and tier's points, the campaign points), so
 * that settlement prices each at its funder's issue price and shows campaign points as their own
 * line (src/settlement/lines.ts).
 */
async function postActivityEntry(
  tx: EntityManager,
  context: ActivityContext,
  claims: ActivityClaims,
  targets: MovementTargets,
  contributions: readonly Contribution[],
  total: bigint,
  rates: Record<string, string>,
): Promise<{ balance: bigint; postings: ActivityResult['postings']; vestsAt: Date | null } | OpError<'activity'>> {
  const { partnerId, now } = context;
  const byFunder = new Map<string, { base: bigint; campaign: bigint }>();
  for (const c of contributions) {
    const parts = byFunder.get(c.fundingPartnerId) ?? { base: 0n, campaign: 0n };
    if (c.source.kind === 'campaign') parts.campaign += c.points;
    else parts.base += c.points;
    byFunder.set(c.fundingPartnerId, parts);
  }
  const funders = [...byFunder.keys()].sort();
  const contracts = await context.contracts.inForce(tx, funders, now);
  const vestsAt = targets.contract.pendingDays > 0 ? new Date(now.getTime() + targets.contract.pendingDays * DAY_MS) : null;
  const entryPostings: EntryPosting[] = [{ accountId: targets.wallet.id, asset: CP, amount: total, floored: true }];
  const shownPostings: ActivityResult['postings'] = [{ account: `member:${targets.memberId}:CP:wallet`, amount: total.toString() }];
  const lots: NewLot[] = [];
  for (const [index, funder] of funders.entries()) {
    const contract = contracts[index];
    assert(contract, `partner ${funder} has no contract in force`);
    const parts = byFunder.get(funder)!;
    const points = parts.base + parts.campaign;
    const counter = funder === partnerId ? targets.counter : await ensureAccount(tx, 'partner', funder, CP, 'issuance');
    entryPostings.push({ accountId: counter.id, asset: CP, amount: -points, floored: false });
    shownPostings.push({ account: `partner:${funder}:CP:issuance`, amount: (-points).toString() });
    rates[`issuePrice:${funder}`] = contract.issuePrice;
    if (parts.campaign > 0n) rates[`campaignPoints:${funder}`] = parts.campaign.toString();
    const expiresAt = addMonths(now, contract.lotLifetimeMonths);
    for (const amount of [parts.base, parts.campaign]) {
      if (amount > 0n) lots.push({ accountId: targets.wallet.id, issuerPartnerId: funder, amount, issuedAt: now, expiresAt, vestsAt });
    }
  }
  // Funding rows last, in partner order (wallet, then budgets, then funding).
  for (const [index, funder] of funders.entries()) {
    const parts = byFunder.get(funder)!;
    const funding = await drawFunding(tx, funder, contracts[index]!, parts.base + parts.campaign, now);
    if (isDomainError(funding)) return funding;
    entryPostings.push(...funding);
  }
  const posted = await postEntry(tx, {
    id: context.entryId,
    type: 'issue',
    partnerId,
    jti: claims.jti,
    memberId: targets.memberId,
    orderRef: claims.orderRef,
    occurredAt: claims.occurredAt,
    recordedAt: now,
    requestHash: context.requestHash,
    rates,
    postings: entryPostings,
    lots: { create: lots },
    counterShards: context.counterShards,
    lockedBalances: new Map([[targets.wallet.id, targets.balance]]),
  });
  assert(!isDomainError(posted), `activity entry ${context.entryId} was refused: ${isDomainError(posted) ? posted.message : ''}`);
  return { balance: posted.balances.get(targets.wallet.id)!, postings: shownPostings, vestsAt };
}

/**
 * What an activity used of each rule's caps (day and month) and of each campaign's budget and
 * per-member limit, as data-modifying CTEs in front of the activity's INSERT (parameters $15–$22,
 * from usageParameters): earn_usage per rule and period; a budgeted campaign's own row (locked since
 * campaignsInScope; its CHECKs hold the caps should anything slip); an unbudgeted campaign's usage
 * row chosen by the member (one of sixteen, so that concurrent members seldom meet); campaign_member.
 */
const USAGE_CTES = `rule_usage AS (
    INSERT INTO earn_usage AS u (member_id, partner_id, rule_id, period, points)
    SELECT $4, $2, r.rule_id, p.period, r.points FROM unnest($15::text[], $16::bigint[]) AS r(rule_id, points), unnest($17::text[]) AS p(period)
    ON CONFLICT (member_id, partner_id, rule_id, period) DO UPDATE SET points = u.points + EXCLUDED.points RETURNING 1
  ), used AS (
    SELECT * FROM unnest($18::uuid[], $19::bigint[], $20::bigint[], $21::boolean[]) AS c(id, points, money, budgeted)
  ), budgets AS (
    UPDATE campaign c SET points_used = c.points_used + used.points, money_used_minor = c.money_used_minor + used.money
    FROM used WHERE c.id = used.id AND used.budgeted RETURNING 1
  ), shards AS (
    INSERT INTO campaign_usage AS s (campaign_id, shard, points, money_minor)
    SELECT used.id, hashtext($22::text) & 15, used.points, used.money FROM used WHERE NOT used.budgeted
    ON CONFLICT (campaign_id, shard) DO UPDATE SET points = s.points + EXCLUDED.points, money_minor = s.money_minor + EXCLUDED.money_minor RETURNING 1
  ), campaign_members AS (
    INSERT INTO campaign_member AS m (campaign_id, member_id, awards, points) SELECT used.id, $4, 1, used.points FROM used
    ON CONFLICT (campaign_id, member_id) DO UPDATE SET awards = m.awards + 1, points = m.points + EXCLUDED.points RETURNING 1
  )`;

/** USAGE_CTES's parameters $15–$22: rules and their points, the periods, campaigns with their points, money and whether budgeted, the member. */
function usageParameters(memberId: string, contributions: readonly Contribution[], periods: string[], budgeted: ReadonlySet<string>) {
  const rules = contributions.filter((c) => c.source.kind === 'rule');
  const campaigns = new Map<string, { points: bigint; money: bigint }>();
  for (const c of contributions) {
    if (c.source.kind !== 'campaign') continue;
    const used = campaigns.get(c.source.id) ?? { points: 0n, money: 0n };
    used.points += c.points;
    used.money += c.moneyMinor;
    campaigns.set(c.source.id, used);
  }
  // In id order, as every statement that locks campaign rows takes them.
  const sorted = [...campaigns].sort(([a], [b]) => (a < b ? -1 : 1));
  return [
    rules.map((c) => c.source.id),
    rules.map((c) => c.points.toString()),
    periods,
    sorted.map(([id]) => id),
    sorted.map(([, used]) => used.points.toString()),
    sorted.map(([, used]) => used.money.toString()),
    sorted.map(([id]) => budgeted.has(id)),
    memberId,
  ];
}

interface PurchaseRow {
  id: string;
  member_id: string;
  entry_id: string | null;
  total_minor: string;
  returned_minor: string;
  detail: { rulePoints?: string };
}

/**
 * A return gives back exactly what its purchase earned, pro rata by the value returned (each lot of
 * the purchase on its own, floored on the cumulative value returned, so that returning everything
 * gives back every point), never more than what is left of it.
 */
async function applyReturn(
  tx: EntityManager,
  context: ActivityContext,
  claims: ActivityClaims,
): Promise<ActivityResult | OpError<'activity'>> {
  const { partnerId, now } = context;
  const targets = await findMovementTargets(tx, partnerId, { ref: claims.member }, 'issuance', true, now);
  if (!targets) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${claims.member} is enrolled at ${partnerId}`);
  // After the wallet: the purchase's row, so that two returns of one purchase are decided one after the other.
  const [purchase]: PurchaseRow[] = await tx.query(
    `SELECT id::text, member_id::text, entry_id::text, total_minor::text, returned_minor::text, detail FROM activity
     WHERE partner_id = $1 AND kind = 'purchase' AND member_id = $2 AND ${claims.entry ? 'entry_id = $3::uuid' : 'order_ref = $3'} FOR UPDATE`,
    [partnerId, targets.memberId, claims.entry ?? claims.purchase],
  );
  const named = claims.entry ?? claims.purchase!;
  if (!purchase) return fail(ErrorCode.PURCHASE_NOT_FOUND, `${partnerId} has no purchase ${named} of member ${claims.member}`);
  const total = BigInt(purchase.total_minor);
  const returnedBefore = BigInt(purchase.returned_minor);
  const amount = claims.amount!;
  if (amount > total - returnedBefore) {
    return fail(
      ErrorCode.RETURN_EXCEEDS_PURCHASE,
      `purchase ${named} has ${total - returnedBefore} left to return; ${amount} were returned`,
      {
        remaining: (total - returnedBefore).toString(),
      },
    );
  }
  let entryId: string | null = null;
  let balance = targets.balance;
  let given = 0n;
  let postings: ActivityResult['postings'] = [];
  let rates: Record<string, string> = {};
  const contributions: ActivityContribution[] = [];
  if (purchase.entry_id) {
    const lots: Array<{ id: string; issuer_partner_id: string; amount: string; remaining: string; reversed: string }> = await tx.query(
      `SELECT l.id::text, l.issuer_partner_id, l.amount::text, l.remaining::text,
              (SELECT coalesce(sum(c.amount), 0) FROM lot_consumption c JOIN journal_entry r ON r.id = c.entry_id
               WHERE c.lot_id = l.id AND c.kind = 'reversal' AND r.reverses_entry_id = $1)::text AS reversed
       FROM lot l WHERE l.entry_id = $1 AND l.from_lot_id IS NULL ORDER BY l.id FOR UPDATE OF l`,
      [purchase.entry_id],
    );
    const changes: LotChange[] = [];
    const byIssuer = new Map<string, bigint>();
    for (const lot of lots) {
      const take = returnTake(BigInt(lot.amount), total, returnedBefore, amount, BigInt(lot.reversed));
      if (take === 0n) continue;
      if (take > BigInt(lot.remaining)) {
        return fail(
          ErrorCode.POINTS_ALREADY_SPENT,
          `the purchase's points were spent: ${lot.remaining} of the ${take} to give back are left`,
          {
            available: lot.remaining,
          },
        );
      }
      changes.push({
        lotId: lot.id,
        accountId: targets.wallet.id,
        issuerPartnerId: lot.issuer_partner_id,
        consumerPartnerId: partnerId,
        amount: take,
      });
      byIssuer.set(lot.issuer_partner_id, (byIssuer.get(lot.issuer_partner_id) ?? 0n) + take);
      given += take;
    }
    if (given > 0n) {
      const [original]: Array<{ rates: Record<string, string> }> = await tx.query('SELECT rates FROM journal_entry WHERE id = $1', [
        purchase.entry_id,
      ]);
      rates = { ...original!.rates, activity: 'return' };
      const entryPostings: EntryPosting[] = [{ accountId: targets.wallet.id, asset: CP, amount: -given, floored: true }];
      postings = [{ account: `member:${targets.memberId}:CP:wallet`, amount: (-given).toString() }];
      for (const [issuer, take] of [...byIssuer].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const counter = issuer === partnerId ? targets.counter : await ensureAccount(tx, 'partner', issuer, CP, 'issuance');
        entryPostings.push({ accountId: counter.id, asset: CP, amount: take, floored: false });
        postings.push({ account: `partner:${issuer}:CP:issuance`, amount: take.toString() });
        contributions.push({
          source: 'rule',
          sourceId: purchase.entry_id,
          version: 1,
          points: (-take).toString(),
          reason: `return of ${amount} of ${total}: points of ${issuer} given back pro rata`,
          fundingPartnerId: issuer,
        });
      }
      const posted = await postEntry(tx, {
        id: context.entryId,
        type: 'reversal',
        partnerId,
        jti: claims.jti,
        memberId: targets.memberId,
        orderRef: claims.orderRef,
        occurredAt: claims.occurredAt,
        recordedAt: now,
        requestHash: context.requestHash,
        rates,
        reversesEntryId: purchase.entry_id,
        postings: entryPostings,
        lots: { change: { reason: 'reversal', changes } },
        counterShards: context.counterShards,
      });
      if (isDomainError(posted))
        return fail(ErrorCode.POINTS_ALREADY_SPENT, posted.message, { available: posted.details.available ?? null });
      balance = posted.balances.get(targets.wallet.id)!;
      entryId = context.entryId;
      // The tier counts what the rules earned: the part of it this return takes back.
      const rulePoints = BigInt(purchase.detail.rulePoints ?? '0');
      const tierBack = returnTake(rulePoints, total, returnedBefore, amount, (rulePoints * returnedBefore) / total);
      if (tierBack > 0n) await context.tiers.recordChange(tx, targets.memberId, -tierBack, now);
    }
  }
  await tx.query('UPDATE activity SET returned_minor = returned_minor + $2 WHERE id = $1', [purchase.id, amount.toString()]);
  await tx.query(
    `INSERT INTO activity (id, partner_id, jti, member_id, kind, order_ref, total_minor, purchase_id, entry_id, points, occurred_at, recorded_at, detail)
     VALUES ($1, $2, $3, $4, 'return', $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      context.entryId,
      partnerId,
      claims.jti,
      targets.memberId,
      claims.orderRef,
      amount.toString(),
      purchase.id,
      entryId,
      (-given).toString(),
      claims.occurredAt,
      now,
      JSON.stringify({ contributions, channel: claims.channel, store: claims.store }),
    ],
  );
  const outcomes: ListenerOutcome[] = [];
  for (const listener of context.purchaseListeners) {
    if (!listener.onReturn) continue;
    const outcome = await listener.onReturn(tx, {
      activityId: context.entryId,
      partnerId,
      memberId: targets.memberId,
      purchaseActivityId: purchase.id,
      purchaseTotalMinor: total,
      returnedBeforeMinor: returnedBefore,
      amountMinor: amount,
      now,
    });
    if (isDomainError(outcome)) return outcome;
    if (outcome) outcomes.push(outcome);
  }
  return withListeners(
    {
      activityId: context.entryId,
      activity: 'return',
      entryId,
      memberId: targets.memberId,
      amount: given.toString(),
      balance: balance.toString(),
      recordedAt: now.toISOString(),
      contributions,
      notes: given === 0n ? ['the purchase earned nothing to give back for this part'] : [],
      postings,
      rates,
      ...(purchase.entry_id ? { reversesEntryId: purchase.entry_id } : {}),
    },
    outcomes,
  );
}
