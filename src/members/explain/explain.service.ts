import type { DataSource } from 'typeorm';
import type { Clock } from '../../common/clock';
import { readPageCursors, toConnection, type Connection, type Page } from '../../ledger/ledger-query.service';
import { CP } from '../../ledger/ledger.repository';
import { explainEntry, summarize, type BalanceSummary, type ExplainEntry, type ExplainLine, type ExplainLot } from './phrasing';

/** One page of one member's explanation. `identifiersOf`: the partner whose order references the viewer may see. */
export interface ExplainRequest {
  memberId: string;
  identifiersOf: string;
  page: Page;
}

/** Days ahead the summary counts expiring points over. */
export const EXPIRING_WITHIN_DAYS = 30;

const SEQ_CURSOR = /^[0-9]{1,19}$/;

interface EntryTableRow {
  request: number;
  id: string;
  seq: string;
  type: string;
  partner_id: string;
  partner_name: string;
  order_ref: string | null;
  occurred_at: Date;
  recorded_at: Date;
  rates: Record<string, unknown>;
  reverses_entry_id: string | null;
  reverses_type: string | null;
  reverses_partner_id: string | null;
  reverses_occurred_at: Date | null;
  reverses_order_ref: string | null;
  member_now: Date;
}

interface DetailRow {
  kind: 'posting' | 'credited' | 'taken';
  entry_id: string;
  member_id: string;
  asset: string;
  amount: string;
  lot_id: string | null;
  issuer_partner_id: string | null;
  issuer_name: string | null;
  remaining: string | null;
  issued_at: Date | null;
  expires_at: Date | null;
  vests_at: Date | null;
}

/**
 * Explain a balance (docs/explain.md): a member's journal entries, newest first, each as a sentence
 * with its structured fields, and a summary. A page of any number of members' explanations costs
 * two statements (the entries, then every posting, lot and lot consumption of those entries on the
 * members' wallets); the summaries one more.
 */
