import { postIssuance } from '../../operations/issuance-entry';
import type { DataSource, EntityManager } from 'typeorm';
import { assert } from '../../common/assert';
import type { Clock } from '../../common/clock';
import { ErrorCode, fail, isDomainError } from '../../common/errors';
import { newId } from '../../common/ids';
import type { OpError } from '../../common/op-errors';
import { limits } from '../../config/limits';
import { withTransaction } from '../../db/with-transaction';
import { findMovementTargets } from '../../ledger/ledger.repository';
import { recordEvent } from '../../outbox/outbox';
import { readPageCursors, toConnection, type Connection, type Page } from '../../ledger/ledger-query.service';
import { drawFunding } from '../../settlement/funding.service';
import { declaredCategories } from '../engine-config.service';
import type { EvaluatedPurchase, EvaluatedReturn, ListenerOutcome, PurchaseListener, StampMove } from '../purchase-listeners';

const CATEGORY = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * What a completed card gives. Only 'points' today (bonus points from the card's partner); a
 * catalogue reward (an entitlement from the rewards catalogue) will be another kind of this union,
 * with its own column on stamp_card and its own branch in `grantReward` (docs/stamp-cards.md).
 */
export type StampReward = { kind: 'points'; points: bigint };

/** A partner's stamp card (docs/stamp-cards.md). */
export interface StampCardRow {
  id: string;
  partnerId: string;
  name: string;
  category: string;
  stampsRequired: number;
  reward: StampReward;
  startsAt: Date;
  endsAt: Date | null;
  createdAt: Date;
}

export interface StampCardInput {
  name: string;
  category: string;
  stampsRequired: number;
  reward: { kind: 'points'; points?: bigint | null };
  /** Default: now. */
  startsAt?: Date | null;
  endsAt?: Date | null;
}

/** A member's progress on one card. */
export interface MemberStampCardRow {
  card: StampCardRow;
  memberId: string;
  /** Stamps toward the next completion (fewer than the card requires). */
  stamps: number;
  completedCount: bigint;
  updatedAt: Date;
}

/** One page of a member's cards, for the DataLoader behind Member.stampCards; `partnerId`: only that partner's cards. */
export interface MemberCardsRequest {
  memberId: string;
  partnerId: string | null;
  page: Page;
}

interface CardTableRow {
  id: string;
  partner_id: string;
  name: string;
  category: string;
  stamps_required: number;
  reward_kind: 'points';
  reward_points: string | null;
  starts_at: Date;
  ends_at: Date | null;
  created_at: Date;
}

const CARD_COLUMNS =
  'c.id::text, c.partner_id, c.name, c.category, c.stamps_required, c.reward_kind, c.reward_points::text, c.starts_at, c.ends_at, c.created_at';

const toCard = (row: CardTableRow): StampCardRow => ({
  id: row.id,
  partnerId: row.partner_id,
  name: row.name,
  category: row.category,
  stampsRequired: Number(row.stamps_required),
  reward: { kind: 'points', points: BigInt(row.reward_points!) },
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  createdAt: row.created_at,
});

const invalid = (message: string) => fail(ErrorCode.INVALID_INPUT, message);
/** A card id: a member's cards are paged by it. */
const CARD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Stamp cards: partners define them (a category, the stamps required, the reward, a window); the
 * listener counts a purchase's matching line units and grants the reward when a card completes.
 * All of a member's stamp moves happen under the member's wallet lock (the activity's), so they
 * are counted one after the other.
 */
export class StampCardService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async createStampCard(partnerId: string, input: StampCardInput, createdBy: string): Promise<StampCardRow | OpError<'setting'>> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100) return invalid('a stamp card name is 1 to 100 characters');
    if (!CATEGORY.test(input.category)) return invalid('a category is 1 to 64 of A-Z, a-z, 0-9, _ . -');
    if (!Number.isInteger(input.stampsRequired) || input.stampsRequired < 1 || input.stampsRequired > 1000) {
      return invalid('stampsRequired is 1 to 1000');
    }
    if (input.reward.kind !== 'points') return invalid('the reward kind is points');
    const points = input.reward.points ?? null;
    if (points === null || points <= 0n || points > limits.amountMax) return invalid(`a points reward is 1 to ${limits.amountMax} points`);
    const now = this.clock.now();
    const startsAt = input.startsAt ?? now;
    if (input.endsAt && input.endsAt <= startsAt) return invalid('endsAt is after startsAt');
    return withTransaction(this.dataSource, async (tx) => {
      const partner: unknown[] = await tx.query('SELECT 1 FROM partner WHERE id = $1', [partnerId]);
      if (partner.length === 0) return fail(ErrorCode.NOT_FOUND, `there is no partner ${partnerId}`);
      // The category is one of the partner's declared categories (when it declared any: docs/loyalty-engine.md).
      const categories = await declaredCategories(tx, partnerId);
      if (categories.size > 0 && !categories.has(input.category)) {
        return invalid(`${partnerId} has no category ${input.category} (setEarnCategories)`);
      }
      const [row]: CardTableRow[] = await tx.query(
        `INSERT INTO stamp_card AS c (id, partner_id, name, category, stamps_required, reward_kind, reward_points, starts_at, ends_at, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, 'points', $6, $7, $8, $9, $10) RETURNING ${CARD_COLUMNS}`,
        [newId(), partnerId, name, input.category, input.stampsRequired, points.toString(), startsAt, input.endsAt ?? null, now, createdBy],
      );
      return toCard(row!);
    });
  }

  /** Ends a card now (a partner: only its own). Stamps already counted stay; no new ones are counted. */
  async endStampCard(id: string, partnerId: string | null): Promise<StampCardRow | OpError<'setting'>> {
    if (!CARD_ID.test(id)) return fail(ErrorCode.NOT_FOUND, `there is no stamp card ${id}`);
    const now = this.clock.now();
    return withTransaction(this.dataSource, async (tx) => {
      const [row]: CardTableRow[] = await tx.query(
        // In a WITH: TypeORM answers a bare UPDATE with [rows, count].
        `WITH ended AS (
           UPDATE stamp_card SET ends_at = greatest(starts_at, $3::timestamptz)
           WHERE id = $1::uuid AND ($2::text IS NULL OR partner_id = $2) AND (ends_at IS NULL OR ends_at > $3)
           RETURNING *
         )
         SELECT ${CARD_COLUMNS} FROM ended c`,
        [id, partnerId, now],
      );
      if (row) return toCard(row);
      const [ended]: CardTableRow[] = await tx.query(
        `SELECT ${CARD_COLUMNS} FROM stamp_card c WHERE c.id = $1::uuid AND ($2::text IS NULL OR c.partner_id = $2)`,
        [id, partnerId],
      );
      return ended ? toCard(ended) : fail(ErrorCode.NOT_FOUND, `there is no stamp card ${id}`);
    });
  }

  /** A partner's cards, newest first. */
  async stampCards(partnerId: string): Promise<StampCardRow[]> {
    const rows: CardTableRow[] = await this.dataSource.query(
      `SELECT ${CARD_COLUMNS} FROM stamp_card c WHERE c.partner_id = $1 ORDER BY c.created_at DESC, c.id`,
      [partnerId],
    );
    return rows.map(toCard);
  }

  /** Pages of members' cards (those they have stamps or completions on), in card id order: one statement for the batch. */
  async memberCardPages(requests: readonly MemberCardsRequest[]): Promise<Array<Connection<MemberStampCardRow> | Error>> {
    const { cursors, valid } = readPageCursors(requests, CARD_ID);
    const rows: Array<CardTableRow & { request: number; member_id: string; stamps: string; completed_count: string; updated_at: Date }> =
      await this.dataSource.query(
        `SELECT k.request, p.* FROM unnest($1::int[], $2::uuid[], $3::text[], $4::uuid[], $5::int[]) AS k(request, member_id, partner_id, after_id, page_limit)
         CROSS JOIN LATERAL (
           SELECT ${CARD_COLUMNS}, s.member_id::text, s.stamps::text, s.completed_count::text, s.updated_at
           FROM stamp_progress s JOIN stamp_card c ON c.id = s.card_id
           WHERE s.member_id = k.member_id AND (k.partner_id IS NULL OR c.partner_id = k.partner_id)
             AND (k.after_id IS NULL OR s.card_id > k.after_id)
           ORDER BY s.card_id LIMIT k.page_limit
         ) p
         ORDER BY k.request, p.id`,
        [
          valid.map((v) => v.index),
          valid.map((v) => v.request.memberId),
          valid.map((v) => v.request.partnerId),
          valid.map((v) => v.after),
          valid.map((v) => v.request.page.first + 1),
        ],
      );
    const byRequest = new Map<number, MemberStampCardRow[]>();
    for (const row of rows) {
      const list = byRequest.get(row.request) ?? [];
      list.push({
        card: toCard(row),
        memberId: row.member_id,
        stamps: Number(row.stamps),
        completedCount: BigInt(row.completed_count),
        updatedAt: row.updated_at,
      });
      byRequest.set(row.request, list);
    }
    return requests.map((request, index) => {
      const cursor = cursors[index]!;
      if (cursor instanceof Error) return cursor;
      return toConnection(byRequest.get(index) ?? [], request.page, (row) => row.card.id);
    });
  }

  /** The listener the composition root installs on the activity op (src/engine/purchase-listeners.ts). */
  listener(): PurchaseListener {
    return { name: 'stamp-cards', onPurchase: countPurchase, onReturn: takeBackReturn };
  }
}

