import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { LedgerQueryService } from '../../ledger/ledger-query.service';
import { InstructionFailed, type Accepted, type BatchItemOutcome, type InstructionService } from '../../instructions/instruction.service';
import type { DomainError } from '../../common/errors';
import { isDomainError } from '../../common/errors';
import { partnerIdOf } from '../viewer-scope';
import type { RequestContext } from '../context';
import { present } from '../present';
import {
  AcknowledgementReceipt,
  DisputeReceipt,
  EnrollReceipt,
  Hold,
  HoldReceipt,
  InstructionReceipt,
  IssueReceipt,
  RedeemReceipt,
  ReversalReceipt,
  TransferReceipt,
  ActivityReceipt,
} from '../types/receipt.type';
import {
  authorizeFailures,
  AuthorizeResult,
  captureFailures,
  CaptureResult,
  enrollFailures,
  EnrollResult,
  issueFailures,
  IssueResult,
  redeemFailures,
  RedeemResult,
  voidFailures,
  VoidResult,
  reverseFailures,
  ReverseResult,
  transferFailures,
  TransferResult,
  acknowledgeFailures,
  AcknowledgeResult,
  disputeFailures,
  DisputeResult,
  activityFailures,
  ActivityResult,
} from '../types/results.type';
import { referenceArg } from '../identifier-args';
import {
  BATCH_OPS,
  BatchInstructionResult,
  InstructionBatch,
  SubmitInstructionsResult,
  submitInstructionsFailures,
  unverifiedFailures,
} from '../types/batch.type';
import { toErrorResult, type BatchTooLarge } from '../types/error-result.type';

const INSTRUCTION_HELP =
  'A compact JWS signed by the partner (header typ coalition-tx+jwt). It authenticates itself: no bearer token is needed.';

/** Receipt fields as GraphQL sees them: the stored result plus jti, receipt and replay flag. */
const flatten = <E extends DomainError>(outcome: Accepted | E) =>
  isDomainError(outcome) ? outcome : { ...outcome.data, jti: outcome.jti, receipt: outcome.receipt, replayed: outcome.replayed };

@Resolver()
export class InstructionResolver {
  constructor(
    private readonly instructions: InstructionService,
    private readonly ledger: LedgerQueryService,
  ) {}