export class ExplainService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Pages of several explanations at once (for a DataLoader); a bad cursor is that request's error. */
  async linePages(requests: readonly ExplainRequest[]): Promise<Array<Connection<ExplainLine> | Error>> {
    const { cursors, valid } = readPageCursors(requests, SEQ_CURSOR);
    const entries: EntryTableRow[] =
      valid.length === 0
        ? []
        : await this.dataSource.query(
            `SELECT k.request, e.id, e.seq::text AS seq, e.type, e.partner_id, p.name AS partner_name, e.order_ref, e.occurred_at,
                    e.recorded_at, e.rates, e.reverses_entry_id, o.type AS reverses_type, o.partner_id AS reverses_partner_id,
                    o.occurred_at AS reverses_occurred_at, o.order_ref AS reverses_order_ref,
                    member_now(k.member_id::text, $5) AS member_now
             FROM unnest($1::int[], $2::uuid[], $3::bigint[], $4::int[]) AS k(request, member_id, after_seq, page_limit)
             CROSS JOIN LATERAL (
               SELECT * FROM journal_entry j
               WHERE (j.member_id = k.member_id OR j.counter_member_id = k.member_id) AND (k.after_seq IS NULL OR j.seq < k.after_seq)
               ORDER BY j.seq DESC LIMIT k.page_limit
             ) e
             JOIN partner p ON p.id = e.partner_id
             LEFT JOIN journal_entry o ON o.id = e.reverses_entry_id
             ORDER BY k.request, e.seq DESC`,
            [
              valid.map((v) => v.index),
              valid.map((v) => v.request.memberId),
              valid.map((v) => v.after),
              valid.map((v) => v.request.page.first + 1),
              this.clock.now(),
            ],
          );
    const details = await this.details(entries.map((row) => ({ entryId: row.id, memberId: requests[row.request]!.memberId })));
    const byRequest = new Map<number, ExplainLine[]>();
    for (const row of entries) {
      const request = requests[row.request]!;
      const shown = (partnerId: string | null) => partnerId === request.identifiersOf;
      const own = details.get(`${row.id}|${request.memberId}`) ?? { movements: [], lots: [] };
      const entry: ExplainEntry = {
        entryId: row.id,
        seq: row.seq,
        type: row.type,
        partnerId: row.partner_id,
        partnerName: row.partner_name,
        occurredAt: row.occurred_at,
        recordedAt: row.recorded_at,
        orderRef: shown(row.partner_id) ? row.order_ref : null,
        rates: row.rates ?? {},
        reverses:
          row.reverses_entry_id === null
            ? null
            : {
                entryId: row.reverses_entry_id,
                type: row.reverses_type!,
                occurredAt: row.reverses_occurred_at!,
                orderRef: shown(row.reverses_partner_id) ? row.reverses_order_ref : null,
              },
        ...own,
      };
      const list = byRequest.get(row.request) ?? [];
      list.push(explainEntry(entry, row.member_now));
      byRequest.set(row.request, list);
    }
    return requests.map((request, index) => {
      const after = cursors[index];
      if (after instanceof Error) return after;
      return toConnection(byRequest.get(index) ?? [], request.page, (line) => line.seq);
    });
  }

  /** What each entry did to its member's wallets (postings by asset) and to the member's CP lots, in one statement. */
  private async details(
    keys: ReadonlyArray<{ entryId: string; memberId: string }>,
  ): Promise<Map<string, Pick<ExplainEntry, 'movements' | 'lots'>>> {
    const found = new Map<string, Pick<ExplainEntry, 'movements' | 'lots'>>();
    if (keys.length === 0) return found;
    const rows: DetailRow[] = await this.dataSource.query(
      `WITH k AS (SELECT DISTINCT * FROM unnest($1::uuid[], $2::text[]) AS k(entry_id, member_id)),
       w AS MATERIALIZED (
         SELECT a.id, a.asset, a.owner_id FROM account a
         WHERE a.owner_kind = 'member' AND a.owner_id = ANY($2::text[]) AND a.kind = 'wallet'
       )
       SELECT 'posting' AS kind, p.entry_id, w.owner_id AS member_id, w.asset, sum(p.amount)::text AS amount,
              NULL::text AS lot_id, NULL::text AS issuer_partner_id, NULL::text AS issuer_name, NULL::text AS remaining,
              NULL::timestamptz AS issued_at, NULL::timestamptz AS expires_at, NULL::timestamptz AS vests_at, 0::bigint AS sort
       FROM posting p JOIN w ON w.id = p.account_id JOIN k ON k.entry_id = p.entry_id AND k.member_id = w.owner_id
       WHERE p.entry_id = ANY($1::uuid[])
       GROUP BY p.entry_id, w.owner_id, w.asset
       UNION ALL
       SELECT 'credited', l.entry_id, w.owner_id, w.asset, l.amount::text, l.id::text, l.issuer_partner_id, ip.name, l.remaining::text,
              l.issued_at, l.expires_at, l.vests_at, l.id
       FROM w JOIN lot l ON l.account_id = w.id AND l.entry_id = ANY($1::uuid[])
       JOIN k ON k.entry_id = l.entry_id AND k.member_id = w.owner_id JOIN partner ip ON ip.id = l.issuer_partner_id
       WHERE w.asset = $3
       UNION ALL
       SELECT 'taken', c.entry_id, w.owner_id, w.asset, c.amount::text, l.id::text, l.issuer_partner_id, ip.name, l.remaining::text,
              l.issued_at, l.expires_at, l.vests_at, c.id
       FROM lot_consumption c JOIN lot l ON l.id = c.lot_id JOIN w ON w.id = l.account_id
       JOIN k ON k.entry_id = c.entry_id AND k.member_id = w.owner_id JOIN partner ip ON ip.id = l.issuer_partner_id
       WHERE c.entry_id = ANY($1::uuid[])
       ORDER BY 1, 2, 13, 4`,
      [keys.map((key) => key.entryId), keys.map((key) => key.memberId), CP],
    );
    for (const row of rows) {
      const key = `${row.entry_id}|${row.member_id}`;
      const entry = found.get(key) ?? { movements: [], lots: [] };
      found.set(key, entry);
      const amount = BigInt(row.amount);
      if (row.kind === 'posting') {
        entry.movements.push({ asset: row.asset, amount });
        continue;
      }
      // A negative consumption is a reversed redemption giving points back to the lot.
      const role: ExplainLot['role'] = row.kind === 'credited' ? 'credited' : amount < 0n ? 'returned' : 'taken';
      entry.lots.push({
        lotId: row.lot_id!,
        role,
        issuerPartnerId: row.issuer_partner_id!,
        issuerName: row.issuer_name!,
        amount: amount < 0n ? -amount : amount,
        remaining: BigInt(row.remaining!),
        issuedAt: row.issued_at!,
        expiresAt: row.expires_at!,
        vestsAt: row.vests_at,
      });
    }
    // CP first, then partner units, each in asset order: the headline of an entry that moved both is its CP.
    for (const entry of found.values())
      entry.movements.sort((a, b) => (a.asset === CP ? -1 : b.asset === CP ? 1 : a.asset < b.asset ? -1 : 1));
    return found;
  }

  /** Balance, pending points and points expiring within EXPIRING_WITHIN_DAYS, per member, at each member's now, in one statement. */
  async summaries(memberIds: readonly string[]): Promise<BalanceSummary[]> {
    const rows: Array<{ ordinal: string; balance: string; pending: string; expiring: string; member_now: Date }> =
      await this.dataSource.query(
        `SELECT k.ordinal, coalesce(b.balance, 0)::text AS balance, coalesce(l.pending, 0)::text AS pending,
              coalesce(l.expiring, 0)::text AS expiring, n.member_now
       FROM unnest($1::text[]) WITH ORDINALITY AS k(member_id, ordinal)
       CROSS JOIN LATERAL (SELECT member_now(k.member_id, $3) AS member_now) n
       LEFT JOIN account a ON a.owner_kind = 'member' AND a.owner_id = k.member_id AND a.asset = $2 AND a.kind = 'wallet'
       LEFT JOIN LATERAL (SELECT sum(balance) AS balance FROM account_balance WHERE account_id = a.id) b ON true
       LEFT JOIN LATERAL (
         SELECT sum(remaining) FILTER (WHERE vests_at > n.member_now) AS pending,
                sum(remaining) FILTER (WHERE expires_at <= n.member_now + make_interval(days => $4)) AS expiring
         FROM lot WHERE account_id = a.id AND remaining > 0
       ) l ON true`,
        [memberIds, CP, this.clock.now(), EXPIRING_WITHIN_DAYS],
      );
    const byOrdinal = new Map(rows.map((row) => [Number(row.ordinal), row]));
    return memberIds.map((_, index) => {
      const row = byOrdinal.get(index + 1)!;
      return summarize(BigInt(row.balance), BigInt(row.pending), BigInt(row.expiring), row.member_now, EXPIRING_WITHIN_DAYS);
    });
  }
}
