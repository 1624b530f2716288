import { sumBigints } from '../common/bigint';
import { PERIOD_QUERY_SETTINGS } from './lines';
import type { DataSource } from 'typeorm';
import type { StatementService } from './statement.service';
import { computeFigures, type PeriodFigures } from './settlement.service';
import type { FinanceQueryService } from './finance-query.service';
import { toStatement, STATEMENT_COLUMNS, type StatementTableRow } from './statement.service';
import { StatementDigest } from '@coalition-hub/partner-sdk';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ReconciliationReport {
  periodId: string;
  ok: boolean;
  checks: Check[];
  differences: string[];
}

/**
 * Reconciliation of a closed period (docs/settlement.md), from the ledger and what the close stored:
 * 1. the reconciliation identity — Σ partners' net positions = hub revenue (spread, breakage
 *    kept, adjustments) + change in funded liability;
 * 2. every statement's total equals the sum of its lines, and its lines hash to the signed digest;
 * 3. the period recomputes from the ledger exactly as stored (totals, obligations, transfers);
 * 4. the netting transfers settle every position to zero.
 */
export class ReconciliationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly finance: FinanceQueryService,
    private readonly statements: StatementService,
  ) {}

  async reconcile(periodId: string): Promise<ReconciliationReport | null> {
    const period = await this.finance.period(periodId);
    if (!period) return null;
    if (period.status !== 'closed') {
      return { periodId, ok: false, checks: [], differences: [`period ${periodId} is ${period.status}: only a closed period reconciles`] };
    }
    const figures = await this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      for (const setting of PERIOD_QUERY_SETTINGS) await tx.query(setting);
      return computeFigures(tx, periodId);
    });
    const checks = [
      identity(figures),
      await this.storedMatches(periodId, figures),
      settles(figures),
      ...(await this.statementChecks(periodId)),
    ];
    const differences = checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);
    return { periodId, ok: differences.length === 0, checks, differences };
  }

  private async storedMatches(periodId: string, figures: PeriodFigures): Promise<Check> {
    const stored = {
      totals: await this.dataSource.query(
        'SELECT partner_id, kind, points::text, money_minor::text, lines FROM settlement_total WHERE period_id = $1 ORDER BY partner_id, kind',
        [periodId],
      ),
      obligations: await this.dataSource.query(
        `SELECT issuer_partner_id, consumer_partner_id, points::text, funded_minor::text FROM settlement_obligation
         WHERE period_id = $1 ORDER BY issuer_partner_id, consumer_partner_id`,
        [periodId],
      ),
      transfers: await this.dataSource.query(
        'SELECT payer, payee, amount_minor::text FROM settlement_transfer WHERE period_id = $1 ORDER BY position',
        [periodId],
      ),
    };
    const recomputed = {
      totals: figures.totals.map((total) => ({
        partner_id: total.partnerId,
        kind: total.kind,
        points: total.points.toString(),
        money_minor: total.moneyMinor.toString(),
        lines: total.lines,
      })),
      obligations: figures.obligations.map((row) => ({
        issuer_partner_id: row.issuer,
        consumer_partner_id: row.consumer,
        points: row.points.toString(),
        funded_minor: row.fundedMinor.toString(),
      })),
      transfers: figures.transfers.map((row) => ({ payer: row.payer, payee: row.payee, amount_minor: row.amountMinor.toString() })),
    };
    const differing = (['totals', 'obligations', 'transfers'] as const).filter(
      (part) => JSON.stringify(stored[part]) !== JSON.stringify(recomputed[part]),
    );
    return {
      name: 'recomputes identically',
      ok: differing.length === 0,
      detail:
        differing.length === 0
          ? 'totals, obligations and transfers recompute from the ledger as stored'
          : `differs: ${differing.join(', ')}`,
    };
  }

  private async statementChecks(periodId: string): Promise<Check[]> {
    const rows: StatementTableRow[] = await this.dataSource.query(
      `SELECT ${STATEMENT_COLUMNS} FROM statement WHERE period_id = $1 ORDER BY partner_id`,
      [periodId],
    );
    const totals: Array<{ partner_id: string; net: string; lines: string }> = await this.dataSource.query(
      'SELECT partner_id, sum(money_minor)::text AS net, sum(lines)::text AS lines FROM settlement_total WHERE period_id = $1 GROUP BY partner_id',
      [periodId],
    );
    const checks: Check[] = [];
    for (const statement of rows.map(toStatement)) {
      const digest = new StatementDigest();
      let lineSum = 0n;
      let lineCount = 0n;
      let totalsNet = '';
      await this.statements.stream(
        statement,
        {
          header: (header) => void digest.header(header),
          line: (line) => {
            digest.line(line);
            lineSum += BigInt(line.moneyMinor);
            lineCount += 1n;
          },
          totals: (summed) => {
            digest.totals(summed);
            totalsNet = summed.netMinor;
          },
        },
        { recompute: true },
      );
      const stored = totals.find((row) => row.partner_id === statement.partnerId);
      const problems: string[] = [];
      if (lineSum !== statement.netMinor || totalsNet !== statement.netMinor.toString())
        problems.push(`lines sum to ${lineSum}, statement says ${statement.netMinor}`);
      if (lineCount !== statement.lineCount) problems.push(`${lineCount} lines, statement says ${statement.lineCount}`);
      if (!stored || stored.net !== statement.netMinor.toString())
        problems.push(`position net ${stored?.net ?? 'missing'} vs statement ${statement.netMinor}`);
      const computed = digest.digest();
      if (computed !== statement.digest) problems.push(`lines hash to ${computed}, signed digest is ${statement.digest}`);
      checks.push({
        name: `statement ${statement.partnerId}`,
        ok: problems.length === 0,
        detail: problems.length === 0 ? `${lineCount} lines sum to ${lineSum}; digest matches` : problems.join('; '),
      });
    }
    const withoutStatement = totals.filter((row) => !rows.some((statement) => statement.partner_id === row.partner_id));
    if (withoutStatement.length > 0) {
      checks.push({
        name: 'statements',
        ok: false,
        detail: `no statement for ${withoutStatement.map((row) => row.partner_id).join(', ')}`,
      });
    }
    return checks;
  }
}

