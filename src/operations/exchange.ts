import { drawFunding } from '../settlement/funding.service';
import { recordEvents, type NewEvent } from '../outbox/outbox';
import { errors as joseErrors } from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { QUOTE_TYP } from '@coalition-hub/partner-sdk';
import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import type { Clock } from '../common/clock';
import { memberNow } from '../members/test-clocks';
import { Exact } from '../common/decimal';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { pgCode, withTransaction } from '../db/with-transaction';
import { limits } from '../config/limits';
import type { HubKeys } from '../hub-keys/hub-keys';
import { addMonths } from '../ledger/apply-entry';
import { CP, ensureAccount, type AccountRef } from '../ledger/ledger.repository';
import { insufficientBalance, lockFloored, postEntry, type EntryPosting, type LotMoves } from '../ledger/kernel';
import { findMemberIdByRef } from '../members/member-query.service';
import type { ContractService } from '../partners/contract.service';
import { convert, CP_RATE, type Conversion, type Rate } from '../exchange/convert';

/**
 * Exchange between partner programs and CP (docs/ledger.md). A member asks for a quote (the
 * rates in force now, the amounts both ways, the rounding, a hub-signed JWS valid for a short
 * time) and executes it: the quoted rates apply even if rates change meanwhile, once per quote.
 * - X → CP (exchange in): X's points retire into X's pool; CP is created for X (X.issuance), with
 *   a lot of issuer X, as an issue would.
 * - CP → Y (exchange out): CP retire at Y (Y.redemption), lots consumed and attributed as a
 *   redemption at Y would be; Y's points come out of Y's pool.
 * - X → Y: both in one entry, through whole CP (a lot of X made and consumed at Y at once).
 * Rounding: what the member receives rounds down on every leg and only what that needs is taken
 * (see convert.ts); the exact residual is booked in rounding_booking.
 */
export interface QuoteTerms {
  quoteId: string;
  from: string;
  to: string;
  amountRequested: string;
  amountIn: string;
  cpAmount: string;
  amountOut: string;
  rateFrom: string;
  rateTo: string;
  residualCp: string;
  rounding: 'down';
  expiresAt: string;
}

export interface ExchangeResult {
  quoteId: string;
  entryId: string;
  memberId: string;
  from: string;
  to: string;
  amountIn: string;
  amountOut: string;
  cpAmount: string;
  residualCp: string;
  /** The member's balances of `from` and `to` right after. */
  fromBalance: string;
  toBalance: string;
  recordedAt: string;
  replayed: boolean;
}

/** The member's wallets on both sides, and whose units they are (null: CP). */
interface ExchangeSides {
  fromWallet: AccountRef;
  toWallet: AccountRef;
  fromOwner: string | null;
  toOwner: string | null;
}

/** The quoted amounts, as the exchange maths hands them around. */
function conversionOf(terms: QuoteTerms): Conversion {
  return {
    from: terms.from,
    to: terms.to,
    amountRequested: BigInt(terms.amountRequested),
    amountIn: BigInt(terms.amountIn),
    cpAmount: BigInt(terms.cpAmount),
    amountOut: BigInt(terms.amountOut),
    residualCp: terms.residualCp,
  };
}

interface AssetInfo {
  asset: string;
  /** The partner whose unit it is; null for CP. */
  partnerId: string | null;
  rate: Rate;
  rateText: string;
}

