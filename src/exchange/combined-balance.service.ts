import type { DataSource } from 'typeorm';
import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import type { Clock } from '../common/clock';
import { Exact } from '../common/decimal';
import type { ContractService } from '../partners/contract.service';

export interface CombinedBalanceRow {
  totalCp: string;
  assets: Array<{ asset: string; amount: string; cpPerPoint: string | null; cpValue: string | null }>;
  expiringWithin30Days: string;
  ratesAsOf: Date | null;
}

const DAY_MS = 86_400_000;

/** One balance across CP and partner units, valued at the rates in force. */
export class CombinedBalanceService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly contracts: ContractService,
    private readonly clock: Clock,
  ) {}

  /** For the member itself and for staff; a partner sees the member's CP, not its other programs. */
  async forViewer(viewer: Viewer, memberId: string): Promise<CombinedBalanceRow> {
    if (viewer.kind === 'partner') throw forbidden("a partner sees a member's CP balance, not its other programs");
    const now = this.clock.now();
    const wallets: Array<{ asset: string; balance: string }> = await this.dataSource.query(
      `SELECT a.asset, coalesce(sum(b.balance), 0)::text AS balance FROM account a LEFT JOIN account_balance b ON b.account_id = a.id
       WHERE a.owner_kind = 'member' AND a.owner_id = $1 AND a.kind = 'wallet' GROUP BY a.asset ORDER BY a.asset = 'CP' DESC, a.asset`,
      [memberId],
    );
    const units = wallets.map((wallet) => wallet.asset).filter((asset) => asset !== 'CP');
    const rates = await this.contracts.ratesInForce(this.dataSource, units, now);
    const rateOf = new Map(units.map((asset, index) => [asset, rates[index]]));
    let total = new Exact(0);
    let ratesAsOf: Date | null = null;
    const assets = wallets.map(({ asset, balance }) => {
      const rate = asset === 'CP' ? { cpPerPoint: '1', validFrom: null } : rateOf.get(asset);
      if (!rate) return { asset, amount: balance, cpPerPoint: null, cpValue: null };
      const value = new Exact(balance).mul(rate.cpPerPoint);
      total = total.plus(value);
      if (rate.validFrom && (!ratesAsOf || rate.validFrom > ratesAsOf)) ratesAsOf = rate.validFrom;
      return { asset, amount: balance, cpPerPoint: rate.cpPerPoint, cpValue: value.toFixed() };
    });
    const [{ expiring }] = await this.dataSource.query(
      `SELECT coalesce(sum(l.remaining), 0)::text AS expiring FROM lot l JOIN account a ON a.id = l.account_id
       WHERE a.owner_kind = 'member' AND a.owner_id = $1 AND a.asset = 'CP' AND a.kind = 'wallet'
         AND l.remaining > 0 AND l.expires_at <= $2`,
      [memberId, new Date(now.getTime() + 30 * DAY_MS)],
    );
    return { totalCp: total.toFixed(), assets, expiringWithin30Days: expiring, ratesAsOf };
  }
}
