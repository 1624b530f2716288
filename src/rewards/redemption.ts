import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { withTransaction } from '../db/with-transaction';
import { assert } from '../common/assert';
import { ErrorCode, fail, isDomainError, type DomainError } from '../common/errors';
import type { OpCode, OpError } from '../common/op-errors';
import { totalsByIssuer } from '../ledger/apply-entry';
import { insufficientBalance, postEntry } from '../ledger/kernel';
import { CP, ensureAccount } from '../ledger/ledger.repository';
import type { TierService } from '../members/tiers';
import { availableAt, eligibleFor, isRewardId, memberFacts, REWARD_COLUMNS, toReward, type Reward, type RewardRow } from './catalogue';
import { entitlementOf, ENTITLEMENT_COLUMNS, type Entitlement, type EntitlementRow } from './entitlements';

const DAY_MS = 86_400_000;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A voucher code: 128 random bits in base32 (RFC 4648 alphabet, no padding), 26 characters. Unguessable, not derived from anything. */
export function newVoucherCode(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let code = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      code += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) code += BASE32[(value << (5 - bits)) & 31];
  return code;
}

/** Who asks for a redemption and how it is keyed against retries. */
export interface RedemptionRequest {
  rewardId: string;
  /** The member, by a partner's reference: the signer's for a signed instruction, the token's partner for a member token. */
  member: { partnerId: string; ref: string };
  /** The partner that signed the instruction or the member token. */
  requestedBy: string;
  /** A signed redemption: its jti (the instruction row holds it too). */
  jti: string | null;
  /** A member's redemption: the member's key for retries (unique per member). */
  idempotencyKey: string | null;
  orderRef: string | null;
  entryId: string;
  now: Date;
  counterShards: number;
  tiers: TierService;
}

/** A redemption as the member and the partner see it (and as the receipt signs it). */
export interface RewardRedemption {
  entryId: string;
  memberId: string;
  /** The CP debited: the reward's price. */
  amount: string;
  /** The member's CP balance right after (for a replay: now). */
  balance: string;
  recordedAt: string;
  postings: Array<{ account: string; amount: string }>;
  rates: Record<string, string>;
  consumed: Array<{ issuerPartnerId: string; amount: string }>;
  rewardId: string;
  entitlement: EntitlementJson;
  /** True when the idempotency key was used before for this reward: the original redemption, nothing written. */
  replayed?: boolean;
}

/** An entitlement as a receipt carries it (strings only: it is signed and stored as JSON). */
export interface EntitlementJson {
  id: string;
  code: string;
  rewardId: string;
  partnerId: string;
  memberId: string;
  status: string;
  expiresAt: string;
  usedAt: string | null;
}

export const entitlementJson = (entitlement: Entitlement): EntitlementJson => ({
  id: entitlement.id,
  code: entitlement.code,
  rewardId: entitlement.rewardId,
  partnerId: entitlement.partnerId,
  memberId: entitlement.memberId,
  status: entitlement.status,
  expiresAt: entitlement.expiresAt.toISOString(),
  usedAt: entitlement.usedAt?.toISOString() ?? null,
});

export type RedemptionRefusal = DomainError<OpCode<'redeem_reward'> | OpCode<'redeemReward'>>;
type RewardRefusal = DomainError<
  | ErrorCode.UNKNOWN_MEMBER
  | ErrorCode.REWARD_NOT_FOUND
  | ErrorCode.REWARD_NOT_AVAILABLE
  | ErrorCode.REWARD_NOT_ELIGIBLE
  | ErrorCode.REWARD_OUT_OF_STOCK
  | ErrorCode.INSUFFICIENT_BALANCE
  | ErrorCode.IDEMPOTENCY_CONFLICT
>;

/**
 * Redeems a catalogue reward inside `tx` (docs/rewards.md): a `reward` entry debits the member's
 * wallet by the price (lots first-expiring-first-out) to the providing partner's redemption
 * account, the stock goes down by one and an entitlement is written. Locks, in the global order:
 * the member's wallet, then the reward's row (only when its stock is limited). Every refusal is
 * decided before anything is written (the caller rolls back on an error all the same).
 */
