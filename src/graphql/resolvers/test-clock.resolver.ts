import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, createUnionType } from 'type-graphql';
import type { TestClockService } from '../../jobs/test-clocks.service';
import type { TestClockRow } from '../../members/test-clocks';
import type { RequestContext } from '../context';
import { present } from '../present';
import { PageArgs } from '../types/connection.type';
import { failuresOf, InvalidInput, NotFound, SandboxOnly } from '../types/error-result.type';
import { Member } from '../types/member.type';
import { CreateTestClockInput, TestClock, TestClockAdvanced, TestClockConnection, TestClockDeleted } from '../types/test-clock.type';

const listFailures = failuresOf('testClocks', [SandboxOnly]);
export const TestClocksResult = createUnionType({
  name: 'TestClocksResult',
  types: () => [TestClockConnection, ...listFailures] as const,
});
const createFailures = failuresOf('createTestClock', [SandboxOnly, InvalidInput]);
export const CreateTestClockResult = createUnionType({
  name: 'CreateTestClockResult',
  types: () => [TestClock, ...createFailures] as const,
});
const changeFailures = failuresOf('testClockChange', [SandboxOnly, NotFound, InvalidInput]);
export const AdvanceTestClockResult = createUnionType({
  name: 'AdvanceTestClockResult',
  types: () => [TestClockAdvanced, ...changeFailures] as const,
});
export const DeleteTestClockResult = createUnionType({
  name: 'DeleteTestClockResult',
  types: () => [TestClockDeleted, ...changeFailures] as const,
});
export const AttachMemberToTestClockResult = createUnionType({
  name: 'AttachMemberToTestClockResult',
  types: () => [TestClock, ...changeFailures] as const,
});

/** Sandbox test clocks (docs/sandbox.md): operators only; a hub that is not a sandbox answers SandboxOnly. */
@Resolver(() => TestClock)
export class TestClockResolver {
  constructor(private readonly clocks: TestClockService) {}

  @Authorized('operator')
  @Query(() => TestClocksResult, { description: 'Test clocks, oldest first (sandbox hubs only).' })
  async testClocks(@Args() page: PageArgs): Promise<typeof TestClocksResult> {
    return present(await this.clocks.list(page), TestClockConnection, listFailures);
  }

  @FieldResolver(() => Int, { description: 'Members attached to the clock.' })
  memberCount(@Root() testClock: TestClockRow, @Ctx() context: RequestContext): Promise<number> {
    return context.loaders.testClockMembers.load(testClock.id);
  }

  @Authorized('operator')
  @Mutation(() => CreateTestClockResult, { description: 'Makes a test clock frozen at frozenTime (sandbox hubs only).' })
  async createTestClock(@Arg('input', () => CreateTestClockInput) input: CreateTestClockInput): Promise<typeof CreateTestClockResult> {
    return present(await this.clocks.create(input.name, input.frozenTime), TestClock, createFailures);
  }

  @Authorized('operator')
  @Mutation(() => AdvanceTestClockResult, {
    description:
      'Moves the clock forward to frozenTime and runs, in order of due time, what became due for its members: hold expiry, vesting, lot expiry (docs/sandbox.md). Answers once it is done.',
  })
  async advanceTestClock(
    @Arg('id', () => ID) id: string,
    @Arg('frozenTime', () => Date) frozenTime: Date,
  ): Promise<typeof AdvanceTestClockResult> {
    return present(await this.clocks.advance(id, frozenTime), TestClockAdvanced, changeFailures);
  }

  @Authorized('operator')
  @Mutation(() => DeleteTestClockResult, {
    description: 'Deletes a test clock that has no members (a member keeps its ledger history, and its clock).',
  })
  async deleteTestClock(@Arg('id', () => ID) id: string): Promise<typeof DeleteTestClockResult> {
    return present(await this.clocks.remove(id), TestClockDeleted, changeFailures);
  }

  @Authorized('operator')
  @Mutation(() => AttachMemberToTestClockResult, {
    description: 'Puts an enrolled member with no entries and no holds yet on the test clock: from then on it lives on that time.',
  })
  async attachMemberToTestClock(
    @Arg('memberId', () => ID) memberId: string,
    @Arg('testClockId', () => ID) testClockId: string,
  ): Promise<typeof AttachMemberToTestClockResult> {
    return present(await this.clocks.attach(memberId, testClockId), TestClock, changeFailures);
  }
}

/** Member.testClock: the clock a member lives on (null: real time). */
@Resolver(() => Member)
export class MemberTestClockResolver {
  @FieldResolver(() => TestClock, { nullable: true, description: 'The sandbox test clock the member lives on; null: real time.' })
  testClock(@Root() member: Member, @Ctx() context: RequestContext): Promise<TestClockRow | null> {
    return context.loaders.memberTestClock.load(member.id);
  }
}
