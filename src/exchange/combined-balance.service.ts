import { forbidden } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';
import { Exact } from '../common/decimal';
import type { WalletsSummary } from '../members/member-summary';

export interface CombinedBalanceRow {
  totalCp: string;
  assets: Array<{ asset: string; amount: string; cpPerPoint: string | null; cpValue: string | null }>;
  expiringWithin30Days: string;
  ratesAsOf: Date | null;
}

/**
 * One balance across CP and partner units, valued at the rates in force. The wallets and rates are read with
 * the member's other fields in one statement (src/members/member-summary.ts); this values them.
 */
export class CombinedBalanceService {
  /** For the member itself and for staff; a partner sees the member's CP, not its other programs. */
  async forViewer(
    viewer: Viewer,
    memberId: string,
    loadWallets: (memberId: string) => Promise<WalletsSummary>,
  ): Promise<CombinedBalanceRow> {
    if (viewer.kind === 'partner') throw forbidden("a partner sees a member's CP balance, not its other programs");
    return combinedBalance(await loadWallets(memberId));
  }
}

/** Pure: the wallets valued in CP (a unit with no rate in force yet counts for nothing and says so). */
export function combinedBalance({ wallets, expiringWithin30Days }: WalletsSummary): CombinedBalanceRow {
  let total = new Exact(0);
  let ratesAsOf: Date | null = null;
  const assets = wallets.map(({ asset, balance, cpPerPoint, validFrom }) => {
    const rate = asset === 'CP' ? { cpPerPoint: '1', validFrom: null } : cpPerPoint === null ? null : { cpPerPoint, validFrom };
    if (!rate) return { asset, amount: balance, cpPerPoint: null, cpValue: null };
    const value = new Exact(balance).mul(rate.cpPerPoint);
    total = total.plus(value);
    if (rate.validFrom && (!ratesAsOf || rate.validFrom > ratesAsOf)) ratesAsOf = rate.validFrom;
    return { asset, amount: balance, cpPerPoint: rate.cpPerPoint, cpValue: value.toFixed() };
  });
  return { totalCp: total.toFixed(), assets, expiringWithin30Days, ratesAsOf };
}
