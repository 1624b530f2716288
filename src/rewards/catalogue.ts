import type { DataSource, EntityManager } from 'typeorm';
import type { Clock } from '../common/clock';
import { ErrorCode, fail, type DomainError } from '../common/errors';
import { newId } from '../common/ids';
import type { OpError } from '../common/op-errors';
import type { Viewer } from '../common/viewer';
import { limits } from '../config/limits';
import { findMemberIdByRef } from '../members/member-query.service';
import type { TierService } from '../members/tiers';
import { readCursor, toConnection, type Connection } from '../ledger/ledger-query.service';

/**
 * The rewards catalogue (docs/rewards.md): what partners publish, and who may see and redeem what.
 * Redeeming is in redemption.ts; entitlements in entitlements.ts.
 */
export const REWARD_KINDS = ['product', 'discount', 'service', 'experience', 'tier_perk'] as const;
export type RewardKind = (typeof REWARD_KINDS)[number];
export const REFUND_POLICIES = ['full', 'none'] as const;
export type RefundPolicy = (typeof REFUND_POLICIES)[number];

/** The longest an entitlement may last, in days (ten years). */
export const ENTITLEMENT_DAYS_MAX = 3660;
const TITLE_MAX = 200;
const DESCRIPTION_MAX = 4000;
const STOCK_MAX = 1_000_000_000_000n;

export interface Reward {
  id: string;
  seq: string;
  partnerId: string;
  kind: RewardKind;
  title: string;
  description: string;
  pricePoints: bigint;
  /** Null: unlimited. */
  stock: bigint | null;
  validFrom: Date;
  validUntil: Date | null;
  minTier: string | null;
  tiers: string[] | null;
  /** Redeemable by members of any partner; otherwise only by the providing partner's members. */
  coalitionWide: boolean;
  /** The partner's declared cost; null for viewers other than the providing partner and operators. */
  costMinor: bigint | null;
  costCurrency: string | null;
  entitlementDays: number;
  refundPolicy: RefundPolicy;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** For a member viewer: whether this member may redeem it (tier, partner); null for anyone else. */
  eligible: boolean | null;
}

export interface NewReward {
  kind: RewardKind;
  title: string;
  description?: string | null;
  pricePoints: bigint;
  stock?: bigint | null;
  validFrom?: Date | null;
  validUntil?: Date | null;
  minTier?: string | null;
  tiers?: string[] | null;
  coalitionWide?: boolean | null;
  costMinor: bigint;
  costCurrency: string;
  entitlementDays: number;
  refundPolicy: RefundPolicy;
}

export interface RewardChanges {
  title?: string | null;
  description?: string | null;
  pricePoints?: bigint | null;
  /** A new stock level; `unlimitedStock` makes it unlimited. */
  stock?: bigint | null;
  unlimitedStock?: boolean | null;
  validUntil?: Date | null;
  active?: boolean | null;
}

