import type { EntityManager } from 'typeorm';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { CP, ensureAccount } from '../ledger/ledger.repository';
import { findMemberIdByRef } from '../members/member-query.service';
import type { EnrollClaims } from '../common/claims';
import { recordEvent } from '../outbox/outbox';
import { linkReferral, type ReferralRefusal } from '../referrals/referrals';

export interface Enrolled {
  memberId: string;
  memberRef: string;
  /** True when the partner's reference was linked to a member another partner enrolled first. */
  linkedExisting: boolean;
}

/**
 * Enrolls a partner's customer, or links them to the coalition member who already has that
 * verified e-mail or phone hash. Same reference twice returns the same member.
 */
export async function enrollMember(
  tx: EntityManager,
  partnerId: string,
  claims: EnrollClaims,
  now: Date,
): Promise<Enrolled | OpError<'enroll'>> {
  // Refused whenever hashes are sent, match or not, so that the refusal says nothing about who is a member.
  if (claims.emailHash || claims.phoneHash) {
    const [partner]: Array<{ can_link_members: boolean }> = await tx.query('SELECT can_link_members FROM partner WHERE id = $1', [
      partnerId,
    ]);
    if (!partner?.can_link_members) {
      return fail(ErrorCode.MEMBER_LINKING_NOT_ALLOWED, `partner ${partnerId} may not link members by e-mail or phone hash`);
    }
  }
  // Serialises only enrolments of this one reference, so that two at once link to one member.
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`enroll:${partnerId}:${claims.member}`]);
  const existing = await findMemberIdByRef(tx, partnerId, claims.member);
  if (existing) {
    const refused = await referral(tx, partnerId, claims, existing, false, now);
    if (refused) return refused;
    return { memberId: existing, memberRef: claims.member, linkedExisting: false };
  }

  let memberId: string | null = null;
  let linkedExisting = false;
  if (claims.emailHash || claims.phoneHash) {
    const matches: Array<{ id: string }> = await tx.query('SELECT id FROM member WHERE email_hash = $1 OR phone_hash = $2', [
      claims.emailHash,
      claims.phoneHash,
    ]);
    if (matches.length > 1) return fail(ErrorCode.MEMBER_LINK_CONFLICT, 'the e-mail and phone hashes belong to two different members');
    if (matches[0]) {
      memberId = matches[0].id;
      linkedExisting = true;
      const other: Array<{ member_ref: string }> = await tx.query(
        'SELECT member_ref FROM member_link WHERE partner_id = $1 AND member_id = $2',
        [partnerId, memberId],
      );
      if (other[0]) return fail(ErrorCode.MEMBER_LINK_CONFLICT, 'that member is already enrolled here under another reference');
      // Keep the hash the member did not have yet (no one else has it: the search above would have found them).
      await tx.query('UPDATE member SET email_hash = coalesce(email_hash, $2), phone_hash = coalesce(phone_hash, $3) WHERE id = $1', [
        memberId,
        claims.emailHash,
        claims.phoneHash,
      ]);
    }
  }
  if (!memberId) {
    memberId = newId();
    const created: unknown[] = await tx.query(
      'INSERT INTO member (id, email_hash, phone_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id',
      [memberId, claims.emailHash, claims.phoneHash, now],
    );
    // Another partner enrolled the same person a moment ago: ask the partner to retry, which links.
    if (created.length === 0) return fail(ErrorCode.MEMBER_LINK_CONFLICT, 'that e-mail or phone was enrolled concurrently; retry to link');
    await ensureAccount(tx, 'member', memberId, CP, 'wallet');
  }
  // On the hub's clock, like entries and activities: the KPIs' enrolment month (docs/kpis.md).
  await tx.query('INSERT INTO member_link (partner_id, member_ref, member_id, created_at) VALUES ($1, $2, $3, $4)', [
    partnerId,
    claims.member,
    memberId,
    now,
  ]);
  const refused = await referral(tx, partnerId, claims, memberId, !linkedExisting, now);
  if (refused) return refused;
  await recordEvent(tx, {
    type: linkedExisting ? 'member.linked' : 'member.enrolled',
    partnerId,
    memberId,
    occurredAt: now,
    data: { jti: claims.jti, memberRef: claims.member },
  });
  return { memberId, memberRef: claims.member, linkedExisting };
}

/** The referral a referral code asks for (docs/grants-and-referrals.md); a refusal refuses the enrolment. */
function referral(
  tx: EntityManager,
  partnerId: string,
  claims: EnrollClaims,
  memberId: string,
  newMember: boolean,
  now: Date,
): Promise<ReferralRefusal | null> {
  if (claims.referralCode === null) return Promise.resolve(null);
  const { emailHash, phoneHash } = claims;
  return linkReferral(tx, { code: claims.referralCode, memberId, newMember, emailHash, phoneHash, partnerId, now });
}
