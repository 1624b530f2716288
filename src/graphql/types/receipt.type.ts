import { Field, ID, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { AmountScalar } from '../scalars';

@ObjectType({ description: 'An issuer whose lots a redemption consumed, and how many of its points.' })
export class LotConsumption {
  @Field() issuerPartnerId!: string;
  @Field(() => AmountScalar) amount!: string;
}

@InterfaceType({ description: 'What every accepted instruction returns.' })
export abstract class AcceptedInstruction {
  @Field() jti!: string;
  @Field({ description: 'The hub-signed receipt (compact JWS); verify it against /.well-known/jwks.json.' }) receipt!: string;
  @Field({ description: 'True when this jti was accepted before and this is the original outcome, unchanged.' }) replayed!: boolean;
  @Field(() => ID) memberId!: string;
}

@ObjectType({ implements: AcceptedInstruction })
export class EnrollReceipt extends AcceptedInstruction {
  @Field() memberRef!: string;
  @Field({ description: 'True when linked to a member another partner enrolled (same verified e-mail or phone hash).' })
  linkedExisting!: boolean;
}

@InterfaceType({ implements: AcceptedInstruction, description: 'What an issue or a redemption returns.' })
export abstract class MovementReceipt extends AcceptedInstruction {
  @Field(() => ID) entryId!: string;
  @Field(() => AmountScalar) amount!: string;
  @Field(() => AmountScalar, {
    description: "The member's balance of the entry's asset (CP, or the partner's unit) right after this entry.",
  })
  balance!: string;
  @Field() recordedAt!: Date;
}

@ObjectType({ implements: [AcceptedInstruction, MovementReceipt] })
export class IssueReceipt extends MovementReceipt {
  @Field({ description: "CP, or the partner's own unit (e.g. ACME.STARS)." }) asset: string = 'CP';
  @Field(() => Date, { nullable: true, description: 'For points issued inside a return window: when they become spendable.' })
  vestsAt: Date | null = null;
}

@ObjectType({ implements: [AcceptedInstruction, MovementReceipt], description: 'A refund: the entry it reverses is reversesEntryId.' })
export class ReversalReceipt extends MovementReceipt {
  @Field(() => ID) reversesEntryId!: string;
}

@ObjectType({
  implements: [AcceptedInstruction, MovementReceipt],
  description: "A transfer between two members: memberId and balance are the sender's, toMemberId the recipient.",
})
export class TransferReceipt extends MovementReceipt {
  @Field(() => ID) toMemberId!: string;
  @Field(() => [LotConsumption], { description: 'Whose points moved; they keep their issuer and expiry.' }) moved!: LotConsumption[];
}

@ObjectType({ implements: [AcceptedInstruction, MovementReceipt] })
export class RedeemReceipt extends MovementReceipt {
  @Field({ description: "CP, or the partner's own unit (e.g. ACME.STARS)." }) asset: string = 'CP';
  @Field(() => [LotConsumption]) consumed!: LotConsumption[];
}

@ObjectType({ description: 'An instruction the hub accepted earlier, looked up by its jti.' })
export class InstructionReceipt {
  @Field() jti!: string;
  @Field() op!: string;
  @Field(() => ID, { nullable: true }) entryId!: string | null;
  @Field() receipt!: string;
  @Field() receivedAt!: Date;
}

export enum HoldStatus {
  pending = 'pending',
  captured = 'captured',
  voided = 'voided',
  expired = 'expired',
}
registerEnumType(HoldStatus, { name: 'HoldStatus' });

@ObjectType({ implements: AcceptedInstruction, description: 'A hold after authorize (pending) or void (voided).' })
export class HoldReceipt extends AcceptedInstruction {
  @Field(() => ID) holdId!: string;
  @Field(() => AmountScalar, { description: 'The amount held.' }) amount!: string;
  @Field(() => HoldStatus) status!: HoldStatus;
  @Field() expiresAt!: Date;
  @Field(() => AmountScalar, { description: "The member's spendable balance right after: balance minus every active hold." })
  available!: string;
}

@ObjectType({ description: 'A hold as it stands now (a pending hold past its expiry reads as expired).' })
export class Hold {
  @Field(() => ID) id!: string;
  @Field(() => ID) memberId!: string;
  @Field(() => AmountScalar) amount!: bigint;
  @Field(() => AmountScalar) captured!: bigint;
  @Field(() => HoldStatus) status!: HoldStatus;
  @Field(() => String, { nullable: true }) orderRef!: string | null;
  @Field() createdAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => Date, { nullable: true }) closedAt!: Date | null;
}

