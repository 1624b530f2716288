import { Field, ID, InterfaceType, ObjectType } from 'type-graphql';
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
  @Field({ description: 'True when linked to a member another partner enrolled (same verified e-mail or phone hash).' }) linkedExisting!: boolean;
}

@InterfaceType({ implements: AcceptedInstruction, description: 'What an issue or a redemption returns.' })
export abstract class MovementReceipt extends AcceptedInstruction {
  @Field(() => ID) entryId!: string;
  @Field(() => AmountScalar) amount!: string;
  @Field(() => AmountScalar, { description: "The member's CP balance right after this entry." }) balance!: string;
  @Field() recordedAt!: Date;
}

@ObjectType({ implements: [AcceptedInstruction, MovementReceipt] })
export class IssueReceipt extends MovementReceipt {}

@ObjectType({ implements: [AcceptedInstruction, MovementReceipt] })
export class RedeemReceipt extends MovementReceipt {
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
