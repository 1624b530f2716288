import { postIssuance } from '../operations/issuance-entry';
import type { PurchaseListener } from '../engine/purchase-listeners';
import { randomInt } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';
import { decimalText } from '../common/decimal';
import { ErrorCode, fail, isDomainError, type DomainError } from '../common/errors';
import { newId } from '../common/ids';
import { drawFunding } from '../settlement/funding.service';
import { recordEvents } from '../outbox/outbox';
import type { MovementContext } from '../operations/context';

/**
 * Referrals (docs/grants-and-referrals.md): a member's code, the link a referee's enrolment makes
 * to the member who referred them, and the bonuses the programme's paying partner funds when the
 * referee makes a first qualifying purchase at any partner.
 */

/** Crockford's base32 without look-alikes: 12 characters, 60 random bits. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 12;

export function newReferralCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i += 1) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** The member's referral code, created on first ask; the same code ever after. */
export async function referralCodeOf(tx: EntityManager, memberId: string, now: Date): Promise<string> {
  for (;;) {
    const [existing]: Array<{ code: string }> = await tx.query('SELECT code FROM referral_code WHERE member_id = $1', [memberId]);
    if (existing) return existing.code;
    // A collision of two random codes (one in 2^60) or a concurrent first ask: read again.
    await tx.query('INSERT INTO referral_code (member_id, code, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      memberId,
      newReferralCode(),
      now,
    ]);
  }
}

export interface ReferralProgramme {
  partnerId: string;
  referrerBonus: bigint;
  refereeBonus: bigint;
  capPerReferrer: number;
  updatedBy: string;
  updatedAt: Date;
}

interface ProgrammeRow {
  partner_id: string;
  referrer_bonus: string;
  referee_bonus: string;
  cap_per_referrer: number;
  updated_by: string;
  updated_at: Date;
}

export async function referralProgramme(tx: EntityManager): Promise<ReferralProgramme | null> {
  const [row]: ProgrammeRow[] = await tx.query(
    'SELECT partner_id, referrer_bonus::text, referee_bonus::text, cap_per_referrer, updated_by, updated_at FROM referral_programme',
  );
  return row
    ? {
        partnerId: row.partner_id,
        referrerBonus: BigInt(row.referrer_bonus),
        refereeBonus: BigInt(row.referee_bonus),
        capPerReferrer: row.cap_per_referrer,
        updatedBy: row.updated_by,
        updatedAt: row.updated_at,
      }
    : null;
}

export type ReferralRefusal = DomainError<
  | ErrorCode.UNKNOWN_REFERRAL_CODE
  | ErrorCode.SELF_REFERRAL
  | ErrorCode.CIRCULAR_REFERRAL
  | ErrorCode.REFERRAL_CAP_REACHED
  | ErrorCode.REFERRAL_NOT_ELIGIBLE
>;

export interface ReferralLink {
  code: string;
  /** The enrolled member (new, or linked to the member the partner's hashes found). */
  memberId: string;
  /** Whether the enrolment created the member. */
  newMember: boolean;
  emailHash: string | null;
  phoneHash: string | null;
  partnerId: string;
  now: Date;
}

/**
 * Links a referee to the member whose code they enrolled with, inside the enrolment's transaction.
 * Refused (and the enrolment with it): an unknown code or no programme; the referrer themself
 * (same member, or the e-mail or phone hash of the referrer); a circle (the referee referred the
 * referrer, directly or through others); a referrer at the programme's cap; a member who was
 * referred by someone else, or who already has ledger entries (not a new member). The referrer's
 * referrals are serialised (a transaction-scoped advisory lock), so that two enrolments at once
 * cannot both take the last place under the cap.
 */
