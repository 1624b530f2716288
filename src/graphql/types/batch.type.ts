import { createUnionType, Field, Int, ObjectType } from 'type-graphql';
import type { Op } from '@coalition-hub/partner-sdk';
import { BatchTooLarge, failuresOf, instructionRejections, type ErrorClass, type ErrorResult } from './error-result.type';
import {
  AcknowledgementReceipt,
  DisputeReceipt,
  EnrollReceipt,
  HoldReceipt,
  IssueReceipt,
  RedeemReceipt,
  ReversalReceipt,
  TransferReceipt,
  ActivityReceipt,
} from './receipt.type';
import {
  acknowledgeFailures,
  authorizeFailures,
  captureFailures,
  disputeFailures,
  enrollFailures,
  issueFailures,
  redeemFailures,
  reverseFailures,
  transferFailures,
  voidFailures,
  activityFailures,
} from './results.type';
import { EntitlementUseReceipt, redeemRewardForMemberFailures, RewardRedemptionReceipt, useEntitlementFailures } from './reward.type';
import { GrantReceipt, grantFailures } from './grant.type';

/** Each op's success type and failure list: the same as its own mutation's result union. */
export const BATCH_OPS = {
  enroll: { Receipt: EnrollReceipt, failures: enrollFailures },
  issue: { Receipt: IssueReceipt, failures: issueFailures },
  redeem: { Receipt: RedeemReceipt, failures: redeemFailures },
  authorize: { Receipt: HoldReceipt, failures: authorizeFailures },
  capture: { Receipt: RedeemReceipt, failures: captureFailures },
  void: { Receipt: HoldReceipt, failures: voidFailures },
  transfer: { Receipt: TransferReceipt, failures: transferFailures },
  reverse: { Receipt: ReversalReceipt, failures: reverseFailures },
  acknowledge: { Receipt: AcknowledgementReceipt, failures: acknowledgeFailures },
  dispute: { Receipt: DisputeReceipt, failures: disputeFailures },
  redeem_reward: { Receipt: RewardRedemptionReceipt, failures: redeemRewardForMemberFailures },
  use_entitlement: { Receipt: EntitlementUseReceipt, failures: useEntitlementFailures },
  grant: { Receipt: GrantReceipt, failures: grantFailures },
  activity: { Receipt: ActivityReceipt, failures: activityFailures },
} as const satisfies Record<Op, { Receipt: new () => object; failures: readonly ErrorClass[] }>;

/** An instruction whose op is unknown (it did not verify) can only have been refused by the pipeline. */
export const unverifiedFailures = instructionRejections;

const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];

/** Every type any op's result union holds, once each. */
const batchItemTypes = unique<new () => object>([
  ...Object.values(BATCH_OPS).map((entry) => entry.Receipt),
  ...Object.values(BATCH_OPS).flatMap((entry) => [...entry.failures]),
]);

export const BatchItemResult = createUnionType({
  name: 'BatchItemResult',
  description:
    "How one instruction of a batch ended: its op's receipt type, or one of its op's error types (an instruction that did not verify has op null and one of the instruction rejections).",
  types: () => batchItemTypes as unknown as readonly [typeof IssueReceipt],
});

@ObjectType({ description: 'One instruction of a batch, at its position in the batch.' })
export class BatchInstructionResult {
  @Field(() => Int, { description: 'Its position in the list sent, from 0.' }) index!: number;
  @Field(() => String, { nullable: true, description: 'Its jti, once its signature verified.' }) jti!: string | null;
  @Field(() => String, { nullable: true, description: 'Its op claim, once its signature verified; null otherwise.' }) op!: string | null;
  /** An internal (database) error of this instruction alone: thrown when `result` is read, so GraphQL reports it at this item's path. */
  private failure: Error | undefined;
  private outcome: object | ErrorResult | null = null;

  static of(index: number, jti: string | null, op: string | null, outcome: object | ErrorResult | Error): BatchInstructionResult {
    const item = Object.assign(new BatchInstructionResult(), { index, jti, op });
    if (outcome instanceof Error) item.failure = outcome;
    else item.outcome = outcome;
    return item;
  }

  @Field(() => BatchItemResult, {
    nullable: true,
    description:
      'The outcome. Null only when this instruction failed on an internal error (listed in `errors` at its path): nothing of it was written, and sending it again is safe.',
  })
  get result(): object | null {
    if (this.failure) throw this.failure;
    return this.outcome;
  }
}

@ObjectType({ description: 'The outcome of every instruction of a batch, one per instruction sent, in the same order.' })
export class InstructionBatch {
  @Field(() => [BatchInstructionResult]) results!: BatchInstructionResult[];
}

export const submitInstructionsFailures = failuresOf('submitInstructions', [BatchTooLarge]);

export const SubmitInstructionsResult = createUnionType({
  name: 'SubmitInstructionsResult',
  types: () => [InstructionBatch, ...submitInstructionsFailures] as const,
});