interface ProgressRow {
  stamps: string;
  completed_count: string;
}

/** Adds one stamp per matching line unit to each of the partner's cards active at the purchase's time. */
async function countPurchase(tx: EntityManager, purchase: EvaluatedPurchase): Promise<ListenerOutcome | OpError<'activity'>> {
  const units = new Map<string, bigint>();
  for (const line of purchase.lines) {
    if (line.category !== null && line.quantity > 0n) units.set(line.category, (units.get(line.category) ?? 0n) + line.quantity);
  }
  if (units.size === 0) return {};
  const cards: CardTableRow[] = await tx.query(
    `SELECT ${CARD_COLUMNS} FROM stamp_card c
     WHERE c.partner_id = $1 AND c.category = ANY($2::text[]) AND c.starts_at <= $3 AND (c.ends_at IS NULL OR c.ends_at > $3)
     ORDER BY c.id`,
    [purchase.partnerId, [...units.keys()], purchase.occurredAt],
  );
  const stamps: StampMove[] = [];
  let balance: bigint | undefined;
  for (const card of cards.map(toCard)) {
    const earned = units.get(card.category)!;
    const required = BigInt(card.stampsRequired);
    const [progress]: ProgressRow[] = await tx.query(
      'SELECT stamps::text, completed_count::text FROM stamp_progress WHERE member_id = $1 AND card_id = $2 FOR UPDATE',
      [purchase.memberId, card.id],
    );
    const before = BigInt(progress?.stamps ?? '0');
    const completedBefore = BigInt(progress?.completed_count ?? '0');
    const completions = (before + earned) / required;
    const after = (before + earned) % required;
    await tx.query(
      `INSERT INTO stamp_event (card_id, member_id, activity_id, kind, stamps, open, completions, recorded_at)
       VALUES ($1, $2, $3, 'purchase', $4, $4, $5, $6)`,
      [card.id, purchase.memberId, purchase.activityId, earned.toString(), completions.toString(), purchase.now],
    );
    let rewardEntryId: string | null = null;
    let rewardPoints: bigint | null = null;
    if (completions > 0n) {
      // A completion uses the card's open stamps, oldest first; what is left over carries to the next card.
      const [used]: Array<{ used: string }> = await tx.query(
        `WITH o AS (
           SELECT seq, open, sum(open) OVER (ORDER BY seq) - open AS before FROM stamp_event
           WHERE member_id = $1 AND card_id = $2 AND open > 0
         ), u AS (
           UPDATE stamp_event e SET open = e.open - least(o.open, $3 - o.before) FROM o
           WHERE e.seq = o.seq AND o.before < $3 RETURNING least(o.open, $3 - o.before) AS taken
         )
         SELECT coalesce(sum(taken), 0)::text AS used FROM u`,
        [purchase.memberId, card.id, (completions * required).toString()],
      );
      assert(BigInt(used!.used) === completions * required, `stamp card ${card.id}: the open stamps do not match the card's progress`);
      const granted = await grantReward(tx, purchase, card, completions, completedBefore + completions);
      if (isDomainError(granted)) return granted;
      ({ entryId: rewardEntryId, points: rewardPoints, balance } = granted);
      await recordEvent(tx, {
        type: 'stamps.card_completed',
        partnerId: purchase.partnerId,
        memberId: purchase.memberId,
        occurredAt: purchase.now,
        data: {
          cardId: card.id,
          activityId: purchase.activityId,
          completions: completions.toString(),
          completedCount: (completedBefore + completions).toString(),
          entryId: granted.entryId,
          asset: 'CP',
          amount: granted.points.toString(),
          balance: granted.balance.toString(),
        },
      });
    }
    await tx.query(
      `INSERT INTO stamp_progress AS s (card_id, member_id, stamps, completed_count, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (member_id, card_id) DO UPDATE SET stamps = EXCLUDED.stamps, completed_count = EXCLUDED.completed_count, updated_at = EXCLUDED.updated_at`,
      [card.id, purchase.memberId, after.toString(), (completedBefore + completions).toString(), purchase.now],
    );
    const done = completions > 0n ? `; completed${completions > 1n ? ` ×${completions}` : ''}, reward ${rewardPoints} points` : '';
    stamps.push({
      cardId: card.id,
      name: card.name,
      stamps: earned.toString(),
      stampsNow: after.toString(),
      stampsRequired: card.stampsRequired,
      completed: completions.toString(),
      rewardEntryId,
      rewardPoints: rewardPoints?.toString() ?? null,
      reason: `${card.name}: +${earned} stamp${earned === 1n ? '' : 's'} (${after} of ${card.stampsRequired})${done}`,
    });
  }
  return balance === undefined ? { stamps } : { stamps, balance };
}

