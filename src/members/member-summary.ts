import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { MemberEntity } from '../db/entities';
import type { Clock } from '../common/clock';
import { DAY_IN_WINDOW, type TierService } from './tiers';

/** What a member read can ask about a member; all parts asked in one request are read by one statement. */
export type SummaryPart = 'balance' | 'spendable' | 'wallets' | 'earned';

export interface SummaryRequest {
  memberId: string;
  part: SummaryPart;
}

/** A member wallet with its value in force (null for CP and for a unit with no rate yet). */
export interface WalletRow {
  asset: string;
  balance: string;
  cpPerPoint: string | null;
  validFrom: Date | null;
}

export interface WalletsSummary {
  wallets: WalletRow[];
  /** CP in lots that expire within 30 days of now. */
  expiringWithin30Days: string;
}

export type SummaryValue = bigint | WalletsSummary;

const DAY_MS = 86_400_000;

/**
 * The columns of each part for the member `m` (and its CP wallet `w`). $2: start of the tier window, $3: now,
 * $4: now + 30 days. Balances come from the maintained balance rows, the tier from the member's earned days
 * (src/members/tiers.ts), lots through their open-lot indexes: none of it grows with the member's history.
 */
const PART_COLUMNS: Record<SummaryPart, string> = {
  balance: `(SELECT coalesce(sum(b.balance), 0) FROM account_balance b WHERE b.account_id = w.id)::text AS balance`,
  // The balance less what wallet_reserved(w.id, now) reserves (holds pending; lots not vested yet or past their expiry and not
  // swept yet), written out so that it is planned with the statement, each part a range of one partial index, rather than
  // planned again on every call of the function.
  spendable: `((SELECT coalesce(sum(b.balance), 0) FROM account_balance b WHERE b.account_id = w.id)
     - (SELECT coalesce(sum(h.amount), 0) FROM hold h WHERE h.wallet_id = w.id AND h.status = 'pending' AND h.expires_at > $3)
     - (SELECT coalesce(sum(l.remaining), 0) FROM lot l WHERE l.account_id = w.id AND l.remaining > 0 AND l.vests_at IS NOT NULL AND l.vests_at > $3)
     - (SELECT coalesce(sum(l.remaining), 0) FROM lot l WHERE l.account_id = w.id AND l.remaining > 0 AND l.expires_at <= $3
          AND (l.vests_at IS NULL OR l.vests_at <= $3)))::text AS spendable`,
  wallets: `(SELECT coalesce(json_agg(json_build_object('asset', x.asset, 'balance', x.balance::text, 'cpPerPoint', r.cp_per_point::text, 'validFrom', r.valid_from)
                      ORDER BY x.asset = 'CP' DESC, x.asset), '[]'::json)
             FROM (SELECT a.asset, coalesce(sum(b.balance), 0) AS balance FROM account a LEFT JOIN account_balance b ON b.account_id = a.id
                   WHERE a.owner_kind = 'member' AND a.owner_id = m.id::text AND a.kind = 'wallet' GROUP BY a.asset) x
             LEFT JOIN LATERAL (SELECT er.cp_per_point, er.valid_from FROM exchange_rate er
                                WHERE er.asset = x.asset AND er.valid_from <= $3 ORDER BY er.valid_from DESC LIMIT 1) r ON x.asset <> 'CP') AS wallets,
            (SELECT coalesce(sum(l.remaining), 0) FROM lot l WHERE l.account_id = w.id AND l.remaining > 0 AND l.expires_at <= $4)::text AS expiring`,
  earned: `(SELECT coalesce(sum(${DAY_IN_WINDOW}), 0) FROM member_earned_day d
            WHERE d.member_id = m.id AND d.day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND d.day <= ($3::timestamptz AT TIME ZONE 'UTC')::date)::text AS earned`,
};

const PART_ORDER: SummaryPart[] = ['balance', 'spendable', 'wallets', 'earned'];

interface SummaryRow {
  member_id: string;
  balance?: string;
  spendable?: string;
  wallets?: Array<{ asset: string; balance: string; cpPerPoint: string | null; validFrom: string | null }>;
  expiring?: string;
  earned?: string;
}

/**
 * A member's balances, wallets and tier amount for the fields of one GraphQL request, in one statement
 * (batched by a DataLoader: the fields of a member resolve side by side), or read along with the member
 * itself when a read starts from a partner's reference (memberByRef, batched across requests).
 */
