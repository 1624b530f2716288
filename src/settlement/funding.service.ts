import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { productHalfEven } from '../common/decimal';
import { ErrorCode, fail, type DomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { newId } from '../common/ids';
import { limits } from '../config/limits';
import { withTransaction } from '../db/with-transaction';
import { recordEvent } from '../outbox/outbox';
import { ensureAccount, HUB_OWNER } from '../ledger/ledger.repository';
import { lockFloored, postEntry, type EntryPosting } from '../ledger/kernel';
import { assert } from '../common/assert';
import { isDomainError } from '../common/errors';
import type { ContractService } from '../partners/contract.service';

/** The contract terms funding needs. */
export interface FundingTerms {
  currency: string;
  issuePrice: string;
  fundingMode: 'postpaid' | 'prepaid';
  netDebitCapMinor: string | null;
}

/** What CP created for a partner cost it: points × issue price, half to even — exactly the settlement line (lines.ts). */
export function issueMoney(points: bigint, issuePrice: string): bigint {
  return productHalfEven(points, issuePrice);
}

const limited = (terms: FundingTerms) => terms.fundingMode === 'prepaid' || terms.netDebitCapMinor !== null;

/**
 * Funding limits (docs/settlement.md), inside the issuing transaction: the postings that draw the issue's money on a
 * limited partner's funding account (prepaid balance, or post-paid exposure under a cap), after
 * locking that account's single row — so concurrent issues of one limited partner are decided
 * one after the other and can never overdraw it together. A partner without limits (post-paid,
 * no cap: the default) takes no lock and gets no postings.
 */
export async function drawFunding(
  tx: EntityManager,
  partnerId: string,
  terms: FundingTerms,
  points: bigint,
  now: Date,
  /** A wallet the entry credits and has not locked yet: locked first, so every path locks wallet, then funding. */
  walletToLockFirst?: string,
): Promise<EntryPosting[] | DomainError<ErrorCode.FUNDING_LIMIT_EXCEEDED>> {
  if (!limited(terms)) return [];
  if (walletToLockFirst) await lockFloored(tx, [walletToLockFirst]);
  const money = issueMoney(points, terms.issuePrice);
  const prepaid = terms.fundingMode === 'prepaid';
  const account = await ensureAccount(tx, 'partner', partnerId, terms.currency, prepaid ? 'prefunding' : 'exposure');
  await lockFloored(tx, [account.id]);
  const [row]: Array<{ balance: string }> = await tx.query(
    'SELECT balance::text FROM account_balance WHERE account_id = $1 AND shard = 0',
    [account.id],
  );
  const balance = BigInt(row!.balance);
  const floor = prepaid ? 0n : -BigInt(terms.netDebitCapMinor!);
  const headroom = balance - floor;
  if (money > headroom) {
    const what = prepaid
      ? `its prepaid balance is ${balance}`
      : `its unsettled issue money is ${-balance} of a ${terms.netDebitCapMinor} cap`;
    return fail(ErrorCode.FUNDING_LIMIT_EXCEEDED, `${partnerId} cannot issue ${points} CP for ${money} ${terms.currency} minor: ${what}`, {
      headroomMinor: (headroom < 0n ? 0n : headroom).toString(),
      requiredMinor: money.toString(),
    });
  }
  if (money === 0n) return [];
  // At the limit: the same draw again would be refused. The partner hears of it while it can still top up or settle.
  if (headroom - money < money) {
    await recordEvent(tx, {
      type: 'funding.limit_reached',
      partnerId,
      memberId: null,
      occurredAt: now,
      data: {
        currency: terms.currency,
        fundingMode: terms.fundingMode,
        drawnMinor: money.toString(),
        headroomMinor: (headroom - money).toString(),
        netDebitCapMinor: terms.netDebitCapMinor,
      },
    });
  }
  const hub = await ensureAccount(tx, 'hub', HUB_OWNER, terms.currency, 'funding');
  return [
    { accountId: account.id, asset: terms.currency, amount: -money, floored: true },
    { accountId: hub.id, asset: terms.currency, amount: money, floored: false },
  ];
}

export interface FundingStatus {
  partnerId: string;
  fundingMode: 'postpaid' | 'prepaid';
  currency: string;
  /** Prepaid: money paid in and not yet drawn. */
  prepaidBalanceMinor: bigint;
  /** Post-paid: issue money drawn and not yet paid. */
  unsettledMinor: bigint;
  netDebitCapMinor: bigint | null;
  /** What the partner may still issue for; null: no limit. */
  headroomMinor: bigint | null;
}

export interface FundingRecorded {
  entryId: string;
  partnerId: string;
  amountMinor: bigint;
  status: FundingStatus;
}

/** Finance's side: money received from a partner (a prepaid top-up, or a post-paid payment), and each partner's standing. */
export class FundingService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly contracts: ContractService,
    private readonly clock: Clock,
    private readonly counterShards: number,
  ) {}

  /** Records `amountMinor` received from the partner: prepaid, it tops the balance up; post-paid, it pays unsettled issue money. */
  async record(partnerId: string, amountMinor: bigint, reference: string, recordedBy: string): Promise<FundingRecorded | OpError<'fund'>> {
    if (amountMinor <= 0n || amountMinor > limits.amountMax)
      return fail(ErrorCode.INVALID_INPUT, `amountMinor is a whole number from 1 to ${limits.amountMax}`);
    if (reference.trim() === '' || reference.length > limits.referenceLengthMax)
      return fail(ErrorCode.INVALID_INPUT, 'reference names the payment (1 to 128 characters)');
    const now = this.clock.now();
    const [terms] = await this.contracts.inForce(this.dataSource, [partnerId], now);
    if (!terms) return fail(ErrorCode.NOT_FOUND, `there is no partner ${partnerId}`);
    const entryId = await withTransaction(this.dataSource, async (tx) => {
      const account = await ensureAccount(
        tx,
        'partner',
        partnerId,
        terms.currency,
        terms.fundingMode === 'prepaid' ? 'prefunding' : 'exposure',
      );
      return recordFundingEntry(tx, this.counterShards, {
        partnerId,
        accountId: account.id,
        asset: terms.currency,
        amount: amountMinor,
        orderRef: reference,
        now,
        rates: { currency: terms.currency, fundingMode: terms.fundingMode, recordedBy },
      });
    });
    return { entryId, partnerId, amountMinor, status: (await this.status([partnerId]))[0]! };
  }

  async status(partnerIds: readonly string[]): Promise<Array<FundingStatus | null>> {
    const contracts = await this.contracts.inForce(this.dataSource, partnerIds, this.clock.now());
    const rows: Array<{ owner_id: string; kind: string; asset: string; balance: string }> = await this.dataSource.query(
      `SELECT a.owner_id, a.kind, a.asset, b.balance::text FROM account a JOIN account_balance b ON b.account_id = a.id AND b.shard = 0
       WHERE a.owner_kind = 'partner' AND a.owner_id = ANY($1::text[]) AND a.kind IN ('prefunding', 'exposure')`,
      [partnerIds],
    );
    return partnerIds.map((partnerId, index) => {
      const terms = contracts[index];
      if (!terms) return null;
      const balanceOf = (kind: string) =>
        BigInt(rows.find((row) => row.owner_id === partnerId && row.kind === kind && row.asset === terms.currency)?.balance ?? '0');
      const prepaid = balanceOf('prefunding');
      const unsettled = -balanceOf('exposure');
      const cap = terms.netDebitCapMinor === null ? null : BigInt(terms.netDebitCapMinor);
      const headroom = terms.fundingMode === 'prepaid' ? prepaid : cap === null ? null : cap - unsettled;
      return {
        partnerId,
        fundingMode: terms.fundingMode,
        currency: terms.currency,
        prepaidBalanceMinor: prepaid,
        unsettledMinor: unsettled,
        netDebitCapMinor: cap,
        headroomMinor: headroom === null ? null : headroom < 0n ? 0n : headroom,
      };
    });
  }
}