/**
 * The reward of `completions` completions: an entry of its own type, `stamp_reward`, of bonus points
 * from the card's partner, funded and settled exactly like issued points (its issuance account, its
 * funding limits, an issue line at its issue price, its contract's lot lifetime and return window).
 * Like every entry the hub makes rather than a partner's instruction, it has no jti (one instruction,
 * the activity, has one entry: its points); `rates.activityId` names the activity that completed the card.
 */
async function grantReward(
  tx: EntityManager,
  purchase: EvaluatedPurchase,
  card: StampCardRow,
  completions: bigint,
  completedCount: bigint,
): Promise<{ entryId: string; points: bigint; balance: bigint } | OpError<'activity'>> {
  const points = card.reward.points * completions;
  if (points > limits.amountMax) {
    return fail(ErrorCode.INVALID_AMOUNT, `the stamp card reward would be ${points} points, over ${limits.amountMax}`, {
      amount: points.toString(),
    });
  }
  const { partnerId, memberId, now } = purchase;
  // The wallet is locked already (the activity credited it): this finds it again at no cost.
  const targets = await findMovementTargets(tx, partnerId, { id: memberId }, 'issuance', 'credit', now);
  assert(targets, `member ${memberId} has no wallet at ${partnerId}`);
  const funding = await drawFunding(tx, partnerId, targets.contract, points, now);
  if (isDomainError(funding)) return funding;
  const entryId = newId();
  const { balance } = await postIssuance(tx, {
    id: entryId,
    type: 'stamp_reward',
    partnerId,
    jti: null,
    memberId,
    orderRef: purchase.orderRef,
    occurredAt: purchase.occurredAt,
    recordedAt: now,
    requestHash: null,
    rates: {
      contractId: targets.contract.id,
      currency: targets.contract.currency,
      issuePrice: targets.contract.issuePrice,
      reason: `stamp card ${card.name} completed${completions > 1n ? ` ×${completions}` : ''}`,
      stampCard: card.id,
      completedCount: completedCount.toString(),
      activityId: purchase.activityId,
    },
    amount: points,
    walletId: targets.wallet.id,
    counterId: targets.counter.id,
    funding,
    contract: targets.contract,
    counterShards: purchase.counterShards,
  });
  await tx.query('UPDATE stamp_event SET reward_entry_id = $3 WHERE activity_id = $1 AND card_id = $2', [
    purchase.activityId,
    card.id,
    entryId,
  ]);
  return { entryId, points, balance };
}