@ObjectType({ description: 'A settlement statement acknowledged: the hub keeps the signed instruction as the acknowledgement.' })
export class AcknowledgementReceipt {
  @Field() jti!: string;
  @Field({ description: 'The hub-signed receipt (compact JWS).' }) receipt!: string;
  @Field() replayed!: boolean;
  @Field(() => ID) statementId!: string;
  @Field() digest!: string;
  @Field() status!: string;
}

@ObjectType({ description: 'Lines of a settlement statement disputed; finance resolves it with an adjustment in the open period.' })
export class DisputeReceipt {
  @Field() jti!: string;
  @Field({ description: 'The hub-signed receipt (compact JWS).' }) receipt!: string;
  @Field() replayed!: boolean;
  @Field(() => ID) disputeId!: string;
  @Field(() => ID) statementId!: string;
  @Field() digest!: string;
  @Field(() => [AmountScalar]) lines!: string[];
  @Field() status!: string;
}

@ObjectType({ description: 'A rule, the tier multiplier or a campaign that contributed to an activity, and why (docs/loyalty-engine.md).' })
export class ActivityContribution {
  @Field({ description: 'rule, tier or campaign.' }) source!: string;
  @Field({ description: "The rule's id, the tier's name or the campaign's id." }) sourceId!: string;
  @Field(() => Int, { description: 'The version of the rule or campaign used.' }) version!: number;
  @Field(() => String, { description: 'Whole points (negative on a return: given back).' }) points!: string;
  @Field({ description: 'In plain words, e.g. "Gold tier +25 %".' }) reason!: string;
  @Field({ description: 'The partner whose issuance these points are charged to.' }) fundingPartnerId!: string;
}

@ObjectType({ description: 'A stamp card an activity moved (docs/stamp-cards.md): its stamps, and the reward when it completed the card.' })
export class ActivityStamps {
  @Field(() => ID) cardId!: string;
  @Field() name!: string;
  @Field(() => String, { description: 'Stamps added (a return: taken back, negative).' }) stamps!: string;
  @Field(() => String, { description: 'Stamps on the card now, toward the next completion.' }) stampsNow!: string;
  @Field(() => Int) stampsRequired!: number;
  @Field(() => String, { description: 'Cards completed by this activity (0 or more).' }) completed!: string;
  @Field(() => ID, { nullable: true, description: "The reward's entry (bonus points from the partner), when the card completed." })
  rewardEntryId!: string | null;
  @Field(() => AmountScalar, { nullable: true }) rewardPoints!: string | null;
  @Field({ description: 'In plain words, e.g. "Coffee card: +3 stamps (6 of 10)".' }) reason!: string;
}

@ObjectType({
  implements: AcceptedInstruction,
  description: 'An activity (op "activity"): the points earned (a return: given back) as one entry, and every contribution.',
})
export class ActivityReceipt extends AcceptedInstruction {
  @Field(() => ID) activityId!: string;
  @Field({ description: 'purchase, return or action.' }) activity!: string;
  @Field(() => ID, { nullable: true, description: 'The entry of the points; null when the activity moved none.' }) entryId!: string | null;
  @Field(() => AmountScalar, { description: 'Points earned, or given back by a return.' }) amount!: string;
  @Field(() => AmountScalar) balance!: string;
  @Field() recordedAt!: Date;
  @Field(() => ID, { nullable: true, description: "A return: the purchase's entry." }) reversesEntryId: string | null = null;
  @Field(() => Date, { nullable: true }) vestsAt: Date | null = null;
  @Field(() => [ActivityContribution]) contributions!: ActivityContribution[];
  @Field(() => [String], { description: 'Rules and campaigns that did not apply, and why.' }) notes!: string[];
  @Field(() => [ActivityStamps], { description: 'Stamp cards this activity moved (docs/stamp-cards.md).' }) stamps: ActivityStamps[] = [];
}
