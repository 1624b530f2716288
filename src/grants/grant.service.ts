import type { DataSource } from 'typeorm';
import { parsePositiveAmount } from '../common/bigint';
import type { Clock } from '../common/clock';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { limits } from '../config/limits';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';

/** A partner's grant policy (docs/grants-and-referrals.md): per month in UTC. */
export interface GrantPolicy {
  partnerId: string;
  /** Points one member may be granted by the partner in a month. */
  memberCapPoints: string;
  /** Grants the partner may make in a month. */
  periodCapGrants: number;
  /** Points the partner may grant in a month, all members together. */
  budgetPoints: string;
  updatedBy: string;
  updatedAt: Date;
}

export interface GrantPolicyInput {
  /** Whole points (the GraphQL Amount scalar parses to a bigint). */
  memberCapPoints: string | bigint;
  periodCapGrants: number;
  /** Whole points (the GraphQL Amount scalar parses to a bigint). */
  budgetPoints: string | bigint;
}

/** One grant as its partner sees it. */
export interface GrantRow {
  entryId: string;
  seq: string;
  memberId: string;
  period: string;
  kind: string;
  reasonCode: string;
  caseReference: string | null;
  note: string | null;
  amount: string;
  grantedAt: Date;
}

/** What a partner has used of its policy in a month. */
export interface GrantUsage {
  period: string;
  grants: number;
  points: string;
}

const SEQ_CURSOR = /^[0-9]{1,19}$/;

interface PolicyRow {
  partner_id: string;
  member_cap_points: string;
  period_cap_grants: number;
  budget_points: string;
  updated_by: string;
  updated_at: Date;
}

const toPolicy = (row: PolicyRow): GrantPolicy => ({
  partnerId: row.partner_id,
  memberCapPoints: row.member_cap_points,
  periodCapGrants: row.period_cap_grants,
  budgetPoints: row.budget_points,
  updatedBy: row.updated_by,
  updatedAt: row.updated_at,
});

/** Grant policies (set by the operator, like contracts) and a partner's own grants. */
export class GrantService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async setPolicy(partnerId: string, input: GrantPolicyInput, operator: string): Promise<GrantPolicy | OpError<'setting'>> {
    const memberCap = parsePositiveAmount(String(input.memberCapPoints), limits.amountMax);
    const budget = parsePositiveAmount(String(input.budgetPoints), limits.amountMax);
    if (memberCap === null)
      return fail(ErrorCode.INVALID_INPUT, 'memberCapPoints is a positive whole number of points', { field: 'memberCapPoints' });
    if (budget === null)
      return fail(ErrorCode.INVALID_INPUT, 'budgetPoints is a positive whole number of points', { field: 'budgetPoints' });
    if (!Number.isSafeInteger(input.periodCapGrants) || input.periodCapGrants < 1 || input.periodCapGrants > 2_147_483_647)
      return fail(ErrorCode.INVALID_INPUT, 'periodCapGrants is a positive whole number', { field: 'periodCapGrants' });
    const [partner]: unknown[] = await this.dataSource.query('SELECT 1 FROM partner WHERE id = $1', [partnerId]);
    if (!partner) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
    const [row]: PolicyRow[] = await this.dataSource.query(
      `INSERT INTO grant_policy (partner_id, member_cap_points, period_cap_grants, budget_points, updated_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (partner_id) DO UPDATE SET member_cap_points = excluded.member_cap_points, period_cap_grants = excluded.period_cap_grants,
         budget_points = excluded.budget_points, updated_by = excluded.updated_by, updated_at = excluded.updated_at
       RETURNING partner_id, member_cap_points::text, period_cap_grants, budget_points::text, updated_by, updated_at`,
      [partnerId, memberCap.toString(), input.periodCapGrants, budget.toString(), operator, this.clock.now()],
    );
    return toPolicy(row!);
  }

  async policyOf(partnerId: string): Promise<GrantPolicy | null> {
    const [row]: PolicyRow[] = await this.dataSource.query(
      `SELECT partner_id, member_cap_points::text, period_cap_grants, budget_points::text, updated_by, updated_at
       FROM grant_policy WHERE partner_id = $1`,
      [partnerId],
    );
    return row ? toPolicy(row) : null;
  }

  /** What the partner has used this month (UTC). */
  async usageOf(partnerId: string): Promise<GrantUsage> {
    const period = this.clock.now().toISOString().slice(0, 7);
    const [row]: Array<{ grants: number; points: string }> = await this.dataSource.query(
      'SELECT grants, points::text FROM grant_budget WHERE partner_id = $1 AND period = $2',
      [partnerId, period],
    );
    return { period, grants: row?.grants ?? 0, points: row?.points ?? '0' };
  }

  /** The partner's own grants, newest first. */
  async grantsOf(partnerId: string, page: Page): Promise<Connection<GrantRow>> {
    const after = readCursor(page.after, SEQ_CURSOR);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT entry_id, seq::text, member_id, period, kind, reason_code, case_reference, note, amount::text, granted_at
       FROM member_grant WHERE partner_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
       ORDER BY seq DESC LIMIT $3`,
      [partnerId, after, page.first + 1],
    );
    const grants: GrantRow[] = rows.map((row) => ({
      entryId: String(row.entry_id),
      seq: String(row.seq),
      memberId: String(row.member_id),
      period: String(row.period),
      kind: String(row.kind),
      reasonCode: String(row.reason_code),
      caseReference: (row.case_reference as string | null) ?? null,
      note: (row.note as string | null) ?? null,
      amount: String(row.amount),
      grantedAt: row.granted_at as Date,
    }));
    return toConnection(grants, page, (grant) => grant.seq);
  }
}