/**
 * A return takes back its purchase's stamps pro rata by value (floored on the cumulative value
 * returned, so returning every part takes back every stamp, never more), but only those still open
 * on the card: stamps a completion used stay used, and the reward stays with the member.
 */
async function takeBackReturn(tx: EntityManager, ret: EvaluatedReturn): Promise<ListenerOutcome> {
  const events: Array<CardTableRow & { seq: string; stamps: string; open: string; returned: string }> = await tx.query(
    `SELECT e.seq::text, e.stamps::text, e.open::text, e.returned::text, ${CARD_COLUMNS}
     FROM stamp_event e JOIN stamp_card c ON c.id = e.card_id
     WHERE e.activity_id = $1 AND e.kind = 'purchase' ORDER BY e.card_id FOR UPDATE OF e`,
    [ret.purchaseActivityId],
  );
  const stamps: StampMove[] = [];
  const notes: string[] = [];
  const total = ret.purchaseTotalMinor;
  for (const event of events) {
    const card = toCard(event);
    const given = BigInt(event.stamps);
    const open = BigInt(event.open);
    const due =
      total === 0n
        ? given - BigInt(event.returned)
        : (given * (ret.returnedBeforeMinor + ret.amountMinor)) / total - (given * ret.returnedBeforeMinor) / total;
    if (due <= 0n) continue;
    const take = due < open ? due : open;
    await tx.query('UPDATE stamp_event SET open = open - $2, returned = returned + $3 WHERE seq = $1', [
      event.seq,
      take.toString(),
      due.toString(),
    ]);
    const [progress]: Array<{ stamps: string }> = await tx.query(
      `WITH moved AS (UPDATE stamp_progress SET stamps = stamps - $3, updated_at = $4 WHERE member_id = $1 AND card_id = $2 RETURNING stamps)
       SELECT stamps::text FROM moved`,
      [ret.memberId, card.id, take.toString(), ret.now],
    );
    await tx.query(
      `INSERT INTO stamp_event (card_id, member_id, activity_id, kind, stamps, recorded_at) VALUES ($1, $2, $3, 'return', $4, $5)`,
      [card.id, ret.memberId, ret.activityId, (-take).toString(), ret.now],
    );
    if (take < due) notes.push(`${card.name}: ${due - take} of the returned stamps were used by a completed card; they stay used`);
    stamps.push({
      cardId: card.id,
      name: card.name,
      stamps: (-take).toString(),
      stampsNow: progress!.stamps,
      stampsRequired: card.stampsRequired,
      completed: '0',
      rewardEntryId: null,
      rewardPoints: null,
      reason: `${card.name}: -${take} stamp${take === 1n ? '' : 's'} returned (${progress!.stamps} of ${card.stampsRequired})`,
    });
  }
  return { stamps, notes };
}