export class MemberSummaryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tiers: TierService,
    private readonly clock: Clock,
    /** Whether members may live on sandbox test clocks (docs/sandbox.md); else every member is read at the hub's now. */
    private readonly testClocks = false,
  ) {}

  async summaries(requests: readonly SummaryRequest[]): Promise<SummaryValue[]> {
    const parts = PART_ORDER.filter((part) => requests.some((request) => request.part === part));
    const memberIds = [...new Set(requests.map((request) => request.memberId))];
    const rows: SummaryRow[] = await this.dataSource.query(this.statement(parts, 'ids'), [memberIds, ...this.times()]);
    const byMember = new Map(rows.map((row) => [row.member_id, row]));
    return requests.map(({ memberId, part }) => valueOf(byMember.get(memberId), part));
  }

  /**
   * The member behind a partner's reference (null when the reference is not enrolled there), with the
   * given parts of its summary, all in one statement: a member read (`me`, `memberByRef`) looks its
   * member up and reads the fields it asks for in one round trip. The reads of requests that run side
   * by side (that arrived in one turn of the event loop) share that statement: one statement and one
   * round trip for several requests, instead of one each.
   */
  memberByRef(partnerId: string, memberRef: string, parts: readonly SummaryPart[]): Promise<MemberWithSummary | null> {
    return this.byRef.load({ partnerId, memberRef, parts });
  }

  /** Not a cache: each read is answered by the statement of its own batch, at that statement's now. */
  private readonly byRef = new DataLoader<RefRequest, MemberWithSummary | null>((requests) => this.membersByRef(requests), {
    cache: false,
    // After the event loop's poll phase rather than after the current job: every request read off the sockets in that turn.
    batchScheduleFn: (send) => setImmediate(send),
    maxBatchSize: BY_REF_BATCH_MAX,
  });

  private async membersByRef(requests: readonly RefRequest[]): Promise<Array<MemberWithSummary | null>> {
    const parts = PART_ORDER.filter((part) => requests.some((request) => request.parts.includes(part)));
    const keyOf = (partnerId: string, memberRef: string) => JSON.stringify([partnerId, memberRef]);
    const distinct = [...new Map(requests.map((request) => [keyOf(request.partnerId, request.memberRef), request])).values()];
    const rows: RefRow[] = await this.dataSource.query(this.statement(parts, 'refs'), [
      distinct.map((request) => request.partnerId),
      ...this.times(),
      distinct.map((request) => request.memberRef),
    ]);
    const byKey = new Map(rows.map((row) => [keyOf(row.partner_id, row.member_ref), row]));
    // Each request gets objects of its own: nothing read for one request is shared with another.
    return requests.map(({ partnerId, memberRef, parts: asked }) => {
      const row = byKey.get(keyOf(partnerId, memberRef));
      if (!row) return null;
      const member = Object.assign(new MemberEntity(), {
        id: row.member_id,
        emailHash: row.email_hash,
        phoneHash: row.phone_hash,
        createdAt: row.created_at,
      });
      return { member, parts: new Map(asked.map((part) => [part, valueOf(row, part)])) };
    });
  }

  /** $2: start of the tier window, $3: now, $4: now + 30 days. */
  private times(): [Date, Date, Date] {
    const now = this.clock.now();
    return [new Date(now.getTime() - this.tiers.windowDays * DAY_MS), now, new Date(now.getTime() + 30 * DAY_MS)];
  }

  /**
   * The statement for these parts, of the members `$1` (an array of ids) or of the members linked to
   * the partners `$1` by the references `$5` (two arrays, pair by pair). Each combination is its own
   * text, so each is a prepared statement of its own (src/db/prepared.ts), planned once per connection.
   */
  private statement(parts: readonly SummaryPart[], members: 'ids' | 'refs'): string {
    // Each member is read at its own now: the hub's (\$3), or its test clock's (docs/sandbox.md), with the window
    // and the 30 days moved along with it.
    const columns = parts
      .map((part) => `, ${PART_COLUMNS[part]}`)
      .join('')
      .replace(/\$2\b/g, 't.window_start')
      .replace(/\$3\b/g, 't.now')
      .replace(/\$4\b/g, 't.horizon');
    const [memberColumns, from] =
      members === 'ids'
        ? ['', 'unnest($1::uuid[]) AS m(id)']
        : [
            ', l.partner_id, l.member_ref, m.email_hash, m.phone_hash, m.created_at',
            `unnest($1::text[], $5::text[]) AS k(partner_id, member_ref)
      JOIN member_link l ON l.partner_id = k.partner_id AND l.member_ref = k.member_ref JOIN member m ON m.id = l.member_id`,
          ];
    return `SELECT m.id::text AS member_id${memberColumns}${columns}
      FROM ${from}
      CROSS JOIN LATERAL (SELECT ${this.testClocks ? 'member_now(m.id::text, $3)' : '$3::timestamptz'} AS now) mt
      CROSS JOIN LATERAL (SELECT mt.now, mt.now - ($3::timestamptz - $2::timestamptz) AS window_start,
                                 mt.now + ($4::timestamptz - $3::timestamptz) AS horizon) t
      LEFT JOIN account w ON w.owner_kind = 'member' AND w.owner_id = m.id::text AND w.asset = 'CP' AND w.kind = 'wallet'
      -- Every parameter is typed even when the parts asked do not use it.
      WHERE $2::timestamptz IS NOT NULL AND $3::timestamptz IS NOT NULL AND $4::timestamptz IS NOT NULL`;
  }
}

/** Reads by reference of requests running side by side, in one statement: at most this many. */
const BY_REF_BATCH_MAX = 64;

interface RefRequest {
  partnerId: string;
  memberRef: string;
  parts: readonly SummaryPart[];
}

interface RefRow extends SummaryRow {
  partner_id: string;
  member_ref: string;
  email_hash: string | null;
  phone_hash: string | null;
  created_at: Date;
}

/** A member found by reference, with the parts of its summary read along with it. */
export interface MemberWithSummary {
  member: MemberEntity;
  parts: Map<SummaryPart, SummaryValue>;
}

function valueOf(row: SummaryRow | undefined, part: SummaryPart): SummaryValue {
  if (part === 'wallets') {
    return {
      wallets: (row?.wallets ?? []).map((wallet) => ({
        asset: wallet.asset,
        balance: wallet.balance,
        cpPerPoint: wallet.cpPerPoint,
        validFrom: wallet.validFrom === null ? null : new Date(wallet.validFrom),
      })),
      expiringWithin30Days: row?.expiring ?? '0',
    };
  }
  return BigInt(row?.[part] ?? '0');
}