export async function linkReferral(tx: EntityManager, link: ReferralLink): Promise<ReferralRefusal | null> {
  const [referrer]: Array<{ member_id: string; email_hash: string | null; phone_hash: string | null }> = await tx.query(
    `SELECT c.member_id, m.email_hash, m.phone_hash FROM referral_code c JOIN member m ON m.id = c.member_id
     WHERE c.code = $1`,
    [link.code],
  );
  if (!referrer) return fail(ErrorCode.UNKNOWN_REFERRAL_CODE, 'no member has that referral code');
  // Serialises the referrals of this one referrer (the cap), as enrolment serialises one reference.
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`referrer:${referrer.member_id}`]);
  const programme = await referralProgramme(tx);
  if (!programme) return fail(ErrorCode.UNKNOWN_REFERRAL_CODE, 'the coalition runs no referral programme');
  const sameHash =
    (link.emailHash !== null && link.emailHash === referrer.email_hash) ||
    (link.phoneHash !== null && link.phoneHash === referrer.phone_hash);
  if (referrer.member_id === link.memberId || sameHash) return fail(ErrorCode.SELF_REFERRAL, 'a member cannot refer themself');
  const [existing]: Array<{ referrer_id: string }> = await tx.query('SELECT referrer_id FROM referral WHERE referee_id = $1', [
    link.memberId,
  ]);
  if (existing) {
    if (existing.referrer_id === referrer.member_id) return null;
    return fail(ErrorCode.REFERRAL_NOT_ELIGIBLE, 'the member was referred by another member already');
  }
  // The referrer's own chain of referrers (each member has at most one): the referee on it closes a circle.
  const [circle]: unknown[] = await tx.query(
    `WITH RECURSIVE up (member_id, depth) AS (
       SELECT referrer_id, 1 FROM referral WHERE referee_id = $1
       UNION ALL
       SELECT r.referrer_id, up.depth + 1 FROM referral r JOIN up ON r.referee_id = up.member_id WHERE up.depth < 1000
     ) SELECT 1 FROM up WHERE member_id = $2 LIMIT 1`,
    [referrer.member_id, link.memberId],
  );
  if (circle) return fail(ErrorCode.CIRCULAR_REFERRAL, 'the member referred the referrer: referrals cannot go round in a circle');
  if (!link.newMember) {
    const [entry]: unknown[] = await tx.query('SELECT 1 FROM journal_entry WHERE member_id = $1 LIMIT 1', [link.memberId]);
    if (entry) return fail(ErrorCode.REFERRAL_NOT_ELIGIBLE, 'only a new member can be referred: this one has ledger entries');
  }
  const [count]: Array<{ n: number }> = await tx.query('SELECT count(*)::int AS n FROM referral WHERE referrer_id = $1', [
    referrer.member_id,
  ]);
  if ((count?.n ?? 0) >= programme.capPerReferrer) {
    return fail(ErrorCode.REFERRAL_CAP_REACHED, `the referrer has referred ${programme.capPerReferrer} members, the programme's cap`, {
      cap: programme.capPerReferrer,
    });
  }
  await tx.query('INSERT INTO referral (referee_id, referrer_id, enrolled_at_partner_id, created_at) VALUES ($1, $2, $3, $4)', [
    link.memberId,
    referrer.member_id,
    link.partnerId,
    link.now,
  ]);
  return null;
}

interface BonusTargets {
  wallet_id: string;
  balance: string;
  counter_id: string;
  contract_id: string;
  currency: string;
  issue_price: string;
  lot_lifetime_months: number;
  pending_days: number;
  funding_mode: 'postpaid' | 'prepaid';
  net_debit_cap_minor: string | null;
}

/**
 * One referral bonus: an entry of type `referral` at the paying partner (its issuance account −n,
 * the member's wallet +n, a lot of issuer P), funded like an issue (docs/grants-and-referrals.md).
 * The member need not be enrolled at the paying partner. Locks the wallet, then P's funding rows.
 */
async function payBonus(
  tx: EntityManager,
  context: BonusContext,
  payingPartnerId: string,
  memberId: string,
  amount: bigint,
  rates: Record<string, string>,
): Promise<{ entryId: string; balance: bigint } | DomainError<ErrorCode.FUNDING_LIMIT_EXCEEDED>> {
  const [t]: BonusTargets[] = await tx.query(
    `SELECT w.id AS wallet_id, b.balance::text, c.id AS counter_id, k.id AS contract_id, k.currency, k.issue_price::text,
            k.lot_lifetime_months, k.pending_days, k.funding_mode, k.net_debit_cap_minor::text
     FROM account w
     JOIN account_balance b ON b.account_id = w.id AND b.shard = 0
     JOIN account c ON c.owner_kind = 'partner' AND c.owner_id = $2 AND c.asset = 'CP' AND c.kind = 'issuance'
     JOIN LATERAL (
       SELECT id, currency, issue_price, lot_lifetime_months, pending_days, funding_mode, net_debit_cap_minor FROM partner_contract
       WHERE partner_id = $2 AND valid_from <= $3 ORDER BY valid_from DESC LIMIT 1
     ) k ON true
     WHERE w.owner_kind = 'member' AND w.owner_id = $1 AND w.asset = 'CP' AND w.kind = 'wallet'
     FOR UPDATE OF b`,
    [memberId, payingPartnerId, context.now],
  );
  assert(t, `member ${memberId} has a wallet and partner ${payingPartnerId} a contract`);
  const issuePrice = decimalText(t.issue_price);
  const funding = await drawFunding(
    tx,
    payingPartnerId,
    { currency: t.currency, issuePrice, fundingMode: t.funding_mode, netDebitCapMinor: t.net_debit_cap_minor },
    amount,
    context.now,
  );
  if (isDomainError(funding)) return funding;
  const entryId = newId();
  const { balance } = await postIssuance(tx, {
    id: entryId,
    type: 'referral',
    partnerId: payingPartnerId,
    jti: null,
    memberId,
    orderRef: null,
    occurredAt: context.now,
    recordedAt: context.now,
    requestHash: null,
    rates: { contractId: String(t.contract_id), currency: t.currency, issuePrice, ...rates },
    amount,
    walletId: String(t.wallet_id),
    counterId: String(t.counter_id),
    funding,
    contract: { lotLifetimeMonths: t.lot_lifetime_months, pendingDays: t.pending_days },
    counterShards: context.counterShards,
    lockedBalance: BigInt(t.balance),
  });
  return { entryId, balance };
}

