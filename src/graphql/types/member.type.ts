import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';

/** An entity of the federated graph: other subgraphs join their own fields onto it by id (docs/federation.md). */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A coalition member: one person, one combined CP balance, linked to partners by their own references.' })
export class Member {
  @Field(() => ID) id!: string;
  @Field() createdAt!: Date;
}

export const MemberConnection = connectionOf(Member, 'Member');

@ObjectType({ description: 'The coalition tier: from CP earned through issues at every partner over a rolling window.' })
export class MemberTier {
  @Field() name!: string;
  @Field(() => AmountScalar, {
    nullable: true,
    description: 'Null for partner tokens: what was earned at other partners is not theirs to see.',
  })
  earnedInWindow!: bigint | null;
  @Field(() => Int) windowDays!: number;
  @Field(() => String, { nullable: true }) next!: string | null;
  @Field(() => AmountScalar, { nullable: true, description: 'CP still to earn in the window for the next tier (null for partner tokens).' })
  toNext!: bigint | null;
}