export class ExchangeService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly contracts: ContractService,
    private readonly hubKeys: HubKeys,
    private readonly clock: Clock,
    private readonly counterShards: number,
    private readonly quoteSeconds: number,
  ) {}

  async quote(viewer: Viewer, from: string, to: string, amount: bigint): Promise<(QuoteTerms & { quote: string }) | OpError<'quote'>> {
    const memberId = await this.memberOf(viewer);
    if (isDomainError(memberId)) return memberId;
    if (amount <= 0n || amount > limits.amountMax) {
      return fail(ErrorCode.INVALID_AMOUNT, `amount is a whole number from 1 to ${limits.amountMax}`, { amount: amount.toString() });
    }
    if (from === to) return fail(ErrorCode.UNKNOWN_ASSET, 'an exchange goes from one asset to another');
    const now = this.clock.now();
    const assets = await this.assetInfo([from, to], now);
    if (isDomainError(assets)) return assets;
    const allowed = await this.checkCounterparties(
      this.dataSource.manager,
      (viewer as Extract<Viewer, { kind: 'member' }>).partnerId,
      assets,
    );
    if (allowed) return allowed;
    const conversion = convert(from, to, amount, assets[0]!.rate, assets[1]!.rate);
    if (conversion.amountOut <= 0n)
      return fail(ErrorCode.INVALID_AMOUNT, `${amount} ${from} is worth less than one ${to}`, { amount: amount.toString() });
    const terms: QuoteTerms = {
      quoteId: newId(),
      from,
      to,
      amountRequested: conversion.amountRequested.toString(),
      amountIn: conversion.amountIn.toString(),
      cpAmount: conversion.cpAmount.toString(),
      amountOut: conversion.amountOut.toString(),
      rateFrom: assets[0]!.rateText,
      rateTo: assets[1]!.rateText,
      residualCp: conversion.residualCp,
      rounding: 'down',
      expiresAt: new Date(now.getTime() + this.quoteSeconds * 1000).toISOString(),
    };
    const quote = await this.hubKeys.sign(
      QUOTE_TYP,
      memberId,
      { ...terms, jti: terms.quoteId, exp: Math.floor(Date.parse(terms.expiresAt) / 1000) },
      memberId,
    );
    return { ...terms, quote };
  }

  async execute(viewer: Viewer, quoteJws: string): Promise<ExchangeResult | OpError<'exchange'>> {
    const memberId = await this.memberOf(viewer);
    if (isDomainError(memberId)) return memberId;
    const terms = await this.readQuote(quoteJws, memberId);
    if (isDomainError(terms)) return terms;
    const partnerId = (viewer as Extract<Viewer, { kind: 'member' }>).partnerId;
    try {
      return await this.executeQuote(partnerId, memberId, terms, quoteJws);
    } catch (error) {
      // A balance beyond PostgreSQL's bigint is the amount's fault, not a crash.
      if (pgCode(error) === '22003')
        return fail(ErrorCode.INVALID_AMOUNT, 'the resulting balance would exceed the ledger limit', { amount: terms.amountOut });
      throw error;
    }
  }

  private executeQuote(
    partnerId: string,
    memberId: string,
    terms: QuoteTerms,
    quoteJws: string,
  ): Promise<ExchangeResult | OpError<'exchange'>> {
    return withTransaction(this.dataSource, async (tx) => {
      const executedAt = this.clock.now();
      const claimed: unknown[] = await tx.query(
        'INSERT INTO exchange (quote_id, member_id, quote_jws, executed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (quote_id) DO NOTHING RETURNING quote_id',
        [terms.quoteId, memberId, quoteJws, executedAt],
      );
      // The quote lives on real time (its signed exp); the entry on the member's (a sandbox test clock's, docs/sandbox.md).
      const now = await memberNow(tx, memberId, executedAt);
      if (claimed.length === 0) {
        const [done] = await tx.query('SELECT result FROM exchange WHERE quote_id = $1', [terms.quoteId]);
        return { ...(done.result as ExchangeResult), replayed: true };
      }
      const owners = await this.owners(tx, [terms.from, terms.to]);
      const suspended = await this.suspendedAmong(tx, [...owners.values()]);
      if (suspended) return suspended;
      const result = await this.apply(tx, partnerId, memberId, terms, now);
      if (isDomainError(result)) return result;
      await recordEvents(
        tx,
        [...new Set(owners.values())].map((scope) => exchangeEvent(scope, result, now)),
      );
      await tx.query('UPDATE exchange SET entry_id = $2, result = $3 WHERE quote_id = $1', [
        terms.quoteId,
        result.entryId,
        JSON.stringify(result),
      ]);
      return result;
    });
  }

  private async apply(
    tx: EntityManager,
    partnerId: string,
    memberId: string,
    terms: QuoteTerms,
    now: Date,
  ): Promise<ExchangeResult | OpError<'exchange'>> {
    const conversion = conversionOf(terms);
    const owners = await this.owners(tx, [terms.from, terms.to]);
    const sides: ExchangeSides = {
      fromWallet: await ensureAccount(tx, 'member', memberId, terms.from, 'wallet'),
      toWallet: await ensureAccount(tx, 'member', memberId, terms.to, 'wallet'),
      fromOwner: owners.get(terms.from) ?? null,
      toOwner: owners.get(terms.to) ?? null,
    };
    const spendable = await this.lockAndReadSpendable(tx, sides, now);
    if (spendable < conversion.amountIn) return insufficientBalance(spendable, conversion.amountIn, terms.from);

    const entryId = newId();
    const { prices, funding } = await this.settlementPrices(tx, sides, now, conversion.cpAmount);
    if (isDomainError(funding)) return funding;
    const posted = await postEntry(tx, {
      id: entryId,
      type: 'exchange',
      // The entry belongs to the program the points leave (or, for CP → Y, the one they join);
      // the partner whose member token asked is kept in the rates.
      partnerId: sides.fromOwner ?? sides.toOwner ?? partnerId,
      jti: null,
      memberId,
      orderRef: null,
      occurredAt: now,
      recordedAt: now,
      requestHash: null,
      rates: {
        quoteId: terms.quoteId,
        from: terms.from,
        to: terms.to,
        rateFrom: terms.rateFrom,
        rateTo: terms.rateTo,
        residualCp: terms.residualCp,
        askedVia: partnerId,
        ...prices,
      },
      postings: [...(await this.postings(tx, sides, conversion)), ...funding],
      lots: await this.lotMoves(tx, {
        memberId,
        fromOwner: sides.fromOwner,
        toOwner: sides.toOwner,
        conversion,
        now,
        fromWallet: sides.fromWallet,
      }),
      counterShards: this.counterShards,
    });
    if (isDomainError(posted)) return posted;
    await tx.query('INSERT INTO rounding_booking (entry_id, residual_cp) VALUES ($1, $2)', [entryId, terms.residualCp]);
    return {
      quoteId: terms.quoteId,
      entryId,
      memberId,
      from: terms.from,
      to: terms.to,
      amountIn: terms.amountIn,
      amountOut: terms.amountOut,
      cpAmount: terms.cpAmount,
      residualCp: terms.residualCp,
      fromBalance: posted.balances.get(sides.fromWallet.id)!.toString(),
      toBalance: posted.balances.get(sides.toWallet.id)!.toString(),
      recordedAt: now.toISOString(),
      replayed: false,
    };
  }

  /** The prices settlement uses (docs/settlement.md, "Lines and positions"): the CP created for X at X's issue price, the CP retired at Y at Y's redeem price. */
  private async settlementPrices(tx: EntityManager, sides: ExchangeSides, now: Date, cpCreated: bigint) {
    const [fromContract, toContract] = await this.contracts.inForce(tx, [sides.fromOwner ?? '', sides.toOwner ?? ''], now);
    const prices: Record<string, string> = {};
    if (sides.fromOwner && fromContract) Object.assign(prices, { issuePrice: fromContract.issuePrice, currency: fromContract.currency });
    if (sides.toOwner && toContract) Object.assign(prices, { redeemPrice: toContract.redeemPrice, currency: toContract.currency });
    // CP created for X is paid for like an issue: a prepaid or capped X draws on its funding (docs/settlement.md).
    const funding = sides.fromOwner && fromContract ? await drawFunding(tx, sides.fromOwner, fromContract, cpCreated, now) : [];
    return { prices, funding };
  }

  /** Both wallets locked in account order, like every entry; then what the source can spend (less holds, pending and expired points, for CP). */
  private async lockAndReadSpendable(tx: EntityManager, sides: ExchangeSides, now: Date): Promise<bigint> {
    await lockFloored(tx, [sides.fromWallet.id, sides.toWallet.id]);
    const [row]: Array<{ spendable: string }> = await tx.query(
      'SELECT (balance - wallet_reserved(account_id, $2))::text AS spendable FROM account_balance WHERE account_id = $1 AND shard = 0',
      [sides.fromWallet.id, now],
    );
    return BigInt(row!.spendable);
  }

  /** The member's two wallets move; X's points retire and CP is created for X; CP retire at Y and Y's points come out of its pool. */
  private async postings(tx: EntityManager, sides: ExchangeSides, conversion: Conversion): Promise<EntryPosting[]> {
    const { from, to } = conversion;
    const postings: EntryPosting[] = [
      { accountId: sides.fromWallet.id, asset: from, amount: -conversion.amountIn, floored: true },
      { accountId: sides.toWallet.id, asset: to, amount: conversion.amountOut, floored: true },
    ];
    if (sides.fromOwner) {
      postings.push({
        accountId: (await this.account(tx, sides.fromOwner, from, 'native_pool')).id,
        asset: from,
        amount: conversion.amountIn,
        floored: false,
      });
      postings.push({
        accountId: (await this.account(tx, sides.fromOwner, CP, 'issuance')).id,
        asset: CP,
        amount: -conversion.cpAmount,
        floored: false,
      });
    }
    if (sides.toOwner) {
      postings.push({
        accountId: (await this.account(tx, sides.toOwner, CP, 'redemption')).id,
        asset: CP,
        amount: conversion.cpAmount,
        floored: false,
      });
      postings.push({
        accountId: (await this.account(tx, sides.toOwner, to, 'native_pool')).id,
        asset: to,
        amount: -conversion.amountOut,
        floored: false,
      });
    }
    return postings;
  }

  /** CP lots follow the CP: created for the issuer on the way in, consumed at the partner on the way out. */
  private async lotMoves(
    tx: EntityManager,
    move: { memberId: string; fromOwner: string | null; toOwner: string | null; conversion: Conversion; now: Date; fromWallet: AccountRef },
  ): Promise<LotMoves> {
    const { fromOwner, toOwner, conversion, now } = move;
    if (fromOwner) {
      const [contract] = await this.contracts.inForce(tx, [fromOwner], now);
      const cpWallet = await ensureAccount(tx, 'member', move.memberId, CP, 'wallet');
      // X → CP: a lot in the member's CP wallet like an issue's. X → Y: the CP never rest there; their lot is
      // spent at Y at once (the X→Y obligation).
      return {
        create: [
          {
            accountId: cpWallet.id,
            issuerPartnerId: fromOwner,
            amount: conversion.cpAmount,
            issuedAt: now,
            expiresAt: addMonths(now, contract?.lotLifetimeMonths ?? 24),
            ...(toOwner ? { spentAt: toOwner } : {}),
          },
        ],
      };
    }
    if (toOwner)
      return { consume: { accountId: move.fromWallet.id, amount: conversion.cpAmount, consumerPartnerId: toOwner, reason: 'exchange' } };
    return {};
  }

  private async account(
    tx: EntityManager,
    partnerId: string,
    asset: string,
    kind: 'native_pool' | 'issuance' | 'redemption',
  ): Promise<AccountRef> {
    return ensureAccount(tx, 'partner', partnerId, asset, kind);
  }

  private async owners(manager: EntityManager | DataSource, assets: string[]): Promise<Map<string, string>> {
    const rows: Array<{ asset: string; partner_id: string }> = await manager.query(
      'SELECT asset, partner_id FROM partner_unit WHERE asset = ANY($1::text[])',
      [assets],
    );
    return new Map(rows.map((row) => [row.asset, row.partner_id]));
  }

  private async assetInfo(assets: string[], at: Date): Promise<AssetInfo[] | DomainError<ErrorCode.UNKNOWN_ASSET>> {
    const owners = await this.owners(this.dataSource, assets);
    const rates = await this.contracts.ratesInForce(this.dataSource, assets, at);
    const infos: AssetInfo[] = [];
    for (const [index, asset] of assets.entries()) {
      if (asset === CP) {
        infos.push({ asset, partnerId: null, rate: CP_RATE, rateText: '1' });
        continue;
      }
      const rate = rates[index];
      if (!owners.has(asset) || !rate)
        return fail(ErrorCode.UNKNOWN_ASSET, `${asset} is not a partner unit with an exchange rate in force`);
      infos.push({ asset, partnerId: owners.get(asset)!, rate: { cpPerPoint: new Exact(rate.cpPerPoint) }, rateText: rate.cpPerPoint });
    }
    return infos;
  }

  /** The member behind a member token; exchanges are the member's own act. */
  private async memberOf(viewer: Viewer): Promise<string | DomainError<ErrorCode.UNKNOWN_MEMBER>> {
    if (viewer.kind !== 'member') throw forbidden('exchanges are made with a member token');
    const memberId = await findMemberIdByRef(this.dataSource.manager, viewer.partnerId, viewer.memberRef);
    return memberId ?? fail(ErrorCode.UNKNOWN_MEMBER, `no member ${viewer.memberRef} is enrolled at ${viewer.partnerId}`);
  }

  /**
   * The quote's terms if this hub signed it for this member. An expired quote is still read if it
   * was executed already, so a retry after expiry gets the original receipt, not QuoteExpired.
   */
  private async readQuote(
    jws: string,
    memberId: string,
  ): Promise<QuoteTerms | DomainError<ErrorCode.INVALID_QUOTE | ErrorCode.QUOTE_EXPIRED>> {
    let claims: QuoteTerms & { sub?: string; iat?: number };
    let expired = false;
    try {
      claims = (await this.hubKeys.verify(jws, QUOTE_TYP)) as unknown as typeof claims;
    } catch (error) {
      if (!(error instanceof joseErrors.JWTExpired))
        return fail(ErrorCode.INVALID_QUOTE, 'not a quote signed by this hub (tampered, truncated or from elsewhere)');
      // The signature is checked as of the quote's own issue time: only its age is at fault.
      const issuedAt = new Date(Number((error.payload as { iat?: number }).iat ?? 0) * 1000);
      claims = (await this.hubKeys.verify(jws, QUOTE_TYP, issuedAt)) as unknown as typeof claims;
      expired = true;
    }
    if (claims.sub !== memberId) return fail(ErrorCode.INVALID_QUOTE, 'this quote was made for another member');
    if (expired) {
      const done: unknown[] = await this.dataSource.query(
        'SELECT 1 FROM exchange WHERE quote_id = $1 AND member_id = $2 AND result IS NOT NULL',
        [claims.quoteId, memberId],
      );
      if (done.length === 0) return fail(ErrorCode.QUOTE_EXPIRED, 'the quote has expired: ask for a new one');
    }
    return claims;
  }

  /**
   * A member token is signed by one partner: it may move value into or out of that partner's own
   * unit (and CP), not between two other partners' programs. Counterparties must be active.
   */
  private async checkCounterparties(
    manager: Pick<EntityManager, 'query'>,
    viaPartner: string,
    assets: AssetInfo[],
  ): Promise<DomainError<ErrorCode.EXCHANGE_NOT_ALLOWED | ErrorCode.PARTNER_SUSPENDED> | null> {
    const owners = assets.map((asset) => asset.partnerId).filter((owner): owner is string => owner !== null);
    if (!owners.includes(viaPartner)) {
      return fail(
        ErrorCode.EXCHANGE_NOT_ALLOWED,
        `a member token signed by ${viaPartner} exchanges only into or out of ${viaPartner}'s own unit`,
      );
    }
    return this.suspendedAmong(manager, owners);
  }

  private async suspendedAmong(
    manager: Pick<EntityManager, 'query'>,
    partnerIds: string[],
  ): Promise<DomainError<ErrorCode.PARTNER_SUSPENDED> | null> {
    const rows: Array<{ id: string }> = await manager.query(`SELECT id FROM partner WHERE id = ANY($1::text[]) AND status = 'suspended'`, [
      partnerIds,
    ]);
    return rows[0] ? fail(ErrorCode.PARTNER_SUSPENDED, `partner ${rows[0].id} is suspended; its program cannot be exchanged now`) : null;
  }
}

/** One `exchange.executed` for each partner whose unit the exchange moved (docs/events.md). */
function exchangeEvent(partnerId: string, result: ExchangeResult, now: Date): NewEvent {
  return {
    type: 'exchange.executed',
    partnerId,
    memberId: result.memberId,
    occurredAt: now,
    data: {
      entryId: result.entryId,
      quoteId: result.quoteId,
      from: result.from,
      to: result.to,
      amountIn: result.amountIn,
      amountOut: result.amountOut,
      cpAmount: result.cpAmount,
      residualCp: result.residualCp,
      fromBalance: result.fromBalance,
      toBalance: result.toBalance,
    },
  };
}
