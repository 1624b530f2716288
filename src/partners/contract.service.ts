import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { decimalText, parseDecimal } from '../common/decimal';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { withTransaction } from '../db/with-transaction';
import { readPageCursors, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { defaultTerms, resolveTerms, type ContractInput, type ContractTerms } from './contract';

export interface ContractRow extends ContractTerms {
  id: string;
  partnerId: string;
  validFrom: Date;
  createdAt: Date;
}

export interface UnitRow {
  partnerId: string;
  code: string;
  asset: string;
}

export interface RateRow {
  id: string;
  asset: string;
  cpPerPoint: string;
  validFrom: Date;
  createdAt: Date;
}

export type ContractPageRow = ContractRow & { sortKey: string };

/** One page of one partner's contract history. */
export interface HistoryRequest {
  partnerId: string;
  page: Page;
}

/** valid_from|id, the timestamp as PostgreSQL prints it (microseconds kept). */
const HISTORY_CURSOR = /^[0-9][0-9 :.+-]{9,40}\|[0-9]{1,19}$/;

/** How far ahead a contract or rate may be dated; none may be dated in the past (history is kept, not rewritten). */
const FUTURE_DAYS_MAX = 366;
const BACKDATE_TOLERANCE_MS = 60_000;

const CONTRACT_COLUMNS = `id, partner_id, valid_from, currency, issue_price::text, redeem_price::text, breakage_share::text,
  lot_lifetime_months, transfers_allowed, reversal_policy, pending_days, tier_multipliers, funding_mode, net_debit_cap_minor::text, created_at`;

/** A `partner_contract` row as CONTRACT_COLUMNS selects it. */
interface ContractTableRow {
  id: string;
  partner_id: string;
  valid_from: Date;
  currency: string;
  issue_price: string;
  redeem_price: string;
  breakage_share: string;
  lot_lifetime_months: number;
  transfers_allowed: boolean;
  reversal_policy: 'refuse' | 'debt';
  pending_days: number;
  tier_multipliers: Record<string, string>;
  funding_mode: 'postpaid' | 'prepaid';
  net_debit_cap_minor: string | null;
  created_at: Date;
}

/** An `exchange_rate` row. */
interface RateTableRow {
  id: string;
  asset: string;
  cp_per_point: string;
  valid_from: Date;
  created_at: Date;
}

function toContract(row: ContractTableRow): ContractRow {
  return {
    id: String(row.id),
    partnerId: row.partner_id,
    validFrom: row.valid_from,
    currency: row.currency,
    issuePrice: decimalText(row.issue_price),
    redeemPrice: decimalText(row.redeem_price),
    breakageShare: decimalText(row.breakage_share),
    lotLifetimeMonths: row.lot_lifetime_months,
    transfersAllowed: row.transfers_allowed,
    reversalPolicy: row.reversal_policy,
    pendingDays: row.pending_days,
    tierMultipliers: row.tier_multipliers,
    fundingMode: row.funding_mode,
    netDebitCapMinor: row.net_debit_cap_minor ?? null,
    createdAt: row.created_at,
  };
}

const toRate = (row: RateTableRow): RateRow => ({
  id: String(row.id),
  asset: row.asset,
  cpPerPoint: decimalText(row.cp_per_point),
  validFrom: row.valid_from,
  createdAt: row.created_at,
});

/** Partner contracts, program units and exchange rates: effective-dated, append-only, set by the operator. */
export class ContractService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly defaultCurrency: string,
    private readonly tierNames: readonly string[] = [],
  ) {}

  /** The first contract of a new partner, in the registration's transaction. */
  async insertInitial(
    tx: EntityManager,
    partnerId: string,
    input: ContractInput,
  ): Promise<ContractRow | DomainError<ErrorCode.INVALID_INPUT>> {
    const terms = this.resolve(defaultTerms(this.defaultCurrency), input);
    if (isDomainError(terms)) return terms;
    return this.insert(tx, partnerId, this.clock.now(), terms);
  }

  validateInitial(input: ContractInput): DomainError<ErrorCode.INVALID_INPUT> | null {
    const terms = this.resolve(defaultTerms(this.defaultCurrency), input);
    return isDomainError(terms) ? terms : null;
  }

  /** A new version of the contract from `validFrom` (default now); unnamed terms carry over from the one in force then. */
  async setContract(partnerId: string, input: ContractInput, validFrom?: Date | null): Promise<ContractRow | OpError<'setting'>> {
    const from = this.checkValidFrom(validFrom);
    if (isDomainError(from)) return from;
    return withTransaction(this.dataSource, async (tx) => {
      const partner: unknown[] = await tx.query('SELECT id FROM partner WHERE id = $1 FOR NO KEY UPDATE', [partnerId]);
      if (partner.length === 0) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      const [base] = await this.inForce(tx, [partnerId], from);
      const terms = this.resolve(base ?? defaultTerms(this.defaultCurrency), input);
      if (isDomainError(terms)) return terms;
      return this.insert(tx, partnerId, from, terms);
    });
  }

  /** The contracts in force at `at`, one per partner id (null where none is). */
  async inForce(manager: EntityManager | DataSource, partnerIds: readonly string[], at: Date): Promise<Array<ContractRow | null>> {
    const rows: ContractTableRow[] = await manager.query(
      `SELECT DISTINCT ON (partner_id) ${CONTRACT_COLUMNS} FROM partner_contract
       WHERE partner_id = ANY($1::text[]) AND valid_from <= $2 ORDER BY partner_id, valid_from DESC`,
      [partnerIds, at],
    );
    const byPartner = new Map(rows.map((row) => [row.partner_id, toContract(row)]));
    return partnerIds.map((id) => byPartner.get(id) ?? null);
  }

  currentContracts(partnerIds: readonly string[]): Promise<Array<ContractRow | null>> {
    return this.inForce(this.dataSource, partnerIds, this.clock.now());
  }

  /**
   * Pages of contract history, newest validFrom first (future-dated ones included), for many
   * partners at once in one query (a list of partners asks for all of them together); each
   * request has its own partner, page size and cursor. A cursor from elsewhere is that request's
   * error (BAD_USER_INPUT), not the batch's.
   */
  async historyPages(requests: readonly HistoryRequest[]): Promise<Array<Connection<ContractPageRow> | Error>> {
    const { cursors, valid: pages } = readPageCursors(requests, HISTORY_CURSOR);
    const valid = pages.map(({ index, request, after }) => {
      const [validFrom = null, id = null] = after?.split('|') ?? [];
      return { index, partnerId: request.partnerId, validFrom, id, limit: request.page.first + 1 };
    });
    const rows: Array<ContractTableRow & { request: number; sort_key: string }> = await this.dataSource.query(
      `SELECT k.request, c.* FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::bigint[], $5::int[]) AS k(request, partner_id, after_valid_from, after_id, page_limit)
       CROSS JOIN LATERAL (
         SELECT ${CONTRACT_COLUMNS}, valid_from::text || '|' || id AS sort_key FROM partner_contract
         WHERE partner_id = k.partner_id AND (k.after_valid_from IS NULL OR (valid_from, id) < (k.after_valid_from, k.after_id))
         ORDER BY valid_from DESC, id DESC LIMIT k.page_limit
       ) c
       ORDER BY k.request, c.valid_from DESC, c.id DESC`,
      [
        valid.map((v) => v.index),
        valid.map((v) => v.partnerId),
        valid.map((v) => v.validFrom),
        valid.map((v) => v.id),
        valid.map((v) => v.limit),
      ],
    );
    const byRequest = new Map<number, ContractPageRow[]>();
    for (const row of rows) {
      const list = byRequest.get(row.request) ?? [];
      list.push({ ...toContract(row), sortKey: String(row.sort_key) });
      byRequest.set(row.request, list);
    }
    return requests.map((request, index) => {
      const cursor = cursors[index]!;
      if (cursor instanceof Error) return cursor;
      return toConnection(byRequest.get(index) ?? [], request.page, (contract) => contract.sortKey);
    });
  }

  /** Gives a partner its own program unit (once: an asset's name never changes). */
  async setUnit(partnerId: string, code: string): Promise<UnitRow | OpError<'setting'>> {
    if (!/^[A-Z][A-Z0-9_]{0,31}$/.test(code))
      return fail(ErrorCode.INVALID_INPUT, 'a unit code is 1 to 32 of A-Z, 0-9 and _, starting with a letter');
    return withTransaction(this.dataSource, async (tx) => {
      const partner: unknown[] = await tx.query('SELECT id FROM partner WHERE id = $1', [partnerId]);
      if (partner.length === 0) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      const inserted: unknown[] = await tx.query(
        `INSERT INTO partner_unit (partner_id, code, asset) VALUES ($1, $2, $1 || '.' || $2) ON CONFLICT (partner_id) DO NOTHING RETURNING asset`,
        [partnerId, code],
      );
      if (inserted.length === 0) return fail(ErrorCode.INVALID_INPUT, `partner ${partnerId} already has a unit; its name never changes`);
      return { partnerId, code, asset: `${partnerId}.${code}` };
    });
  }

  /** A new exchange rate for the partner's unit from `validFrom` (default now). */
  async setRate(partnerId: string, cpPerPoint: string, validFrom?: Date | null): Promise<RateRow | OpError<'setting'>> {
    const rate = parseDecimal(cpPerPoint);
    if (rate === null || rate.isZero())
      return fail(ErrorCode.INVALID_INPUT, 'cpPerPoint is a positive decimal string, e.g. "0.333333333333"');
    const from = this.checkValidFrom(validFrom);
    if (isDomainError(from)) return from;
    return withTransaction(this.dataSource, async (tx) => {
      const units: Array<{ asset: string }> = await tx.query('SELECT asset FROM partner_unit WHERE partner_id = $1', [partnerId]);
      if (!units[0]) return fail(ErrorCode.NOT_FOUND, `partner ${partnerId} has no program unit; set one first`);
      const rows: RateTableRow[] = await tx.query(
        `INSERT INTO exchange_rate (asset, cp_per_point, valid_from) VALUES ($1, $2, $3) ON CONFLICT (asset, valid_from) DO NOTHING
         RETURNING id, asset, cp_per_point::text, valid_from, created_at`,
        [units[0].asset, decimalText(rate), from],
      );
      if (!rows[0]) return fail(ErrorCode.INVALID_INPUT, `a rate from ${from.toISOString()} exists already`);
      return toRate(rows[0]);
    });
  }

  async units(partnerIds: readonly string[]): Promise<Array<UnitRow | null>> {
    const rows: Array<{ partner_id: string; code: string; asset: string }> = await this.dataSource.query(
      'SELECT partner_id, code, asset FROM partner_unit WHERE partner_id = ANY($1::text[])',
      [partnerIds],
    );
    const byPartner = new Map(rows.map((row) => [row.partner_id, { partnerId: row.partner_id, code: row.code, asset: row.asset }]));
    return partnerIds.map((id) => byPartner.get(id) ?? null);
  }

  /** The rates in force at `at` for these assets (null where none is yet). */
  async ratesInForce(manager: EntityManager | DataSource, assets: readonly string[], at: Date): Promise<Array<RateRow | null>> {
    const rows: RateTableRow[] = await manager.query(
      `SELECT DISTINCT ON (asset) id, asset, cp_per_point::text, valid_from, created_at FROM exchange_rate
       WHERE asset = ANY($1::text[]) AND valid_from <= $2 ORDER BY asset, valid_from DESC`,
      [assets, at],
    );
    const byAsset = new Map(rows.map((row) => [row.asset, toRate(row)]));
    return assets.map((asset) => byAsset.get(asset) ?? null);
  }

  currentRates(assets: readonly string[]): Promise<Array<RateRow | null>> {
    return this.ratesInForce(this.dataSource, assets, this.clock.now());
  }

  /**
   * A validFrom a little in the past (clock skew) starts now instead: starting earlier could put
   * entries already recorded under the previous version inside the new one.
   */
  private checkValidFrom(validFrom: Date | null | undefined): Date | DomainError<ErrorCode.INVALID_INPUT> {
    const now = this.clock.now();
    const from = validFrom ?? now;
    if (from.getTime() < now.getTime() - BACKDATE_TOLERANCE_MS)
      return fail(ErrorCode.INVALID_INPUT, 'validFrom may not lie in the past: history is kept, not rewritten');
    if (from.getTime() > now.getTime() + FUTURE_DAYS_MAX * 86_400_000)
      return fail(ErrorCode.INVALID_INPUT, `validFrom is at most ${FUTURE_DAYS_MAX} days ahead`);
    return from.getTime() < now.getTime() ? now : from;
  }

  /** The terms asked for, in the coalition's one settlement currency: positions, netting and statements are in it. */
  private resolve(base: ContractTerms, input: ContractInput): ContractTerms | DomainError<ErrorCode.INVALID_INPUT> {
    const terms = resolveTerms(base, input, this.tierNames);
    if (isDomainError(terms)) return terms;
    if (terms.currency !== this.defaultCurrency) {
      return fail(
        ErrorCode.INVALID_INPUT,
        `this coalition settles in ${this.defaultCurrency} (DEFAULT_CURRENCY); a contract in ${terms.currency} cannot be netted with the others`,
      );
    }
    return terms;
  }

  private async insert(
    tx: EntityManager,
    partnerId: string,
    validFrom: Date,
    terms: ContractTerms,
  ): Promise<ContractRow | DomainError<ErrorCode.INVALID_INPUT>> {
    const rows: ContractTableRow[] = await tx.query(
      `INSERT INTO partner_contract (partner_id, valid_from, currency, issue_price, redeem_price, breakage_share,
         lot_lifetime_months, transfers_allowed, reversal_policy, pending_days, tier_multipliers, funding_mode, net_debit_cap_minor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (partner_id, valid_from) DO NOTHING RETURNING ${CONTRACT_COLUMNS}`,
      [
        partnerId,
        validFrom,
        terms.currency,
        terms.issuePrice,
        terms.redeemPrice,
        terms.breakageShare,
        terms.lotLifetimeMonths,
        terms.transfersAllowed,
        terms.reversalPolicy,
        terms.pendingDays,
        JSON.stringify(terms.tierMultipliers),
        terms.fundingMode,
        terms.netDebitCapMinor,
      ],
    );
    if (!rows[0]) return fail(ErrorCode.INVALID_INPUT, `a contract from ${validFrom.toISOString()} exists already`);
    return toContract(rows[0]);
  }
}
