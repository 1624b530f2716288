import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail } from '../common/errors';
import type { TransferClaims } from '../instructions/instruction-claims';
import type { ContractService } from '../partners/contract.service';
import { totalsByIssuer } from './apply-entry';
import { CP, consumeLots, recordEntry } from './ledger.repository';
import { insufficientBalance, type MovementContext } from './points.service';

/**
 * Transfers between members (issue #3 item 7): a gift or family pooling between two members of
 * the requesting partner, when that partner's contract allows transfers. Only points whose
 * issuer's contract allows transfers move; they move lot by lot, first-expiring-first-out, and
 * keep their issuer and expiry in the recipient's wallet. Both wallets are locked in account
 * order, as every entry locks, so a transfer racing a redemption cannot deadlock.
 */
export interface TransferResult {
  entryId: string;
  memberId: string;
  toMemberId: string;
  amount: string;
  /** The sender's balance after. */
  balance: string;
  recordedAt: string;
  postings: Array<{ account: string; amount: string }>;
  rates: Record<string, string>;
  moved: Array<{ issuerPartnerId: string; amount: string }>;
}

export async function transferPoints(
  tx: EntityManager,
  context: MovementContext,
  contracts: ContractService,
  claims: TransferClaims,
): Promise<TransferResult | DomainError> {
  const [policy] = await contracts.inForce(tx, [context.partnerId], context.now);
  if (!policy?.transfersAllowed) return fail(ErrorCode.TRANSFER_NOT_ALLOWED, `partner ${context.partnerId}'s contract does not allow transfers`);

  const members: Array<{ member_ref: string; member_id: string; wallet_id: string }> = await tx.query(
    `SELECT l.member_ref, l.member_id, w.id AS wallet_id FROM member_link l
     JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
     WHERE l.partner_id = $1 AND l.member_ref = ANY($2::text[])`,
    [context.partnerId, [claims.member, claims.to]],
  );
  const from = members.find((row) => row.member_ref === claims.member);
  const to = members.find((row) => row.member_ref === claims.to);
  if (!from || !to) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${!from ? claims.member : claims.to} is enrolled at ${context.partnerId}`);

  const locked: Array<{ account_id: string; balance: string }> = await tx.query(
    'SELECT account_id, balance FROM account_balance WHERE account_id = ANY($1::bigint[]) AND shard = 0 ORDER BY account_id FOR UPDATE',
    [[from.wallet_id, to.wallet_id]],
  );
  const [{ reserved }] = await tx.query('SELECT wallet_reserved($1, $2)::text AS reserved', [from.wallet_id, context.now]);
  const spendable = BigInt(locked.find((row) => row.account_id === from.wallet_id)!.balance) - BigInt(reserved);

  // Whose points may move: issuers whose contracts allow transfers.
  const issuers: Array<{ issuer_partner_id: string }> = await tx.query(
    'SELECT DISTINCT issuer_partner_id FROM lot WHERE account_id = $1 AND remaining > 0',
    [from.wallet_id],
  );
  const issuerContracts = await contracts.inForce(tx, issuers.map((row) => row.issuer_partner_id), context.now);
  const movable = issuers.map((row) => row.issuer_partner_id).filter((_, index) => issuerContracts[index]?.transfersAllowed);
  const [{ transferable }] = await tx.query(
    `SELECT coalesce(sum(remaining), 0)::text AS transferable FROM lot
     WHERE account_id = $1 AND remaining > 0 AND issuer_partner_id = ANY($2::text[]) AND (vests_at IS NULL OR vests_at <= $3) AND expires_at > $3`,
    [from.wallet_id, movable, context.now],
  );
  const available = BigInt(transferable) < spendable ? BigInt(transferable) : spendable;
  if (available < claims.amount) return insufficientBalance(available, claims.amount);

  const balances = await recordEntry(
    tx,
    {
      id: context.entryId,
      type: 'transfer',
      partnerId: context.partnerId,
      jti: claims.jti,
      memberId: from.member_id,
      orderRef: claims.orderRef,
      occurredAt: context.now,
      recordedAt: context.now,
      requestHash: context.requestHash,
      rates: { contractId: policy.id },
      counterMemberId: to.member_id,
    },
    [
      { accountId: from.wallet_id, asset: CP, amount: -claims.amount, floored: true },
      { accountId: to.wallet_id, asset: CP, amount: claims.amount, floored: true },
    ],
    context.counterShards,
  );
  const takes = await consumeLots(tx, from.wallet_id, claims.amount, context.entryId, context.partnerId, { issuers: movable, kind: 'transfer', at: context.now });
  // The recipient's lots: same issuer, same issue time and expiry, made by this entry.
  await tx.query(
    `INSERT INTO lot (account_id, issuer_partner_id, entry_id, amount, remaining, issued_at, expires_at, from_lot_id)
     SELECT $1, l.issuer_partner_id, $2, t.take, t.take, l.issued_at, l.expires_at, l.id
     FROM unnest($3::bigint[], $4::bigint[]) AS t(id, take) JOIN lot l ON l.id = t.id`,
    [to.wallet_id, context.entryId, takes.map((take) => take.lotId), takes.map((take) => take.amount.toString())],
  );
  return {
    entryId: context.entryId,
    memberId: from.member_id,
    toMemberId: to.member_id,
    amount: claims.amount.toString(),
    balance: balances.get(from.wallet_id)!.toString(),
    recordedAt: context.now.toISOString(),
    postings: [
      { account: `member:${from.member_id}:CP:wallet`, amount: (-claims.amount).toString() },
      { account: `member:${to.member_id}:CP:wallet`, amount: claims.amount.toString() },
    ],
    rates: { contractId: policy.id },
    moved: totalsByIssuer(takes),
  };
}
