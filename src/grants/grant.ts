import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import type { GrantClaims } from '../common/claims';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { postIssuance } from '../operations/issuance-entry';
import { CP, findMovementTargets } from '../ledger/ledger.repository';
import { drawFunding } from '../settlement/funding.service';
import { unknownMember, type MovementContext, type MovementResult } from '../operations/context';

/** What a grant answers (and its receipt signs): the movement, and why. */
export interface GrantResult extends MovementResult {
  kind: GrantClaims['kind'];
  reasonCode: GrantClaims['reasonCode'];
  caseReference: string | null;
}

/** The period a grant counts against: its UTC month, e.g. "2026-11". */
export const grantPeriodOf = (at: Date): string => at.toISOString().slice(0, 7);

interface PolicyRow {
  member_cap_points: string;
  period_cap_grants: number;
  budget_points: string;
}

/**
 * A grant (op "grant", docs/grants-and-referrals.md): points the signing partner gives a member
 * with a reason, funded like an issue (P.issuance −n, wallet +n, a lot of issuer P) but recorded
 * as an entry of its own type. Lock order: the member's wallet (found and locked as an issue
 * does), then the partner's budget row for the month (the caps and budget are decided under it),
 * then the partner's funding rows. Over a cap or the budget: a typed refusal, nothing written.
 */
export async function grantPoints(
  tx: EntityManager,
  context: MovementContext,
  claims: GrantClaims,
): Promise<GrantResult | OpError<'grant'>> {
  const targets = await findMovementTargets(tx, context.partnerId, { ref: claims.member }, 'issuance', 'credit', context.now);
  if (!targets) return unknownMember(context, claims.member);
  const [policy]: PolicyRow[] = await tx.query(
    'SELECT member_cap_points::text, period_cap_grants, budget_points::text FROM grant_policy WHERE partner_id = $1',
    [context.partnerId],
  );
  if (!policy) return fail(ErrorCode.GRANTS_NOT_CONFIGURED, `partner ${context.partnerId} has no grant policy: the operator sets one`);
  const period = grantPeriodOf(context.now);
  // The month's budget row, created on first use and locked (after the wallet): grants of this partner decide one at a time.
  const [budget]: Array<{ grants: number; points: string }> = await tx.query(
    `INSERT INTO grant_budget (partner_id, period) VALUES ($1, $2)
     ON CONFLICT (partner_id, period) DO UPDATE SET grants = grant_budget.grants
     RETURNING grants, points::text`,
    [context.partnerId, period],
  );
  assert(budget, 'the budget row exists once inserted');
  const [usage]: Array<{ points: string }> = await tx.query(
    'SELECT coalesce(sum(amount), 0)::text AS points FROM member_grant WHERE partner_id = $1 AND period = $2 AND member_id = $3',
    [context.partnerId, period, targets.memberId],
  );
  const amount = claims.amount;
  const memberUsed = BigInt(usage?.points ?? '0');
  const memberCap = BigInt(policy.member_cap_points);
  if (memberUsed + amount > memberCap) {
    return fail(ErrorCode.GRANT_CAP_EXCEEDED, `the member may be granted ${memberCap} points in ${period}; ${memberUsed} are granted`, {
      cap: 'member',
      period,
      limit: memberCap.toString(),
      used: memberUsed.toString(),
    });
  }
  if (budget.grants + 1 > policy.period_cap_grants) {
    return fail(ErrorCode.GRANT_CAP_EXCEEDED, `the partner may make ${policy.period_cap_grants} grants in ${period}`, {
      cap: 'period',
      period,
      limit: String(policy.period_cap_grants),
      used: String(budget.grants),
    });
  }
  const budgetPoints = BigInt(policy.budget_points);
  const spent = BigInt(budget.points);
  if (spent + amount > budgetPoints) {
    return fail(ErrorCode.GRANT_BUDGET_EXHAUSTED, `the grant budget of ${period} has ${budgetPoints - spent} points left`, {
      period,
      budget: budgetPoints.toString(),
      remaining: (budgetPoints - spent).toString(),
    });
  }
  const funding = await drawFunding(tx, context.partnerId, targets.contract, amount, context.now, targets.wallet.id);
  if (isDomainError(funding)) return funding;
  const rates: Record<string, string> = {
    contractId: targets.contract.id,
    currency: targets.contract.currency,
    issuePrice: targets.contract.issuePrice,
    grantKind: claims.kind,
    reasonCode: claims.reasonCode,
  };
  // A grant is spendable at once, whatever the partner's return window: nothing was bought that could come back.
  const { balance } = await postIssuance(tx, {
    id: context.entryId,
    type: 'grant',
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId: targets.memberId,
    orderRef: claims.caseReference,
    occurredAt: context.now,
    recordedAt: context.now,
    requestHash: context.requestHash,
    rates,
    amount,
    walletId: targets.wallet.id,
    counterId: targets.counter.id,
    funding,
    contract: { lotLifetimeMonths: targets.contract.lotLifetimeMonths, pendingDays: 0 },
    counterShards: context.counterShards,
    lockedBalance: targets.balance,
  });
  await tx.query('UPDATE grant_budget SET grants = grants + 1, points = points + $3 WHERE partner_id = $1 AND period = $2', [
    context.partnerId,
    period,
    amount.toString(),
  ]);
  await tx.query(
    `INSERT INTO member_grant (entry_id, seq, partner_id, member_id, period, kind, reason_code, case_reference, note, amount, granted_at)
     SELECT e.id, e.seq, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM journal_entry e WHERE e.id = $1`,
    [
      context.entryId,
      context.partnerId,
      targets.memberId,
      period,
      claims.kind,
      claims.reasonCode,
      claims.caseReference,
      claims.note,
      amount.toString(),
      context.now,
    ],
  );
  return {
    entryId: context.entryId,
    memberId: targets.memberId,
    amount: amount.toString(),
    balance: balance.toString(),
    recordedAt: context.now.toISOString(),
    postings: [
      { account: `partner:${context.partnerId}:CP:issuance`, amount: (-amount).toString() },
      { account: `member:${targets.memberId}:CP:wallet`, amount: amount.toString() },
    ],
    rates,
    asset: CP,
    kind: claims.kind,
    reasonCode: claims.reasonCode,
    caseReference: claims.caseReference,
  };
}
