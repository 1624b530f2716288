import type { DataSource, EntityManager } from 'typeorm';
import { REAL_TIME, type Clock, type TimeScope } from '../common/clock';
import { newId } from '../common/ids';
import { withTransaction } from '../db/with-transaction';
import { recordEvent } from '../outbox/outbox';
import type { ContractService } from '../partners/contract.service';
import { CP, ensureAccount, HUB_OWNER } from '../ledger/ledger.repository';
import { lockFloored, postEntry } from '../ledger/kernel';
import { assert } from '../common/assert';
import { isDomainError } from '../common/errors';

export interface ExpiryRun {
  /** False when another process holds the expiry lock: that run does the work. */
  ran: boolean;
  walletsTouched: number;
  lotsExpired: number;
  pointsExpired: bigint;
  entriesMade: number;
}

/** Arbitrary but fixed: exactly one expiry run at a time across every hub instance. */
const EXPIRY_LOCK = 7_301_003;
/** Wallets read per round; each wallet is then its own transaction. */
const WALLET_BATCH = 200;

/**
 * Expires lots past their `expires_at` into the hub's breakage account (docs/ledger.md, "Rules"): per
 * wallet and per issuer one `expire` entry, wallet −remaining, hub.breakage +remaining, each lot
 * emptied with a consumption record that names no partner. Idempotent (an emptied lot is never
 * taken again) and safe to start from two processes at once: an advisory lock lets one run work
 * and the other skip. The job queue runs the scheduled job once at a time already, but a run that
 * outlasts its interval, `runExpiry` and `npm run expire` can still meet one, so the lock stays
 * (the wallet row lock would keep the result exact even without it).
 */
export class ExpiryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly contracts: ContractService,
    private readonly clock: Clock,
    private readonly counterShards: number,
  ) {}

  /**
   * Expires the lots of the members of `scope` due at `now`: by default the members on real time at the
   * hub's clock (the scheduled job, the CLI). A test clock's advance passes its scope and its time; its
   * runs take the lock of that clock instead of the hub's, so they never wait for (nor skip) real time.
   */
  async run(scope: TimeScope = REAL_TIME, now: Date = this.clock.now()): Promise<ExpiryRun> {
    const result: ExpiryRun = { ran: false, walletsTouched: 0, lotsExpired: 0, pointsExpired: 0n, entriesMade: 0 };
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // Real time keeps its fixed key; a test clock's key is derived from its id.
      const lockSql = scope.testClockId === null ? '$1::bigint' : "hashtextextended('expiry:' || $2::text, $1::bigint)";
      const lockArgs = scope.testClockId === null ? [EXPIRY_LOCK] : [EXPIRY_LOCK, scope.testClockId];
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock(${lockSql}) AS locked`, lockArgs);
      if (!locked) return result;
      try {
        result.ran = true;
        for (;;) {
          const wallets: Array<{ account_id: string }> = await runner.query(
            `SELECT DISTINCT l.account_id FROM lot l JOIN account a ON a.id = l.account_id
             WHERE l.remaining > 0 AND l.expires_at <= $1 AND member_test_clock(a.owner_id) IS NOT DISTINCT FROM $3::uuid LIMIT $2`,
            [now, WALLET_BATCH, scope.testClockId],
          );
          if (wallets.length === 0) break;
          for (const { account_id: walletId } of wallets) {
            const expired = await withTransaction(this.dataSource, (tx) => this.expireWallet(tx, walletId, now));
            result.walletsTouched += 1;
            result.lotsExpired += expired.lots;
            result.pointsExpired += expired.points;
            result.entriesMade += expired.entries;
          }
        }
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${lockSql})`, lockArgs);
      }
    } finally {
      await runner.release();
    }
    return result;
  }

  private async expireWallet(tx: EntityManager, walletId: string, now: Date): Promise<{ lots: number; points: bigint; entries: number }> {
    await lockFloored(tx, [walletId]);
    const [wallet]: Array<{ member_id: string }> = await tx.query('SELECT owner_id AS member_id FROM account WHERE id = $1', [walletId]);
    const lots: Array<{ id: string; issuer_partner_id: string; remaining: string }> = await tx.query(
      `SELECT id, issuer_partner_id, remaining FROM lot WHERE account_id = $1 AND remaining > 0 AND expires_at <= $2
       ORDER BY expires_at, issued_at, id`,
      [walletId, now],
    );
    if (lots.length === 0) return { lots: 0, points: 0n, entries: 0 };
    const byIssuer = new Map<string, typeof lots>();
    for (const lot of lots) byIssuer.set(lot.issuer_partner_id, [...(byIssuer.get(lot.issuer_partner_id) ?? []), lot]);
    const breakage = await ensureAccount(tx, 'hub', HUB_OWNER, CP, 'breakage');
    const issuers = [...byIssuer.keys()];
    const contracts = await this.contracts.inForce(tx, issuers, now);
    let points = 0n;
    for (const [index, issuer] of issuers.entries()) {
      const issuerLots = byIssuer.get(issuer)!;
      const total = issuerLots.reduce((sum, lot) => sum + BigInt(lot.remaining), 0n);
      const contract = contracts[index];
      const entryId = newId();
      const posted = await postEntry(tx, {
        id: entryId,
        type: 'expire',
        partnerId: issuer,
        jti: null,
        memberId: wallet!.member_id,
        orderRef: null,
        occurredAt: now,
        recordedAt: now,
        requestHash: null,
        rates: contract ? { contractId: contract.id, breakageShare: contract.breakageShare } : {},
        postings: [
          { accountId: walletId, asset: CP, amount: -total, floored: true },
          { accountId: breakage.id, asset: CP, amount: total, floored: false },
        ],
        lots: {
          change: {
            reason: 'expire',
            changes: issuerLots.map((lot) => ({
              lotId: lot.id,
              accountId: walletId,
              issuerPartnerId: issuer,
              consumerPartnerId: null,
              amount: BigInt(lot.remaining),
            })),
          },
        },
        counterShards: this.counterShards,
      });
      // Expired points were not spendable, so taking them never lowers what the member can spend.
      assert(!isDomainError(posted), `expiry entry ${entryId} was refused`);
      await recordEvent(tx, {
        type: 'points.expired',
        partnerId: issuer,
        memberId: wallet!.member_id,
        occurredAt: now,
        data: {
          entryId,
          asset: CP,
          amount: total.toString(),
          balance: String(posted.balances.get(walletId)),
          lots: String(issuerLots.length),
        },
      });
      points += total;
    }
    return { lots: lots.length, points, entries: issuers.length };
  }
}
