import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A coalition member: one person, one combined CP balance, linked to partners by their own references.' })
export class Member {
  @Field(() => ID) id!: string;
  @Field() createdAt!: Date;
}
