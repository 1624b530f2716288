import type { DataSource } from 'typeorm';
import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { InvalidCursor } from '../common/errors';
import { decodeCursor, encodeCursor } from '../common/ids';
import type { Account, AccountKind, EntryType, OwnerKind } from './types';
import { CP } from './ledger.repository';

export interface Page {
  first: number;
  after?: string | null;
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  /** Relay's PageInfo: paging is forward only (first/after), so hasPreviousPage says whether the page starts after a cursor. */
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export interface EntryRow {
  id: string;
  seq: string;
  type: EntryType;
  partnerId: string;
  jti: string | null;
  memberId: string | null;
  orderRef: string | null;
  occurredAt: Date;
  recordedAt: Date;
  rates: Record<string, string>;
  reversesEntryId: string | null;
}

export interface LotRow {
  id: string;
  issuerPartnerId: string;
  amount: bigint;
  remaining: bigint;
  issuedAt: Date;
  expiresAt: Date;
  vestsAt: Date | null;
}

export interface PostingRow {
  entryId: string;
  accountId: string;
  asset: string;
  amount: bigint;
}

export interface LotScope {
  memberId: string;
  issuerPartnerId?: string;
}

export interface EntryFilter {
  memberId?: string;
  partnerId?: string;
  /**
   * Keep the identifiers (jti, orderRef) of this partner's entries only. A member token is signed
   * by one partner, so entries other partners made for the member show what happened, not their
   * references.
   */
  identifiersOf?: string;
  type?: EntryType | null;
  from?: Date | null;
  to?: Date | null;
}

/**
 * Builds a connection from rows fetched with one extra row (which only says there is a next page).
 * A page asked for `after` a cursor has at least that cursor's item before it (cursors are the
 * hub's own, each naming an item it listed), so it has a previous page; the first page has none.
 */
export function toConnection<T>(rows: T[], page: Page, keyOf: (row: T) => string): Connection<T> {
  const edges = rows.slice(0, page.first).map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > page.first,
      hasPreviousPage: page.after !== null && page.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/** The key inside `after`, or null for the first page; a cursor from elsewhere is refused (InvalidCursor). */
export function readCursor(after: string | null | undefined, shape: RegExp): string | null {
  if (after === null || after === undefined) return null;
  const key = decodeCursor(after);
  if (key === null || !shape.test(key)) throw new InvalidCursor();
  return key;
}

/**
 * The cursors of a batch of page requests (for a DataLoader): each request's key inside `after`
 * (null for a first page) or its InvalidCursor, which is that request's error, not the batch's;
 * and the requests whose cursor is valid, with their positions in the batch.
 */
export function readPageCursors<R extends { page: { after?: string | null } }>(
  requests: readonly R[],
  shape: RegExp,
): { cursors: Array<string | null | Error>; valid: Array<{ index: number; request: R; after: string | null }> } {
  const cursors = requests.map((request) => {
    try {
      return readCursor(request.page.after, shape);
    } catch (error) {
      return error as Error;
    }
  });
  const valid = requests.flatMap((request, index) => {
    const after = cursors[index]!;
    return after instanceof Error ? [] : [{ index, request, after }];
  });
  return { cursors, valid };
}

const ENTRY_CURSOR = /^[0-9]{1,19}$/;
/** expires_at|issued_at|id, the timestamps as PostgreSQL prints them (microseconds kept). */
const LOT_CURSOR = /^[0-9][0-9 :.+-]{9,40}\|[0-9][0-9 :.+-]{9,40}\|[0-9]{1,19}$/;

/** Reads of the ledger: keyset-paginated lists, and batched look-ups for DataLoaders. */
export interface HoldRow {
  id: string;
  memberId: string;
  amount: bigint;
  captured: bigint;
  /** `expired` for a pending hold past its expiry: it holds nothing any more. */
  status: 'pending' | 'captured' | 'voided' | 'expired';
  orderRef: string | null;
  createdAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
}

/** A `hold` row as the readers select it. */
interface HoldTableRow {
  id: string;
  member_id: string;
  amount: string;
  captured: string;
  status: 'pending' | 'captured' | 'voided';
  order_ref: string | null;
  created_at: Date;
  expires_at: Date;
  closed_at: Date | null;
}

export class LedgerQueryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** For read services that take a query runner (tiers). */
  get manager(): DataSource {
    return this.dataSource;
  }

  /** What each member can spend now: wallet balance less pending, unexpired holds. */
  async spendableBalances(memberIds: readonly string[]): Promise<bigint[]> {
    const rows: Array<{ owner_id: string; spendable: string }> = await this.dataSource.query(
      `SELECT a.owner_id,
              coalesce((SELECT sum(b.balance) FROM account_balance b WHERE b.account_id = a.id), 0)
              - wallet_reserved(a.id, member_now(a.owner_id, $3)) AS spendable
       FROM account a WHERE a.owner_kind = 'member' AND a.owner_id = ANY($1::text[]) AND a.asset = $2 AND a.kind = 'wallet'`,
      [memberIds, CP, this.clock.now()],
    );
    const byMember = new Map(rows.map((row) => [row.owner_id, BigInt(row.spendable)]));
    return memberIds.map((id) => byMember.get(id) ?? 0n);
  }

  /**
   * CP issued inside a return window and not yet spendable, per member; of one issuer only where
   * the scope names one (a partner sees the pending points it issued, not other partners' sales).
   */
  async pendingBalances(scopes: readonly LotScope[]): Promise<bigint[]> {
    const rows: Array<{ ordinal: string; pending: string }> = await this.dataSource.query(
      `SELECT k.ordinal, coalesce(sum(l.remaining), 0)::text AS pending
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(member_id, issuer_partner_id, ordinal)
       JOIN account a ON a.owner_kind = 'member' AND a.owner_id = k.member_id AND a.asset = $3 AND a.kind = 'wallet'
       JOIN lot l ON l.account_id = a.id AND l.vests_at > member_now(k.member_id, $4) AND l.remaining > 0
         AND (k.issuer_partner_id IS NULL OR l.issuer_partner_id = k.issuer_partner_id)
       GROUP BY k.ordinal`,
      [scopes.map((scope) => scope.memberId), scopes.map((scope) => scope.issuerPartnerId ?? null), CP, this.clock.now()],
    );
    const byOrdinal = new Map(rows.map((row) => [Number(row.ordinal), BigInt(row.pending)]));
    return scopes.map((_, index) => byOrdinal.get(index + 1) ?? 0n);
  }

  /** One of the partner's holds; another partner's is null, like one that does not exist. */
  async holdOfPartnerOrNull(partnerId: string, holdId: string): Promise<HoldRow | null> {
    if (!UUID_PATTERN.test(holdId)) return null;
    // Past its time at the member's now: the hub's, or the member's test clock's (docs/sandbox.md).
    const rows: Array<HoldTableRow & { past: boolean }> = await this.dataSource.query(
      `SELECT id, member_id, amount, captured, status, order_ref, created_at, expires_at, closed_at,
              expires_at <= member_now(member_id::text, $3) AS past
       FROM hold WHERE id = $1 AND partner_id = $2`,
      [holdId, partnerId, this.clock.now()],
    );
    const row = rows[0];
    if (!row) return null;
    const expired = row.status === 'pending' && row.past;
    return {
      id: row.id,
      memberId: row.member_id,
      amount: BigInt(row.amount),
      captured: BigInt(row.captured),
      status: expired ? 'expired' : row.status,
      orderRef: row.order_ref,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      // A hold past its time closed then, whether the hold-expiry job has marked it yet or not.
      closedAt: expired ? row.expires_at : row.closed_at,
    };
  }

  /** Journal entries, newest first, by any combination of member, partner, type and time. */
  async entries(filter: EntryFilter, page: Page): Promise<Connection<EntryRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.memberId) {
      // A member's entries include transfers it received.
      params.push(filter.memberId);
      where.push(`(member_id = $${params.length} OR counter_member_id = $${params.length})`);
    }
    if (filter.partnerId) add('partner_id = ?', filter.partnerId);
    if (filter.type) add('type = ?', filter.type);
    if (filter.from) add('recorded_at >= ?', filter.from);
    if (filter.to) add('recorded_at < ?', filter.to);
    const after = readCursor(page.after, ENTRY_CURSOR);
    if (after) add('seq < ?', after);
    params.push(page.first + 1);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT id, seq, type, partner_id, jti, member_id, order_ref, occurred_at, recorded_at, rates, reverses_entry_id FROM journal_entry
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    const shown = (row: Record<string, unknown>) => filter.identifiersOf === undefined || row.partner_id === filter.identifiersOf;
    const entries = rows.map((row) => ({
      id: row.id as string,
      seq: row.seq as string,
      type: row.type as EntryType,
      partnerId: row.partner_id as string,
      jti: shown(row) ? (row.jti as string) : null,
      memberId: row.member_id as string | null,
      orderRef: shown(row) ? (row.order_ref as string | null) : null,
      occurredAt: row.occurred_at as Date,
      recordedAt: row.recorded_at as Date,
      rates: row.rates as Record<string, string>,
      reversesEntryId: row.reverses_entry_id as string | null,
    }));
    return toConnection(entries, page, (entry) => entry.seq);
  }

  /** A member's CP lots, soonest to expire first (the order in which they are spent); optionally one issuer's only. */
  async memberLots(scope: LotScope, includeSpent: boolean, page: Page): Promise<Connection<LotRow & { sortKey: string }>> {
    const [expiresAt, issuedAt, id] = readCursor(page.after, LOT_CURSOR)?.split('|') ?? [null, null, null];
    const rows: Array<Record<string, string | Date>> = await this.dataSource.query(
      `SELECT l.id, l.issuer_partner_id, l.amount, l.remaining, l.issued_at, l.expires_at, l.vests_at,
              l.expires_at::text || '|' || l.issued_at::text || '|' || l.id AS sort_key
       FROM lot l JOIN account a ON a.id = l.account_id
       WHERE a.owner_kind = 'member' AND a.owner_id = $1 AND a.asset = $2 AND a.kind = 'wallet'
         AND ($3 OR l.remaining > 0)
         AND ($4::timestamptz IS NULL OR (l.expires_at, l.issued_at, l.id) > ($4::timestamptz, $5::timestamptz, $6::bigint))
         AND ($7::text IS NULL OR l.issuer_partner_id = $7)
       ORDER BY l.expires_at, l.issued_at, l.id LIMIT $8`,
      [scope.memberId, CP, includeSpent, expiresAt, issuedAt, id, scope.issuerPartnerId ?? null, page.first + 1],
    );
    const lots = rows.map((row) => ({
      id: String(row.id),
      issuerPartnerId: String(row.issuer_partner_id),
      amount: BigInt(String(row.amount)),
      remaining: BigInt(String(row.remaining)),
      issuedAt: row.issued_at as Date,
      expiresAt: row.expires_at as Date,
      vestsAt: (row.vests_at as Date | null) ?? null,
      sortKey: String(row.sort_key),
    }));
    return toConnection(lots, page, (lot) => lot.sortKey);
  }

  async walletBalances(memberIds: readonly string[]): Promise<bigint[]> {
    const rows: Array<{ owner_id: string; balance: string }> = await this.dataSource.query(
      `SELECT a.owner_id, coalesce(sum(b.balance), 0) AS balance FROM account a
       LEFT JOIN account_balance b ON b.account_id = a.id
       WHERE a.owner_kind = 'member' AND a.owner_id = ANY($1::text[]) AND a.asset = $2 AND a.kind = 'wallet'
       GROUP BY a.owner_id`,
      [memberIds, CP],
    );
    const byMember = new Map(rows.map((row) => [row.owner_id, BigInt(row.balance)]));
    return memberIds.map((id) => byMember.get(id) ?? 0n);
  }

  async postingsByEntry(entryIds: readonly string[]): Promise<PostingRow[][]> {
    const rows: Array<{ entry_id: string; account_id: string; asset: string; amount: string }> = await this.dataSource.query(
      'SELECT entry_id, account_id, asset, amount FROM posting WHERE entry_id = ANY($1::uuid[]) ORDER BY id',
      [entryIds],
    );
    const byEntry = new Map<string, PostingRow[]>();
    for (const row of rows) {
      const list = byEntry.get(row.entry_id) ?? [];
      list.push({ entryId: row.entry_id, accountId: row.account_id, asset: row.asset, amount: BigInt(row.amount) });
      byEntry.set(row.entry_id, list);
    }
    return entryIds.map((id) => byEntry.get(id) ?? []);
  }

  async accounts(ids: readonly string[]): Promise<Array<Account | Error>> {
    const rows: Array<{ id: string; owner_kind: OwnerKind; owner_id: string; asset: string; kind: AccountKind; created_at: Date }> =
      await this.dataSource.query('SELECT id, owner_kind, owner_id, asset, kind, created_at FROM account WHERE id = ANY($1::bigint[])', [
        ids,
      ]);
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    return ids.map((id) => {
      const row = byId.get(id);
      if (!row) return new Error(`no account ${id}`);
      return {
        id,
        ownerKind: row.owner_kind,
        ownerId: row.owner_id,
        asset: row.asset,
        kind: row.kind,
        createdAt: row.created_at,
      };
    });
  }
}