export async function redeemReward(tx: EntityManager, request: RedemptionRequest): Promise<RewardRedemption | RewardRefusal> {
  const { now } = request;
  const found = isRewardId(request.rewardId)
    ? ((await tx.query(`SELECT ${REWARD_COLUMNS} FROM reward WHERE id = $1`, [request.rewardId])) as RewardRow[])
    : [];
  if (!found[0]) return fail(ErrorCode.REWARD_NOT_FOUND, `there is no reward ${request.rewardId}`);
  const reward = toReward(found[0]);
  if (!reward.active) return fail(ErrorCode.REWARD_NOT_FOUND, `reward ${reward.id} was withdrawn`);

  const [link]: Array<{ member_id: string }> = await tx.query(
    'SELECT member_id FROM member_link WHERE partner_id = $1 AND member_ref = $2',
    [request.member.partnerId, request.member.ref],
  );
  if (!link) return fail(ErrorCode.UNKNOWN_MEMBER, `no member ${request.member.ref} is enrolled at ${request.member.partnerId}`);
  const memberId = String(link.member_id);

  // The wallet first (the global lock order), in a statement of its own: what is read next is read after the lock.
  const [locked]: Array<{ account_id: string }> = await tx.query(
    `SELECT b.account_id FROM account w JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
     WHERE w.owner_kind = 'member' AND w.owner_id = $1 AND w.asset = 'CP' AND w.kind = 'wallet' FOR UPDATE OF b`,
    [memberId],
  );
  assert(locked, `member ${memberId} has no CP wallet`);
  const walletId = String(locked.account_id);

  if (request.idempotencyKey !== null) {
    // Read under the wallet lock: a retry racing its original waits for it and finds it here.
    const [earlier]: EntitlementRow[] = await tx.query(
      `SELECT ${ENTITLEMENT_COLUMNS} FROM entitlement WHERE member_id = $1 AND idempotency_key = $2`,
      [memberId, request.idempotencyKey],
    );
    if (earlier) {
      if (earlier.reward_id !== reward.id)
        return fail(ErrorCode.IDEMPOTENCY_CONFLICT, `idempotency key ${request.idempotencyKey} was used for another reward`, {
          jti: request.idempotencyKey,
        });
      return replayOf(tx, entitlementOf(earlier), walletId);
    }
  }

  if (!availableAt(reward, now))
    return fail(ErrorCode.REWARD_NOT_AVAILABLE, `reward ${reward.id} cannot be redeemed now (outside its validity)`);
  const facts = await memberFacts(tx, request.tiers, memberId, now);
  if (
    !eligibleFor(
      reward,
      facts.tier,
      request.tiers.rules.map((rule) => rule.name),
      facts.partners,
    )
  ) {
    return fail(ErrorCode.REWARD_NOT_ELIGIBLE, `member ${memberId} (${facts.tier}) may not redeem reward ${reward.id}`);
  }

  if (reward.stock !== null) {
    // The reward's row after the wallet: redemptions of the last items are decided one after the other.
    const [row]: Array<{ stock: string }> = await tx.query('SELECT stock::text FROM reward WHERE id = $1 FOR UPDATE', [reward.id]);
    if (row === undefined || BigInt(row.stock) <= 0n) return fail(ErrorCode.REWARD_OUT_OF_STOCK, `reward ${reward.id} is out of stock`);
  }

  const [wallet]: Array<{ balance: string; reserved: string }> = await tx.query(
    'SELECT balance::text, wallet_reserved(account_id, $2)::text AS reserved FROM account_balance WHERE account_id = $1 AND shard = 0',
    [walletId, now],
  );
  const spendable = BigInt(wallet!.balance) - BigInt(wallet!.reserved);
  if (spendable < reward.pricePoints) return insufficientBalance(spendable < 0n ? 0n : spendable, reward.pricePoints);

  return writeRedemption(tx, request, reward, memberId, walletId);
}