  @Mutation(() => EnrollResult, {
    description: 'Enroll a customer (op "enroll"), or link them to an existing member by verified e-mail/phone hash.',
  })
  async enrollMember(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof EnrollResult> {
    return present(flatten(await this.instructions.submit('enroll', instruction)), EnrollReceipt, enrollFailures);
  }

  @Mutation(() => IssueResult, { description: 'Issue (earn) CP to a member at the signing partner (op "issue").' })
  async issuePoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof IssueResult> {
    return present(flatten(await this.instructions.submit('issue', instruction)), IssueReceipt, issueFailures);
  }

  @Mutation(() => RedeemResult, {
    description: 'Redeem (burn) CP of a member at the signing partner (op "redeem"); lots are spent first-expiring-first-out.',
  })
  async redeemPoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof RedeemResult> {
    return present(flatten(await this.instructions.submit('redeem', instruction)), RedeemReceipt, redeemFailures);
  }

  @Mutation(() => AuthorizeResult, {
    description:
      'Two-phase redemption, step 1 (op "authorize"): hold CP of a member for a basket; held points are not spendable elsewhere.',
  })
  async authorizeRedemption(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof AuthorizeResult> {
    return present(flatten(await this.instructions.submit('authorize', instruction)), HoldReceipt, authorizeFailures);
  }

  @Mutation(() => CaptureResult, {
    description: 'Step 2 (op "capture"): redeem up to the held amount, once; the rest of the hold is released.',
  })
  async captureRedemption(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof CaptureResult> {
    return present(flatten(await this.instructions.submit('capture', instruction)), RedeemReceipt, captureFailures);
  }

  @Mutation(() => VoidResult, { description: 'Or (op "void"): release the whole hold.' })
  async voidRedemption(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof VoidResult> {
    return present(flatten(await this.instructions.submit('void', instruction)), HoldReceipt, voidFailures);
  }

  @Mutation(() => TransferResult, {
    description:
      'A gift or family pooling (op "transfer") between two of the signing partner\'s members, when contracts allow it; lots keep issuer and expiry.',
  })
  async transferPoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof TransferResult> {
    return present(flatten(await this.instructions.submit('transfer', instruction)), TransferReceipt, transferFailures);
  }

  @Mutation(() => AcknowledgeResult, {
    description: 'Acknowledge a settlement statement (op "acknowledge"): the partner signs its digest.',
  })
  async acknowledgeStatement(
    @Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string,
  ): Promise<typeof AcknowledgeResult> {
    return present(flatten(await this.instructions.submit('acknowledge', instruction)), AcknowledgementReceipt, acknowledgeFailures);
  }

  @Mutation(() => DisputeResult, { description: 'Dispute lines of a settlement statement (op "dispute"), with a reason.' })
  async disputeStatement(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof DisputeResult> {
    return present(flatten(await this.instructions.submit('dispute', instruction)), DisputeReceipt, disputeFailures);
  }

  @Mutation(() => ReverseResult, {
    description: 'A refund (op "reverse"): reverse (part of) an earlier issue or redemption of the signing partner, by its entryId.',
  })
  async reversePoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof ReverseResult> {
    return present(flatten(await this.instructions.submit('reverse', instruction)), ReversalReceipt, reverseFailures);
  }

  @Mutation(() => ActivityResult, {
    description:
      'A purchase, a return or an action (op "activity"): the partner\'s earn rules and the campaigns in scope, evaluated; one entry; the receipt lists every contribution (docs/loyalty-engine.md).',
  })
  async submitActivity(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof ActivityResult> {
    return present(flatten(await this.instructions.submit('activity', instruction)), ActivityReceipt, activityFailures);
  }

  @Mutation(() => SubmitInstructionsResult, {
    description:
      'Up to 500 signed instructions (each carries its op in its op claim), each applied or refused on its own, in the order given: one refusal never affects another, and a jti sent before answers as it did then (docs/batches.md). More than 500: BatchTooLarge, and nothing is looked at.',
  })
  async submitInstructions(
    @Arg('instructions', () => [String], {
      description: 'Compact JWSs signed by partners (header typ coalition-tx+jwt), as for the single mutations.',
    })
    instructions: string[],
  ): Promise<typeof SubmitInstructionsResult> {
    const outcomes = await this.instructions.submitBatch(instructions);
    if (isDomainError(outcomes)) return toErrorResult(outcomes, submitInstructionsFailures) as BatchTooLarge;
    return Object.assign(new InstructionBatch(), { results: outcomes.map(presentBatchItem) });
  }

  @Authorized('partner')
  @Query(() => Hold, { nullable: true, description: "One of the calling partner's holds; null if it has none with that id." })
  hold(@Arg('id', () => ID) id: string, @Ctx() context: RequestContext) {
    return this.ledger.holdOfPartnerOrNull(partnerIdOf(context.viewer), id);
  }

  @Authorized('partner')
  @Query(() => InstructionReceipt, {
    nullable: true,
    description: "The receipt of one of the calling partner's earlier instructions; null if the hub never accepted that jti.",
  })
  async instructionReceipt(@Arg('jti', referenceArg) jti: string, @Ctx() context: RequestContext): Promise<InstructionReceipt | null> {
    return this.instructions.findReceiptOrNull(partnerIdOf(context.viewer), jti);
  }
}

/** One batch item as its op's own mutation would have answered it. */
function presentBatchItem({ index, op, jti, outcome }: BatchItemOutcome): BatchInstructionResult {
  if (outcome instanceof InstructionFailed) {
    const error = outcome.cause instanceof Error ? outcome.cause : new Error(String(outcome.cause));
    return BatchInstructionResult.of(index, jti, op, error);
  }
  if (isDomainError(outcome))
    return BatchInstructionResult.of(index, jti, op, toErrorResult(outcome, op ? BATCH_OPS[op].failures : unverifiedFailures));
  const { Receipt } = BATCH_OPS[outcome.op];
  return BatchInstructionResult.of(index, jti, op, Object.assign(new Receipt(), flatten(outcome)));
}