export interface RewardRow {
  id: string;
  seq: string;
  partner_id: string;
  kind: RewardKind;
  title: string;
  description: string;
  price_points: string;
  stock: string | null;
  valid_from: Date;
  valid_until: Date | null;
  min_tier: string | null;
  tiers: string[] | null;
  coalition_wide: boolean;
  cost_minor: string;
  cost_currency: string;
  entitlement_days: number;
  refund_policy: RefundPolicy;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export const REWARD_COLUMNS = `id, seq::text, partner_id, kind, title, description, price_points::text, stock::text, valid_from, valid_until,
  min_tier, tiers, coalition_wide, cost_minor::text, cost_currency, entitlement_days, refund_policy, active, created_at, updated_at`;

export function toReward(row: RewardRow, eligible: boolean | null = null): Reward {
  return {
    id: row.id,
    seq: row.seq,
    partnerId: row.partner_id,
    kind: row.kind,
    title: row.title,
    description: row.description,
    pricePoints: BigInt(row.price_points),
    stock: row.stock === null ? null : BigInt(row.stock),
    validFrom: new Date(row.valid_from),
    validUntil: row.valid_until === null ? null : new Date(row.valid_until),
    minTier: row.min_tier,
    tiers: row.tiers,
    coalitionWide: row.coalition_wide,
    costMinor: BigInt(row.cost_minor),
    costCurrency: row.cost_currency,
    entitlementDays: row.entitlement_days,
    refundPolicy: row.refund_policy,
    active: row.active,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    eligible,
  };
}

/** Whether a reward can be redeemed at `now` (active, inside its validity window). */
export const availableAt = (reward: Pick<Reward, 'active' | 'validFrom' | 'validUntil'>, now: Date): boolean =>
  reward.active &&
  reward.validFrom.getTime() <= now.getTime() &&
  (reward.validUntil === null || now.getTime() < reward.validUntil.getTime());

/**
 * Pure: whether a member in tier `tier` (and enrolled at the partners `linkedPartners`) may redeem
 * the reward: at or above its minimum tier, in its tiers when it names some, and a member of the
 * providing partner unless the reward is coalition-wide.
 */
export function eligibleFor(
  reward: Pick<Reward, 'partnerId' | 'minTier' | 'tiers' | 'coalitionWide'>,
  tier: string,
  tierOrder: readonly string[],
  linkedPartners: ReadonlySet<string>,
): boolean {
  if (!reward.coalitionWide && !linkedPartners.has(reward.partnerId)) return false;
  if (reward.minTier !== null && tierOrder.indexOf(tier) < tierOrder.indexOf(reward.minTier)) return false;
  if (reward.tiers !== null && reward.tiers.length > 0 && !reward.tiers.includes(tier)) return false;
  return true;
}

const SEQ_CURSOR = /^[0-9]{1,19}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isRewardId = (id: string): boolean => UUID.test(id);

type InvalidInput = DomainError<ErrorCode.INVALID_INPUT>;
const invalid = (field: string, message: string): InvalidInput => fail(ErrorCode.INVALID_INPUT, `${field}: ${message}`);

export class RewardCatalogue {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly tiers: TierService,
    /** Declared costs are settled in the hub's settlement currency. */
    private readonly settlementCurrency: string,
  ) {}

  get tierOrder(): string[] {
    return this.tiers.rules.map((rule) => rule.name);
  }

  /** A partner publishes a reward. */
  async create(partnerId: string, input: NewReward): Promise<Reward | OpError<'createReward'>> {
    const now = this.clock.now();
    const checked = this.check(input);
    if (checked) return checked;
    const validFrom = input.validFrom ?? now;
    if (input.validUntil && input.validUntil.getTime() <= validFrom.getTime()) return invalid('validUntil', 'must be after validFrom');
    const [row]: RewardRow[] = await this.dataSource.query(
      `INSERT INTO reward (id, partner_id, kind, title, description, price_points, stock, valid_from, valid_until, min_tier, tiers,
                           coalition_wide, cost_minor, cost_currency, entitlement_days, refund_policy, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
       RETURNING ${REWARD_COLUMNS}`,
      [
        newId(),
        partnerId,
        input.kind,
        input.title,
        input.description ?? '',
        input.pricePoints.toString(),
        input.stock === undefined || input.stock === null ? null : input.stock.toString(),
        validFrom,
        input.validUntil ?? null,
        input.minTier ?? null,
        input.tiers && input.tiers.length > 0 ? input.tiers : null,
        input.coalitionWide ?? input.kind === 'tier_perk',
        input.costMinor.toString(),
        input.costCurrency,
        input.entitlementDays,
        input.refundPolicy,
        now,
      ],
    );
    return toReward(row!);
  }

