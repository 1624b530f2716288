import type { EntityManager } from 'typeorm';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import type { TransferClaims } from '../common/claims';
import type { ContractService } from '../partners/contract.service';
import { totalsByIssuer } from '../ledger/apply-entry';
import { CP } from '../ledger/ledger.repository';
import { insufficientBalance, lockFloored, postEntry } from '../ledger/kernel';
import type { MovementContext } from './context';

/**
 * Transfers between members (docs/ledger.md, "Rules"): a gift or family pooling between two members of
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

interface TransferWallets {
  from: { memberId: string; walletId: string };
  to: { memberId: string; walletId: string };
}

export async function transferPoints(
  tx: EntityManager,
  context: MovementContext,
  contracts: ContractService,
  claims: TransferClaims,
): Promise<TransferResult | OpError<'transfer'>> {
  const [policy] = await contracts.inForce(tx, [context.partnerId], context.now);
  if (!policy?.transfersAllowed)
    return fail(ErrorCode.TRANSFER_NOT_ALLOWED, `partner ${context.partnerId}'s contract does not allow transfers`);
  const wallets = await findWallets(tx, context.partnerId, claims);
  if (isDomainError(wallets)) return wallets;

  const spendable = await lockAndReadSpendable(tx, wallets, context.now);
  const movable = await movableIssuers(tx, contracts, wallets.from.walletId, context.now);
  const transferable = await transferableAmount(tx, wallets.from.walletId, movable, context.now);
  const available = transferable < spendable ? transferable : spendable;
  if (available < claims.amount) return insufficientBalance(available, claims.amount);

  const posted = await postEntry(tx, {
    id: context.entryId,
    type: 'transfer',
    partnerId: context.partnerId,
    jti: claims.jti,
    memberId: wallets.from.memberId,
    orderRef: claims.orderRef,
    occurredAt: context.now,
    recordedAt: context.now,
    requestHash: context.requestHash,
    rates: { contractId: policy.id },
    counterMemberId: wallets.to.memberId,
    postings: [
      { accountId: wallets.from.walletId, asset: CP, amount: -claims.amount, floored: true },
      { accountId: wallets.to.walletId, asset: CP, amount: claims.amount, floored: true },
    ],
    lots: {
      consume: {
        accountId: wallets.from.walletId,
        amount: claims.amount,
        consumerPartnerId: context.partnerId,
        reason: 'transfer',
        issuers: movable,
        copyTo: wallets.to.walletId,
      },
    },
    counterShards: context.counterShards,
  });
  if (isDomainError(posted)) return posted;
  return {
    entryId: context.entryId,
    memberId: wallets.from.memberId,
    toMemberId: wallets.to.memberId,
    amount: claims.amount.toString(),
    balance: posted.balances.get(wallets.from.walletId)!.toString(),
    recordedAt: context.now.toISOString(),
    postings: [
      { account: `member:${wallets.from.memberId}:CP:wallet`, amount: (-claims.amount).toString() },
      { account: `member:${wallets.to.memberId}:CP:wallet`, amount: claims.amount.toString() },
    ],
    rates: { contractId: policy.id },
    moved: totalsByIssuer(posted.takes),
  };
}

/** Both members' CP wallets, by the partner's references; both must be enrolled at the partner. */
async function findWallets(
  tx: EntityManager,
  partnerId: string,
  claims: TransferClaims,
): Promise<TransferWallets | DomainError<ErrorCode.UNKNOWN_MEMBER | ErrorCode.TRANSFER_NOT_ALLOWED>> {
  const members: Array<{ member_ref: string; member_id: string; wallet_id: string; test_clock_id: string | null }> = await tx.query(
    `SELECT l.member_ref, l.member_id, w.id AS wallet_id, member_test_clock(l.member_id::text) AS test_clock_id FROM member_link l
     JOIN account w ON w.owner_kind = 'member' AND w.owner_id = l.member_id::text AND w.asset = 'CP' AND w.kind = 'wallet'
     WHERE l.partner_id = $1 AND l.member_ref = ANY($2::text[])`,
    [partnerId, [claims.member, claims.to]],
  );
  const from = members.find((row) => row.member_ref === claims.member);
  const to = members.find((row) => row.member_ref === claims.to);
  if (!from || !to) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${!from ? claims.member : claims.to} is enrolled at ${partnerId}`);
  // Lots keep their expiry as they move: between two times they would expire early or late (docs/sandbox.md).
  if (from.test_clock_id !== to.test_clock_id)
    return fail(
      ErrorCode.TRANSFER_NOT_ALLOWED,
      'the two members live on different clocks (a sandbox test clock and another, or real time)',
    );
  return { from: { memberId: from.member_id, walletId: from.wallet_id }, to: { memberId: to.member_id, walletId: to.wallet_id } };
}

/**
 * Locks both wallets in account order (as every entry locks, so a transfer racing a redemption
 * cannot deadlock), then reads what the sender can spend: its balance less holds, pending and
 * expired points.
 */
async function lockAndReadSpendable(tx: EntityManager, wallets: TransferWallets, at: Date): Promise<bigint> {
  await lockFloored(tx, [wallets.from.walletId, wallets.to.walletId]);
  const [row]: Array<{ spendable: string }> = await tx.query(
    'SELECT (balance - wallet_reserved(account_id, $2))::text AS spendable FROM account_balance WHERE account_id = $1 AND shard = 0',
    [wallets.from.walletId, at],
  );
  return BigInt(row!.spendable);
}

/** Whose points in the wallet may move: issuers whose contracts allow transfers. */
async function movableIssuers(tx: EntityManager, contracts: ContractService, walletId: string, at: Date): Promise<string[]> {
  const issuers: Array<{ issuer_partner_id: string }> = await tx.query(
    'SELECT DISTINCT issuer_partner_id FROM lot WHERE account_id = $1 AND remaining > 0',
    [walletId],
  );
  const issuerContracts = await contracts.inForce(
    tx,
    issuers.map((row) => row.issuer_partner_id),
    at,
  );
  return issuers.map((row) => row.issuer_partner_id).filter((_, index) => issuerContracts[index]?.transfersAllowed);
}

/** Points of those issuers that are vested and not expired. */
async function transferableAmount(tx: EntityManager, walletId: string, issuers: readonly string[], at: Date): Promise<bigint> {
  const [{ transferable }] = await tx.query(
    `SELECT coalesce(sum(remaining), 0)::text AS transferable FROM lot
     WHERE account_id = $1 AND remaining > 0 AND issuer_partner_id = ANY($2::text[]) AND (vests_at IS NULL OR vests_at <= $3) AND expires_at > $3`,
    [walletId, issuers, at],
  );
  return BigInt(transferable);
}
