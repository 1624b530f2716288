import type { DataSource, EntityManager } from 'typeorm';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import type { Viewer } from '../common/viewer';
import { readCursor, toConnection, type Connection } from '../ledger/ledger-query.service';

/**
 * Entitlements (docs/rewards.md): what a redemption gives the member, a single-use voucher code
 * with an expiry. issued → used (the providing partner's signed `use_entitlement`), or, unused at
 * its expiry, → refunded (policy `full`: a `reward_refund` entry, refunds.ts) or → expired (`none`).
 */
export type EntitlementStatus = 'issued' | 'used' | 'expired' | 'refunded';

export interface Entitlement {
  id: string;
  seq: string;
  rewardId: string;
  rewardTitle: string | null;
  /** The providing partner. */
  partnerId: string;
  memberId: string;
  code: string;
  pricePoints: bigint;
  refundPolicy: 'full' | 'none';
  entryId: string;
  requestedBy: string;
  status: EntitlementStatus;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  refundEntryId: string | null;
  closedAt: Date | null;
}

export interface EntitlementRow {
  id: string;
  seq: string;
  reward_id: string;
  title?: string | null;
  partner_id: string;
  member_id: string;
  code: string;
  price_points: string;
  refund_policy: 'full' | 'none';
  entry_id: string;
  requested_by: string;
  status: EntitlementStatus;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  refund_entry_id: string | null;
  closed_at: Date | null;
}

export const ENTITLEMENT_COLUMNS = `id, seq::text, reward_id, partner_id, member_id, code, price_points::text, refund_policy, entry_id,
  requested_by, status, created_at, expires_at, used_at, refund_entry_id, closed_at`;
const QUALIFIED_COLUMNS = ENTITLEMENT_COLUMNS.split(',')
  .map((column) => `n.${column.trim()}`)
  .join(', ');

export function entitlementOf(row: EntitlementRow): Entitlement {
  return {
    id: row.id,
    seq: row.seq,
    rewardId: row.reward_id,
    rewardTitle: row.title ?? null,
    partnerId: row.partner_id,
    memberId: row.member_id,
    code: row.code,
    pricePoints: BigInt(row.price_points),
    refundPolicy: row.refund_policy,
    entryId: row.entry_id,
    requestedBy: row.requested_by,
    status: row.status,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    usedAt: row.used_at === null ? null : new Date(row.used_at),
    refundEntryId: row.refund_entry_id,
    closedAt: row.closed_at === null ? null : new Date(row.closed_at),
  };
}

export const ENTITLEMENT_CODE = /^[A-Z2-7]{26}$/;
const SEQ_CURSOR = /^[0-9]{1,19}$/;

/** What a used entitlement answers (and its receipt signs). */
export interface EntitlementUse {
  memberId: string;
  entitlement: {
    id: string;
    code: string;
    rewardId: string;
    partnerId: string;
    memberId: string;
    status: string;
    expiresAt: string;
    usedAt: string | null;
  };
}

/**
 * The providing partner marks an entitlement used: once, before it expires, only one of its own
 * rewards' (another partner's code is not found, like a code that does not exist). The row lock
 * makes two uses of one code one after the other: the second finds it used.
 */
export async function useEntitlement(
  tx: EntityManager,
  partnerId: string,
  code: string,
  jti: string,
  now: Date,
): Promise<EntitlementUse | OpError<'use_entitlement'>> {
  const [row]: EntitlementRow[] = await tx.query(
    `SELECT ${ENTITLEMENT_COLUMNS} FROM entitlement WHERE code = $1 AND partner_id = $2 FOR UPDATE`,
    [code, partnerId],
  );
  if (!row) return fail(ErrorCode.ENTITLEMENT_NOT_FOUND, `partner ${partnerId} has no entitlement with that code`);
  const entitlement = entitlementOf(row);
  if (entitlement.status === 'used')
    return fail(ErrorCode.ENTITLEMENT_ALREADY_USED, `entitlement ${entitlement.id} was used at ${entitlement.usedAt?.toISOString()}`);
  if (entitlement.status !== 'issued' || entitlement.expiresAt.getTime() <= now.getTime())
    return fail(ErrorCode.ENTITLEMENT_EXPIRED, `entitlement ${entitlement.id} expired at ${entitlement.expiresAt.toISOString()}`);
  await tx.query(`UPDATE entitlement SET status = 'used', used_at = $2, used_jti = $3 WHERE id = $1`, [entitlement.id, now, jti]);
  return {
    memberId: entitlement.memberId,
    entitlement: {
      id: entitlement.id,
      code: entitlement.code,
      rewardId: entitlement.rewardId,
      partnerId: entitlement.partnerId,
      memberId: entitlement.memberId,
      status: 'used',
      expiresAt: entitlement.expiresAt.toISOString(),
      usedAt: now.toISOString(),
    },
  };
}

/** Reads of entitlements, scoped to the viewer. */
export class EntitlementQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** A partner looks up an entitlement of one of its rewards by the code the member shows; null for any other code. */
  async byCodeForPartner(partnerId: string, code: string): Promise<Entitlement | null> {
    if (!ENTITLEMENT_CODE.test(code)) return null;
    const [row]: EntitlementRow[] = await this.dataSource.query(
      `SELECT ${QUALIFIED_COLUMNS}, r.title FROM entitlement n JOIN reward r ON r.id = n.reward_id WHERE n.code = $1 AND n.partner_id = $2`,
      [code, partnerId],
    );
    return row ? entitlementOf(row) : null;
  }

  /**
   * A member's entitlements, newest first: all of them for the member itself and operators, only
   * those of its own rewards for a partner.
   */
  async ofMember(viewer: Viewer, memberId: string, page: { first: number; after?: string | null }): Promise<Connection<Entitlement>> {
    const after = readCursor(page.after, SEQ_CURSOR);
    const partner = viewer.kind === 'partner' ? viewer.partnerId : null;
    const rows: EntitlementRow[] = await this.dataSource.query(
      `SELECT ${QUALIFIED_COLUMNS}, r.title FROM entitlement n JOIN reward r ON r.id = n.reward_id
       WHERE n.member_id = $1 AND ($2::text IS NULL OR n.partner_id = $2) AND ($3::bigint IS NULL OR n.seq < $3)
       ORDER BY n.seq DESC LIMIT $4`,
      [memberId, partner, after, page.first + 1],
    );
    return toConnection(rows.map(entitlementOf), page, (entitlement) => entitlement.seq);
  }
}