  /** A partner changes one of its rewards (another partner's is not found). */
  async update(partnerId: string, id: string, changes: RewardChanges): Promise<Reward | OpError<'updateReward'>> {
    if (!isRewardId(id)) return fail(ErrorCode.NOT_FOUND, `partner ${partnerId} has no reward ${id}`);
    if (changes.title !== undefined && changes.title !== null && (changes.title.trim() === '' || changes.title.length > TITLE_MAX))
      return invalid('title', `1 to ${TITLE_MAX} characters`);
    if (changes.description && changes.description.length > DESCRIPTION_MAX)
      return invalid('description', `at most ${DESCRIPTION_MAX} characters`);
    if (
      changes.pricePoints !== undefined &&
      changes.pricePoints !== null &&
      (changes.pricePoints <= 0n || changes.pricePoints > limits.amountMax)
    )
      return invalid('pricePoints', `a whole number of CP from 1 to ${limits.amountMax}`);
    if (changes.stock !== undefined && changes.stock !== null && (changes.stock < 0n || changes.stock > STOCK_MAX))
      return invalid('stock', `0 to ${STOCK_MAX}`);
    // One statement: the row lock it takes is the one redemptions take (after the wallet), so a restock never lowers below zero.
    const [row]: RewardRow[] = await this.dataSource.query(
      `WITH updated AS (UPDATE reward SET
         title = coalesce($3, title),
         description = coalesce($4, description),
         price_points = coalesce($5::bigint, price_points),
         stock = CASE WHEN $6::boolean THEN NULL ELSE coalesce($7::bigint, stock) END,
         valid_until = coalesce($8, valid_until),
         active = coalesce($9, active),
         updated_at = $10
       WHERE id = $1 AND partner_id = $2 AND ($8::timestamptz IS NULL OR $8 > valid_from)
       RETURNING *)
       SELECT ${REWARD_COLUMNS} FROM updated`,
      [
        id,
        partnerId,
        changes.title ?? null,
        changes.description ?? null,
        changes.pricePoints?.toString() ?? null,
        changes.unlimitedStock === true,
        changes.stock?.toString() ?? null,
        changes.validUntil ?? null,
        changes.active ?? null,
        this.clock.now(),
      ],
    );
    if (row) return toReward(row);
    const exists: unknown[] = await this.dataSource.query('SELECT 1 FROM reward WHERE id = $1 AND partner_id = $2', [id, partnerId]);
    return exists.length === 0
      ? fail(ErrorCode.NOT_FOUND, `partner ${partnerId} has no reward ${id}`)
      : invalid('validUntil', 'must be after validFrom');
  }

  /**
   * Rewards in publication order. A member sees the rewards available now, each flagged `eligible`
   * (only the eligible ones unless `eligibleOnly` is false); a partner its own (all of them) and
   * the other partners' coalition-wide rewards available now; operators and finance every reward.
   */
  async list(
    viewer: Viewer,
    page: { first: number; after?: string | null },
    filter: { partnerId?: string | null; eligibleOnly?: boolean | null } = {},
  ): Promise<Connection<Reward>> {
    const after = readCursor(page.after, SEQ_CURSOR);
    const now = this.clock.now();
    const scope = viewer.kind === 'partner' ? viewer.partnerId : null;
    const availableOnly = viewer.kind === 'member';
    if (viewer.kind === 'member') return this.listForMember(viewer, page, after, filter, now);
    const rows: RewardRow[] = await this.dataSource.query(
      `SELECT ${REWARD_COLUMNS} FROM reward
       WHERE ($1::bigint IS NULL OR seq > $1) AND ($2::text IS NULL OR partner_id = $2)
         AND ($3::text IS NULL OR partner_id = $3 OR (coalition_wide AND active AND valid_from <= $4 AND (valid_until IS NULL OR valid_until > $4)))
         AND (NOT $5::boolean OR (active AND valid_from <= $4 AND (valid_until IS NULL OR valid_until > $4)))
       ORDER BY seq LIMIT $6`,
      [after, filter.partnerId ?? null, scope, now, availableOnly, page.first + 1],
    );
    return toConnection(
      rows.map((row) => this.visible(toReward(row), viewer)),
      page,
      (reward) => reward.seq,
    );
  }

  private async listForMember(
    viewer: Extract<Viewer, { kind: 'member' }>,
    page: { first: number; after?: string | null },
    after: string | null,
    filter: { partnerId?: string | null; eligibleOnly?: boolean | null },
    now: Date,
  ): Promise<Connection<Reward>> {
    const memberId = await findMemberIdByRef(this.dataSource.manager, viewer.partnerId, viewer.memberRef);
    if (memberId === null) return toConnection([], page, (reward: Reward) => reward.seq);
    const facts = await memberFacts(this.dataSource.manager, this.tiers, memberId, now);
    const eligibleOnly = filter.eligibleOnly ?? true;
    const found: Reward[] = [];
    let cursor = after;
    // Eligibility depends on the tier, computed here: read in chunks until the page is full.
    for (;;) {
      const rows: RewardRow[] = await this.dataSource.query(
        `SELECT ${REWARD_COLUMNS} FROM reward
         WHERE ($1::bigint IS NULL OR seq > $1) AND ($2::text IS NULL OR partner_id = $2)
           AND active AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3)
           AND (coalition_wide OR partner_id = ANY($4::text[]))
         ORDER BY seq LIMIT $5`,
        [cursor, filter.partnerId ?? null, now, [...facts.partners], limits.pageSizeMax],
      );
      for (const row of rows) {
        const reward = toReward(row);
        const eligible = eligibleFor(reward, facts.tier, this.tierOrder, facts.partners);
        if (eligible || !eligibleOnly) found.push(this.visible({ ...reward, eligible }, viewer));
        if (found.length > page.first) break;
      }
      if (found.length > page.first || rows.length < limits.pageSizeMax) break;
      cursor = rows[rows.length - 1]!.seq;
    }
    return toConnection(found, page, (reward) => reward.seq);
  }

