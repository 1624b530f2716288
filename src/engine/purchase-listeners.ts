import type { EntityManager } from 'typeorm';
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
}

/**
 * A hook for features built on purchases (stamp cards, referrals: docs/loyalty-engine.md): called
 * after a purchase is evaluated, inside the same transaction, holding the member's wallet lock. A
 * listener may write its own tables; it must not throw for an expected outcome (a thrown error
 * rolls the whole activity back). None by default.
 */
export interface PurchaseListener {
  readonly name: string;
  onPurchase(tx: EntityManager, purchase: EvaluatedPurchase): Promise<void>;
}
