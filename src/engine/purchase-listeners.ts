import type { EntityManager } from 'typeorm';
import type { OpError } from '../common/op-errors';
import type { Contribution, PurchaseLine } from './evaluate';

/** What a purchase listener is told once the purchase is evaluated (and its entry, if any, posted). */
export interface EvaluatedPurchase {
  activityId: string;
  partnerId: string;
  memberId: string;
  /** The entry of the points, or null when the purchase earned none. */
  entryId: string | null;
  orderRef: string | null;
  totalMinor: bigint;
  currency: string;
  lines: readonly PurchaseLine[];
  occurredAt: Date;
  now: Date;
  contributions: readonly Contribution[];
  /** Whether this was the member's first purchase at this partner. */
  firstAtPartner: boolean;
  /** The hub's counter shards, for a listener that posts an entry of its own through the kernel. */
  counterShards: number;
}

/** What a listener is told once a return of an earlier purchase is applied (its points, if any, given back). */
export interface EvaluatedReturn {
  activityId: string;
  partnerId: string;
  memberId: string;
  /** The returned purchase's activity id. */
  purchaseActivityId: string;
  purchaseTotalMinor: bigint;
  /** What was returned of the purchase before this return, and by this one (minor units). */
  returnedBeforeMinor: bigint;
  amountMinor: bigint;
  now: Date;
}

/** A stamp card's move in one activity (docs/stamp-cards.md), as the receipt lists it. */
export interface StampMove {
  cardId: string;
  name: string;
  /** Stamps this activity added (a purchase) or took back (a return: negative). */
  stamps: string;
  /** Stamps on the card now (toward its next completion). */
  stampsNow: string;
  stampsRequired: number;
  /** Cards completed by this activity. */
  completed: string;
  /** The reward's entry and points when this activity completed the card. */
  rewardEntryId: string | null;
  rewardPoints: string | null;
  /** In plain words, e.g. "Coffee card: +3 stamps (6 of 10)". */
  reason: string;
}

/** What a listener adds to the activity's result and receipt. */
export interface ListenerOutcome {
  stamps?: StampMove[];
  notes?: string[];
  /** The member's wallet balance after the listener's own entries, if it posted any. */
  balance?: bigint;
}

/**
 * A hook for features built on purchases (stamp cards, referrals: docs/loyalty-engine.md): called
 * after a purchase is evaluated, inside the same transaction, holding the member's wallet lock. A
 * listener may write its own tables; it must not throw for an expected outcome (a thrown error
 * rolls the whole activity back). None by default.
 */
export interface PurchaseListener {
  readonly name: string;
  /** A refusal (e.g. the reward's funding limit) refuses the whole activity: nothing is written. */
  onPurchase(tx: EntityManager, purchase: EvaluatedPurchase): Promise<ListenerOutcome | void | OpError<'activity'>>;
  /** Called after a return of a purchase is applied, in its transaction and under the wallet lock. */
  onReturn?(tx: EntityManager, ret: EvaluatedReturn): Promise<ListenerOutcome | void | OpError<'activity'>>;
}
