import type { EntityManager } from 'typeorm';
import type { RedeemRewardClaims, UseEntitlementClaims } from '../common/claims';
import type { OpError } from '../common/op-errors';
import { opMayReturn } from '../common/op-errors';
import { assert } from '../common/assert';
import { isDomainError } from '../common/errors';
import type { MovementContext } from '../operations/context';
import { useEntitlement, type EntitlementUse } from './entitlements';
import { redeemReward, type RewardRedemption } from './redemption';

/**
 * The rewards catalogue's signed instructions (docs/rewards.md), as the registry
 * (src/operations/registry.ts) runs them inside the instruction's transaction.
 */

/** `redeem_reward`: a partner redeems a reward for its member; the entry settles to the providing partner. */
export async function redeemRewardForMember(
  tx: EntityManager,
  context: MovementContext,
  claims: RedeemRewardClaims,
): Promise<RewardRedemption | OpError<'redeem_reward'>> {
  const outcome = await redeemReward(tx, {
    rewardId: claims.reward,
    member: { partnerId: context.partnerId, ref: claims.member },
    requestedBy: context.partnerId,
    jti: claims.jti,
    idempotencyKey: null,
    orderRef: claims.orderRef,
    entryId: context.entryId,
    now: context.now,
    counterShards: context.counterShards,
    tiers: context.tiers,
  });
  if (!isDomainError(outcome)) return outcome;
  // Without an idempotency key there is no key conflict: the jti is the instruction's idempotency.
  assert(opMayReturn('redeem_reward', outcome), `redeem_reward cannot answer ${outcome.code}`);
  return outcome;
}

/** `use_entitlement`: the providing partner marks an entitlement used by its code. */
export function useEntitlementByCode(
  tx: EntityManager,
  context: MovementContext,
  claims: UseEntitlementClaims,
): Promise<EntitlementUse | OpError<'use_entitlement'>> {
  return useEntitlement(tx, context.partnerId, claims.code, claims.jti, context.now);
}
