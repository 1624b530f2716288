import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { Accepted, InstructionService } from '../../instructions/instruction.service';
import type { DomainError } from '../../common/errors';
import { isDomainError } from '../../common/errors';
import { partnerIdOf } from '../viewer-scope';
import type { RequestContext } from '../context';
import { present } from '../present';
import { EnrollReceipt, InstructionReceipt, IssueReceipt, RedeemReceipt } from '../types/receipt.type';
import { enrollFailures, EnrollResult, issueFailures, IssueResult, redeemFailures, RedeemResult } from '../types/results.type';

const INSTRUCTION_HELP = 'A compact JWS signed by the partner (header typ coalition-tx+jwt). It authenticates itself: no bearer token is needed.';

/** Receipt fields as GraphQL sees them: the stored result plus jti, receipt and replay flag. */
const flatten = (outcome: Accepted | DomainError) =>
  isDomainError(outcome) ? outcome : { ...outcome.data, jti: outcome.jti, receipt: outcome.receipt, replayed: outcome.replayed };

@Resolver()
export class InstructionResolver {
  constructor(private readonly instructions: InstructionService) {}

  @Mutation(() => EnrollResult, { description: 'Enroll a customer (op "enroll"), or link them to an existing member by verified e-mail/phone hash.' })
  async enrollMember(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof EnrollResult> {
    return present(flatten(await this.instructions.submit('enroll', instruction)), EnrollReceipt, enrollFailures);
  }

  @Mutation(() => IssueResult, { description: 'Issue (earn) CP to a member at the signing partner (op "issue").' })
  async issuePoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof IssueResult> {
    return present(flatten(await this.instructions.submit('issue', instruction)), IssueReceipt, issueFailures);
  }

  @Mutation(() => RedeemResult, { description: 'Redeem (burn) CP of a member at the signing partner (op "redeem"); lots are spent first-expiring-first-out.' })
  async redeemPoints(@Arg('instruction', { description: INSTRUCTION_HELP }) instruction: string): Promise<typeof RedeemResult> {
    return present(flatten(await this.instructions.submit('redeem', instruction)), RedeemReceipt, redeemFailures);
  }

  @Authorized('partner')
  @Query(() => InstructionReceipt, { nullable: true, description: "The receipt of one of the calling partner's earlier instructions; null if the hub never accepted that jti." })
  async instructionReceipt(@Arg('jti') jti: string, @Ctx() context: RequestContext): Promise<InstructionReceipt | null> {
    return this.instructions.findReceiptOrNull(partnerIdOf(context.viewer), jti);
  }
}