/**
 * The identity of docs/settlement.md: Σ net positions = revenue (spread + breakage kept + adjustments) + change in
 * funded liability. Prepaid partners paid their issues in advance: that money is added to the
 * positions' side (it backs the liability without being settled again).
 */
function identity(figures: PeriodFigures): Check {
  const nets = sumBigints(figures.positions.values());
  const { spreadMinor, breakageKeptMinor, adjustmentsMinor, fundedCreatedMinor, fundedReleasedMinor, prefundedMinor } = figures.hub;
  const revenue = spreadMinor + breakageKeptMinor + adjustmentsMinor;
  const liability = fundedCreatedMinor - fundedReleasedMinor;
  const prefunded = prefundedMinor === 0n ? '' : ` + ${prefundedMinor} prefunded`;
  return {
    name: 'net positions = revenue + liability change',
    ok: nets + prefundedMinor === revenue + liability,
    detail: `${nets}${prefunded} = (${spreadMinor} spread + ${breakageKeptMinor} breakage kept + ${adjustmentsMinor} adjustments) + (${fundedCreatedMinor} funded − ${fundedReleasedMinor} released) = ${revenue + liability}`,
  };
}

function settles(figures: PeriodFigures): Check {
  const left = new Map(figures.positions);
  left.set('HUB', -sumBigints(figures.positions.values()));
  // Participants with something to settle, the hub included.
  const participants = [...left.values()].filter((value) => value !== 0n).length;
  for (const { payer, payee, amountMinor } of figures.transfers) {
    left.set(payer, (left.get(payer) ?? 0n) - amountMinor);
    left.set(payee, (left.get(payee) ?? 0n) + amountMinor);
  }
  const open = [...left].filter(([, value]) => value !== 0n);
  return {
    name: 'transfers settle every position',
    ok: open.length === 0 && figures.transfers.length <= Math.max(participants - 1, 0),
    detail:
      open.length === 0
        ? `${figures.transfers.length} transfers, net ${figures.netMinor} of gross ${figures.grossMinor}`
        : `left open: ${open.map(([who, value]) => `${who} ${value}`).join(', ')}`,
  };
}