/**
 * At a close (inside its transaction): a capped post-paid partner's exposure held the issue money
 * of the period as it was drawn; once the period is closed its unsettled amount is its net
 * position instead (redemptions at it, refunds and breakage shares counted; nothing if the hub
 * owes it). The difference is released by a `funding` entry, in the period now open. The partner's
 * payment of what it owes frees the rest (recordPartnerFunding).
 */
export async function releaseClosedExposure(
  tx: EntityManager,
  periodId: string,
  positions: ReadonlyMap<string, bigint>,
  now: Date,
  counterShards: number,
): Promise<void> {
  const drawn: Array<{ partner_id: string; account_id: string; asset: string; drawn: string }> = await tx.query(
    `SELECT a.owner_id AS partner_id, a.id::text AS account_id, a.asset, (-sum(p.amount))::text AS drawn
     FROM journal_entry e JOIN posting p ON p.entry_id = e.id JOIN account a ON a.id = p.account_id AND a.kind = 'exposure'
     WHERE e.period_id = $1 AND e.type IN ('issue', 'exchange', 'grant', 'referral', 'stamp_reward')
     GROUP BY a.owner_id, a.id, a.asset ORDER BY a.id`,
    [periodId],
  );
  for (const row of drawn) {
    const net = positions.get(row.partner_id) ?? 0n;
    const release = BigInt(row.drawn) - (net > 0n ? net : 0n);
    if (release === 0n) continue;
    await recordFundingEntry(tx, counterShards, {
      partnerId: row.partner_id,
      accountId: row.account_id,
      asset: row.asset,
      amount: release,
      orderRef: `period ${periodId} closed`,
      now,
      rates: { currency: row.asset, reason: 'closed-period exposure is its net position', periodId },
    });
  }
}

/**
 * A `funding` entry: `amount` into the partner's funding account (prefunding or exposure; its
 * single row is locked by the update), out of the hub's. Money received, or exposure released.
 */
async function recordFundingEntry(
  tx: EntityManager,
  counterShards: number,
  funding: {
    partnerId: string;
    accountId: string;
    asset: string;
    amount: bigint;
    orderRef: string;
    now: Date;
    rates: Record<string, string>;
  },
): Promise<string> {
  const hub = await ensureAccount(tx, 'hub', HUB_OWNER, funding.asset, 'funding');
  const id = newId();
  const posted = await postEntry(tx, {
    id,
    type: 'funding',
    partnerId: funding.partnerId,
    jti: null,
    memberId: null,
    orderRef: funding.orderRef,
    occurredAt: funding.now,
    recordedAt: funding.now,
    requestHash: null,
    rates: funding.rates,
    postings: [
      { accountId: funding.accountId, asset: funding.asset, amount: funding.amount, floored: true },
      { accountId: hub.id, asset: funding.asset, amount: -funding.amount, floored: false },
    ],
    counterShards,
  });
  // Funding only ever adds to the partner's account, so no spendable check can refuse it.
  assert(!isDomainError(posted), `funding entry ${id} was refused`);
  await recordEvent(tx, {
    type: 'funding.recorded',
    partnerId: funding.partnerId,
    memberId: null,
    occurredAt: funding.now,
    data: {
      entryId: id,
      currency: funding.asset,
      amountMinor: funding.amount.toString(),
      reference: funding.orderRef,
      reason: funding.rates.periodId ? 'period-closed' : 'payment',
    },
  });
  return id;
}
