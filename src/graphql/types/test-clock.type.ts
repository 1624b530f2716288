import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { AmountScalar } from '../scalars';
import { connectionOf } from './connection.type';

@ObjectType({
  description:
    'A sandbox test clock (docs/sandbox.md): a frozen time that moves only forward. Members attached to it live on its time; advancing it runs what became due for them.',
})
export class TestClock {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: "The clock's time: the now of every member attached to it." }) frozenTime!: Date;
  @Field({ description: 'Real time when the clock was made.' }) createdAt!: Date;
}

export const TestClockConnection = connectionOf(TestClock, 'TestClock');

@ObjectType({ description: 'What one advance of a test clock ran, at each due time in order (docs/sandbox.md).' })
export class TestClockAdvanced {
  @Field(() => TestClock) testClock!: TestClock;
  @Field(() => Int, { description: 'Distinct due times between the old and the new time at which the jobs ran.' }) dueTimesRun!: number;
  @Field(() => Int, { description: 'Pending holds closed as expired (hold.expired).' }) holdsExpired!: number;
  @Field(() => Int, { description: 'Lots announced as vested (points.vested).' }) lotsVested!: number;
  @Field(() => Int, { description: 'Lots expired into breakage (points.expired).' }) lotsExpired!: number;
  @Field(() => AmountScalar, { description: 'CP those lots held.' }) pointsExpired!: bigint;
}

@ObjectType({ description: 'A test clock was deleted.' })
export class TestClockDeleted {
  @Field(() => ID) id!: string;
}

@InputType()
export class CreateTestClockInput {
  @Field({ description: 'A name to tell clocks apart, 1 to 200 characters.' }) name!: string;
  @Field({ description: 'Where the clock starts: now or later (not more than 5 minutes in the past).' }) frozenTime!: Date;
}