/**
 * A referee's qualifying purchase (an issue of CP with an order reference, or a purchase activity,
 * at any partner: referralPurchaseListener), inside the purchase's transaction
 * and after its entry. The first one pays both bonuses, once: the referral row is locked and
 * marked qualified in this transaction, so concurrent first purchases pay once (they also queue on
 * the referee's wallet, which the purchase locked first). Should the paying partner's funding not
 * cover a bonus, the purchase still stands: the bonuses are undone to a savepoint and the referral
 * stays pending, to pay at the next qualifying purchase.
 */
export async function onQualifyingPurchase(
  tx: EntityManager,
  context: BonusContext,
  memberId: string,
  partnerId: string,
): Promise<PaidReferral | null> {
  const [pending]: Array<{ referrer_id: string }> = await tx.query(
    'SELECT referrer_id FROM referral WHERE referee_id = $1 AND qualified_at IS NULL FOR UPDATE',
    [memberId],
  );
  if (!pending) return null;
  const programme = await referralProgramme(tx);
  assert(programme, 'a referral is made only under a programme, which is never removed');
  const rates = { referee: memberId, referrer: pending.referrer_id, qualifyingPartnerId: partnerId };
  await tx.query('SAVEPOINT referral_bonus');
  const refereeEntry = await payBonus(tx, context, programme.partnerId, memberId, programme.refereeBonus, { ...rates, role: 'referee' });
  const referrerEntry = isDomainError(refereeEntry)
    ? refereeEntry
    : await payBonus(tx, context, programme.partnerId, pending.referrer_id, programme.referrerBonus, { ...rates, role: 'referrer' });
  if (isDomainError(refereeEntry) || isDomainError(referrerEntry)) {
    await tx.query('ROLLBACK TO SAVEPOINT referral_bonus');
    return null;
  }
  await tx.query('RELEASE SAVEPOINT referral_bonus');
  // The paying partner hears of both bonuses; the member concerned of each is its memberId.
  const bonusEvent = (member: string, role: 'referee' | 'referrer', amount: bigint, entry: { entryId: string; balance: bigint }) => ({
    type: 'referral.bonus_paid' as const,
    partnerId: programme.partnerId,
    memberId: member,
    occurredAt: context.now,
    data: {
      role,
      referee: memberId,
      referrer: pending.referrer_id,
      qualifyingPartnerId: partnerId,
      entryId: entry.entryId,
      asset: 'CP',
      amount: amount.toString(),
      balance: entry.balance.toString(),
    },
  });
  await recordEvents(tx, [
    bonusEvent(memberId, 'referee', programme.refereeBonus, refereeEntry),
    bonusEvent(pending.referrer_id, 'referrer', programme.referrerBonus, referrerEntry),
  ]);
  await tx.query(
    `UPDATE referral SET qualified_at = $2, qualifying_partner_id = $3, paying_partner_id = $4, referee_entry_id = $5, referrer_entry_id = $6
     WHERE referee_id = $1`,
    [memberId, context.now, partnerId, programme.partnerId, refereeEntry.entryId, referrerEntry.entryId],
  );
  return { refereeBonus: programme.refereeBonus, referrerBonus: programme.referrerBonus, refereeBalance: refereeEntry.balance };
}

/** What onQualifyingPurchase needs of the purchase's context. */
type BonusContext = Pick<MovementContext, 'now' | 'counterShards'>;

/** Both bonuses of a referral, paid by the purchase that qualified it. */
export interface PaidReferral {
  refereeBonus: bigint;
  referrerBonus: bigint;
  /** The referee's wallet balance after the bonus. */
  refereeBalance: bigint;
}

/** A purchase activity (docs/loyalty-engine.md) qualifies a pending referral like an issue with an order reference does. */
export const referralPurchaseListener: PurchaseListener = {
  name: 'referrals',
  async onPurchase(tx, purchase) {
    const paid = await onQualifyingPurchase(tx, purchase, purchase.memberId, purchase.partnerId);
    if (!paid) return;
    return {
      notes: [`referral bonus: ${paid.refereeBonus} CP to this member, ${paid.referrerBonus} CP to the member who referred them`],
      balance: paid.refereeBalance,
    };
  },
};
