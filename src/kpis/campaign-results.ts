import type { DataSource } from 'typeorm';
import { decimalText, Exact } from '../common/decimal';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { checkPeriod, monthStart, ratio, type KpiQuery, type Ratio } from './kpi.service';

/** The `kpiCampaigns` query: the same period checks and read-only REPEATABLE READ transaction as `kpis` (kpi.service.ts). */
export class CampaignResultsService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Campaign results (docs/kpis.md, "Campaign results"): the campaigns of the scope running in the
   * period, by id, with what they awarded up to asOf and the purchases of the members they reached,
   * during the campaign and in the equal period before it, and of the members they held out, during it.
   */
  async campaigns(query: KpiQuery, page: Page, now: Date): Promise<Connection<KpiCampaign> | OpError<'kpis'>> {
    const checked = checkPeriod(query, now);
    if (isDomainError(checked)) return checked;
    const after = readCursor(page.after, UUID_CURSOR);
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      if (query.partnerId !== null) {
        const [known]: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [query.partnerId]);
        if (!known) return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${query.partnerId}`);
      }
      const end = Math.min(checked.last, checked.asOfMonth) + 1;
      const rows: CampaignFigures[] = await tx.query(CAMPAIGNS_SQL, [
        query.partnerId,
        query.asOf,
        monthStart(checked.first),
        monthStart(end),
        after,
        page.first + 1,
      ]);
      const campaigns = rows.map((row): KpiCampaign => ({
        campaignId: row.id,
        name: row.name,
        startsAt: row.starts_at,
        endsAt: row.ends_at,
        membersReached: row.reached,
        pointsAwarded: row.points,
        pointsCap: row.points_cap,
        budgetUsed: row.points_cap === null ? null : ratio(row.points, row.points_cap),
        purchasesDuring: row.during,
        purchasesBefore: row.before,
        incrementalPurchasesPerMember: ratio(BigInt(row.during) - BigInt(row.before), row.reached),
        holdoutShare: decimalText(row.holdout_share),
        holdoutMembers: row.held,
        holdoutPurchasesDuring: row.held_during,
        incrementalPurchasesPerMemberVsHoldout: new Exact(row.holdout_share).isZero()
          ? null
          : versusHoldout(BigInt(row.during), BigInt(row.reached), BigInt(row.held_during), BigInt(row.held)),
      }));
      return toConnection(campaigns, page, (campaign) => campaign.campaignId);
    });
  }
}

/**
 * Pr / Nr − Ph / Nh (purchases during the campaign per member reached, less per member held out) as
 * one exact ratio: (Pr·Nh − Ph·Nr) / (Nr·Nh). Its value is null while either group is empty.
 */
export function versusHoldout(reachedPurchases: bigint, reached: bigint, heldPurchases: bigint, held: bigint): Ratio {
  return ratio(reachedPurchases * held - heldPurchases * reached, reached * held);
}

const UUID_CURSOR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface KpiCampaign {
  campaignId: string;
  name: string;
  startsAt: Date;
  /** Its end, or asOf when it was still running then. */
  endsAt: Date;
  membersReached: number;
  pointsAwarded: string;
  pointsCap: string | null;
  budgetUsed: Ratio | null;
  purchasesDuring: string;
  purchasesBefore: string;
  incrementalPurchasesPerMember: Ratio;
  /** The share of members the campaign holds out ("0": no holdout). */
  holdoutShare: string;
  /** Members held out where the campaign would have awarded them points. */
  holdoutMembers: number;
  holdoutPurchasesDuring: string;
  /** During-purchases per member reached − per member held out; null without a holdout. */
  incrementalPurchasesPerMemberVsHoldout: Ratio | null;
}

interface CampaignFigures {
  id: string;
  name: string;
  starts_at: Date;
  ends_at: Date;
  points_cap: string | null;
  reached: number;
  points: string;
  during: string;
  before: string;
  holdout_share: string;
  held: number;
  held_during: string;
}

/**
 * $1 partner (null: coalition), $2 asOf, $3 period start, $4 first month after it, $5 after this campaign id, $6 page size + 1.
 * Awards are the campaign's contributions recorded on activities (at the partner, for a partner) up to asOf;
 * the members held out are those whose activities there name the campaign in `heldOut` (src/engine/activity.service.ts);
 * purchases are those of the members reached (or held out), at the partner (coalition: at the campaign's partners).
 */
const CAMPAIGNS_SQL = `
WITH c AS (
  SELECT id, name, starts_at, least(ends_at, $2) AS ends_at, points_cap, holdout_share
    FROM campaign
   WHERE starts_at <= $2 AND starts_at < $4::date::timestamp AT TIME ZONE 'UTC' AND ends_at > $3::date::timestamp AT TIME ZONE 'UTC'
     AND ($1::text IS NULL OR id IN (SELECT campaign_id FROM campaign_partner WHERE partner_id = $1))
     AND ($5::uuid IS NULL OR id > $5::uuid)
   ORDER BY id LIMIT $6
),
awards AS (
  SELECT c.id AS campaign_id, a.member_id, (x->>'points')::bigint AS points
    FROM c JOIN activity a ON a.recorded_at >= c.starts_at AND a.recorded_at <= c.ends_at AND a.kind IN ('purchase', 'action')
    CROSS JOIN LATERAL jsonb_array_elements(a.detail->'contributions') x
   WHERE ($1::text IS NULL OR a.partner_id = $1) AND x->>'source' = 'campaign' AND x->>'sourceId' = c.id::text
),
reached AS (
  SELECT DISTINCT campaign_id, member_id FROM awards
),
held AS (
  -- Only campaigns with a holdout: the others never name a member in heldOut.
  SELECT DISTINCT c.id AS campaign_id, a.member_id
    FROM c JOIN activity a ON a.recorded_at >= c.starts_at AND a.recorded_at <= c.ends_at AND a.kind IN ('purchase', 'action')
   WHERE c.holdout_share > 0 AND ($1::text IS NULL OR a.partner_id = $1)
     AND a.detail->'heldOut' @> jsonb_build_array(jsonb_build_object('campaignId', c.id::text))
),
groups AS (
  SELECT campaign_id, member_id, false AS held FROM reached
  UNION ALL
  SELECT campaign_id, member_id, true FROM held
),
bought AS (
  SELECT g.campaign_id,
         count(*) FILTER (WHERE NOT g.held AND a.recorded_at >= c.starts_at) AS during,
         count(*) FILTER (WHERE NOT g.held AND a.recorded_at < c.starts_at) AS before,
         count(*) FILTER (WHERE g.held AND a.recorded_at >= c.starts_at) AS held_during
    FROM groups g JOIN c ON c.id = g.campaign_id
    JOIN activity a ON a.member_id = g.member_id AND a.kind = 'purchase'
     AND a.recorded_at >= CASE WHEN g.held THEN c.starts_at ELSE c.starts_at - (c.ends_at - c.starts_at) END AND a.recorded_at <= c.ends_at
     AND (CASE WHEN $1::text IS NULL THEN a.partner_id IN (SELECT partner_id FROM campaign_partner WHERE campaign_id = c.id) ELSE a.partner_id = $1 END)
   GROUP BY g.campaign_id
)
SELECT c.id, c.name, c.starts_at, c.ends_at, c.points_cap::text, c.holdout_share::text,
       (SELECT count(*)::int FROM reached r WHERE r.campaign_id = c.id) AS reached,
       (SELECT coalesce(sum(points), 0)::text FROM awards w WHERE w.campaign_id = c.id) AS points,
       coalesce(b.during, 0)::text AS during, coalesce(b.before, 0)::text AS before,
       (SELECT count(*)::int FROM held h WHERE h.campaign_id = c.id) AS held,
       coalesce(b.held_during, 0)::text AS held_during
  FROM c LEFT JOIN bought b ON b.campaign_id = c.id
 ORDER BY c.id`;