  /** One reward, if the viewer may see it (as in `list`); null otherwise. */
  async findForViewer(viewer: Viewer, id: string): Promise<Reward | null> {
    if (!isRewardId(id)) return null;
    const [row]: RewardRow[] = await this.dataSource.query(`SELECT ${REWARD_COLUMNS} FROM reward WHERE id = $1`, [id]);
    if (!row) return null;
    const reward = toReward(row);
    const now = this.clock.now();
    if (viewer.kind === 'partner' && reward.partnerId !== viewer.partnerId && !(reward.coalitionWide && availableAt(reward, now)))
      return null;
    if (viewer.kind === 'member') {
      if (!availableAt(reward, now)) return null;
      const memberId = await findMemberIdByRef(this.dataSource.manager, viewer.partnerId, viewer.memberRef);
      if (memberId === null) return null;
      const facts = await memberFacts(this.dataSource.manager, this.tiers, memberId, now);
      if (!reward.coalitionWide && !facts.partners.has(reward.partnerId)) return null;
      return this.visible({ ...reward, eligible: eligibleFor(reward, facts.tier, this.tierOrder, facts.partners) }, viewer);
    }
    return this.visible(reward, viewer);
  }

  /** The declared cost is the providing partner's (and the operators') business: others see null. */
  private visible(reward: Reward, viewer: Viewer): Reward {
    const own = viewer.kind === 'operator' || (viewer.kind === 'partner' && viewer.partnerId === reward.partnerId);
    return own ? reward : { ...reward, costMinor: null, costCurrency: null };
  }

  private check(input: NewReward): InvalidInput | null {
    if (!(REWARD_KINDS as readonly string[]).includes(input.kind)) return invalid('kind', `one of ${REWARD_KINDS.join(', ')}`);
    if (input.title.trim() === '' || input.title.length > TITLE_MAX) return invalid('title', `1 to ${TITLE_MAX} characters`);
    if ((input.description ?? '').length > DESCRIPTION_MAX) return invalid('description', `at most ${DESCRIPTION_MAX} characters`);
    if (input.pricePoints <= 0n || input.pricePoints > limits.amountMax)
      return invalid('pricePoints', `a whole number of CP from 1 to ${limits.amountMax}`);
    if (input.stock !== undefined && input.stock !== null && (input.stock < 0n || input.stock > STOCK_MAX))
      return invalid('stock', `0 to ${STOCK_MAX}`);
    if (input.costMinor < 0n || input.costMinor > limits.amountMax) return invalid('costMinor', `0 to ${limits.amountMax} minor units`);
    if (input.costCurrency !== this.settlementCurrency)
      return invalid('costCurrency', `costs are settled in ${this.settlementCurrency}, the hub's settlement currency`);
    if (!Number.isInteger(input.entitlementDays) || input.entitlementDays < 1 || input.entitlementDays > ENTITLEMENT_DAYS_MAX)
      return invalid('entitlementDays', `1 to ${ENTITLEMENT_DAYS_MAX}`);
    if (!(REFUND_POLICIES as readonly string[]).includes(input.refundPolicy)) return invalid('refundPolicy', 'full or none');
    const known = this.tierOrder;
    if (input.minTier && !known.includes(input.minTier)) return invalid('minTier', `one of the hub's tiers: ${known.join(', ')}`);
    for (const tier of input.tiers ?? []) if (!known.includes(tier)) return invalid('tiers', `one of the hub's tiers: ${known.join(', ')}`);
    return null;
  }
}

/** What eligibility needs of a member: its tier now and the partners it is enrolled at. */
export async function memberFacts(
  manager: Pick<EntityManager, 'query'>,
  tiers: TierService,
  memberId: string,
  now: Date,
): Promise<{ tier: string; partners: Set<string> }> {
  const links: Array<{ partner_id: string }> = await manager.query('SELECT partner_id FROM member_link WHERE member_id = $1', [memberId]);
  const tier = await tiers.tierOf(manager, memberId, now);
  return { tier: tier.name, partners: new Set(links.map((link) => link.partner_id)) };
}