async function writeRedemption(
  tx: EntityManager,
  request: RedemptionRequest,
  reward: Reward,
  memberId: string,
  walletId: string,
): Promise<RewardRedemption | DomainError<ErrorCode.INSUFFICIENT_BALANCE>> {
  const { now } = request;
  const counter = await ensureAccount(tx, 'partner', reward.partnerId, CP, 'redemption');
  const price = reward.pricePoints;
  // What the statement line settles: the providing partner's declared cost (src/settlement/lines.ts, kind 'reward').
  const rates = { rewardId: reward.id, rewardCostMinor: String(reward.costMinor), rewardCostCurrency: String(reward.costCurrency) };
  const posted = await postEntry(tx, {
    id: request.entryId,
    type: 'reward',
    partnerId: reward.partnerId,
    jti: null,
    memberId,
    orderRef: request.orderRef,
    occurredAt: now,
    recordedAt: now,
    requestHash: null,
    rates,
    postings: [
      { accountId: walletId, asset: CP, amount: -price, floored: true },
      { accountId: counter.id, asset: CP, amount: price, floored: false },
    ],
    lots: { consume: { accountId: walletId, amount: price, consumerPartnerId: reward.partnerId, reason: 'redeem' } },
    counterShards: request.counterShards,
  });
  if (isDomainError(posted)) return posted;
  if (reward.stock !== null) await tx.query('UPDATE reward SET stock = stock - 1 WHERE id = $1', [reward.id]);
  const expiresAt = new Date(now.getTime() + reward.entitlementDays * DAY_MS);
  const [row]: EntitlementRow[] = await tx.query(
    `INSERT INTO entitlement (id, reward_id, partner_id, member_id, code, price_points, cost_minor, cost_currency, refund_policy, entry_id,
                              requested_by, jti, idempotency_key, status, created_at, expires_at)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'issued', $13, $14)
     RETURNING ${ENTITLEMENT_COLUMNS}`,
    [
      reward.id,
      reward.partnerId,
      memberId,
      newVoucherCode(),
      price.toString(),
      String(reward.costMinor),
      reward.costCurrency,
      reward.refundPolicy,
      request.entryId,
      request.requestedBy,
      request.jti,
      request.idempotencyKey,
      now,
      expiresAt,
    ],
  );
  const balance = posted.balances.get(walletId);
  assert(balance !== undefined, 'the entry moved the wallet');
  return {
    entryId: request.entryId,
    memberId,
    amount: price.toString(),
    balance: balance.toString(),
    recordedAt: now.toISOString(),
    postings: [
      { account: `member:${memberId}:CP:wallet`, amount: (-price).toString() },
      { account: `partner:${reward.partnerId}:CP:redemption`, amount: price.toString() },
    ],
    rates,
    consumed: totalsByIssuer(posted.takes),
    rewardId: reward.id,
    entitlement: entitlementJson(entitlementOf(row!)),
  };
}

/** The redemption an idempotency key made before, as it stands now: nothing is written. */
async function replayOf(tx: EntityManager, entitlement: Entitlement, walletId: string): Promise<RewardRedemption> {
  const [entry]: Array<{ recorded_at: Date; rates: Record<string, string> }> = await tx.query(
    'SELECT recorded_at, rates FROM journal_entry WHERE id = $1',
    [entitlement.entryId],
  );
  const consumed: Array<{ issuer_partner_id: string; amount: string }> = await tx.query(
    `SELECT issuer_partner_id, sum(amount)::text AS amount FROM lot_consumption WHERE entry_id = $1
     GROUP BY issuer_partner_id ORDER BY issuer_partner_id`,
    [entitlement.entryId],
  );
  const [wallet]: Array<{ balance: string }> = await tx.query(
    'SELECT balance::text FROM account_balance WHERE account_id = $1 AND shard = 0',
    [walletId],
  );
  const price = entitlement.pricePoints;
  return {
    entryId: entitlement.entryId,
    memberId: entitlement.memberId,
    amount: price.toString(),
    balance: wallet!.balance,
    recordedAt: new Date(entry!.recorded_at).toISOString(),
    postings: [
      { account: `member:${entitlement.memberId}:CP:wallet`, amount: (-price).toString() },
      { account: `partner:${entitlement.partnerId}:CP:redemption`, amount: price.toString() },
    ],
    rates: entry!.rates,
    consumed: consumed.map((row) => ({ issuerPartnerId: row.issuer_partner_id, amount: row.amount })),
    rewardId: entitlement.rewardId,
    entitlement: entitlementJson(entitlement),
    replayed: true,
  };
}

/** A member's own redemptions, with a member token (docs/rewards.md). */
export class MemberRedemptions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly tiers: TierService,
    private readonly counterShards: number,
  ) {}

  /**
   * Redeems `rewardId` for the member behind the token. The member's `idempotencyKey` makes a
   * retry safe: the same key for the same reward answers the original redemption (replayed), for
   * another reward IdempotencyConflict; the key is unique per member in the database too.
   */
  async redeem(
    member: { partnerId: string; memberRef: string },
    rewardId: string,
    idempotencyKey: string,
  ): Promise<RewardRedemption | OpError<'redeemReward'>> {
    if (!IDEMPOTENCY_KEY.test(idempotencyKey))
      return fail(ErrorCode.INVALID_INPUT, 'idempotencyKey: 1 to 128 printable ASCII characters, no spaces');
    return withTransaction(this.dataSource, (tx) =>
      redeemReward(tx, {
        rewardId,
        member: { partnerId: member.partnerId, ref: member.memberRef },
        requestedBy: member.partnerId,
        jti: null,
        idempotencyKey,
        orderRef: null,
        entryId: newId(),
        now: this.clock.now(),
        counterShards: this.counterShards,
        tiers: this.tiers,
      }),
    );
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
