import type { Op } from '@coalition-hub/partner-sdk';

/**
 * Every mutation that takes a partner-signed instruction, and the op it carries. Metrics count
 * by op; a unit test checks that this list names every Mutation field with an `instruction`
 * argument in schema/schema.graphql, so a new signed mutation cannot go uncounted.
 */
export const INSTRUCTION_MUTATIONS = {
  enrollMember: 'enroll',
  issuePoints: 'issue',
  redeemPoints: 'redeem',
  authorizeRedemption: 'authorize',
  captureRedemption: 'capture',
  voidRedemption: 'void',
  transferPoints: 'transfer',
  reversePoints: 'reverse',
  acknowledgeStatement: 'acknowledge',
  disputeStatement: 'dispute',
  redeemRewardForMember: 'redeem_reward',
  useEntitlement: 'use_entitlement',
  grantPoints: 'grant',
  submitActivity: 'activity',
} as const satisfies Record<string, Op>;

/** The op label of a signed mutation field; `unknown` for one this list misses. */
export const instructionOpOf = (fieldName: string): string => (INSTRUCTION_MUTATIONS as Record<string, string>)[fieldName] ?? 'unknown';

export const isInstructionMutation = (fieldName: string): boolean => Object.hasOwn(INSTRUCTION_MUTATIONS, fieldName);
