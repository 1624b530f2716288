import type { DataSource } from 'typeorm';
import { assert } from '../common/assert';
import type { Clock, TimeScope } from '../common/clock';
import { ErrorCode, fail, isDomainError, type DomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { limits } from '../config/limits';
import { withTransaction } from '../db/with-transaction';
import { readCursor, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import {
  attachMember,
  countClockMembers,
  deleteTestClock,
  findTestClock,
  findMemberClocks,
  findTestClocks,
  insertTestClock,
  listTestClocks,
  memberClockForAttach,
  setFrozenTime,
  type TestClockRow,
} from '../members/test-clocks';
import type { ExpiryService } from '../operations/expire';
import { announceVesting, expireHolds } from './scheduled-jobs';

const DAY_MS = 86_400_000;
const CLOCK_CURSOR = /^[0-9]{1,19}$/;

/** What one advance ran: the jobs at each due time between the old and the new frozen time (docs/sandbox.md). */
export interface TestClockAdvance {
  testClock: TestClockRow;
  /** Distinct due times the jobs ran at, in order. */
  dueTimesRun: number;
  holdsExpired: number;
  lotsVested: number;
  lotsExpired: number;
  pointsExpired: bigint;
}

/**
 * Sandbox test clocks (docs/sandbox.md), modelled on Stripe's: a clock is a frozen time that only moves
 * forward; members attached to it live on it. Advancing a clock runs, at each due time in order, the
 * same hold-expiry, vesting and expiry code the scheduled jobs run for real time, scoped to the
 * clock's members and at that time. Every method of a hub that is not a sandbox answers SandboxOnly.
 */
export class TestClockService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly sandbox: boolean,
    private readonly expiry: ExpiryService,
  ) {}

  async create(name: string, frozenTime: Date): Promise<TestClockRow | OpError<'createTestClock'>> {
    if (!this.sandbox) return sandboxOnly();
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > limits.testClockNameLengthMax)
      return fail(ErrorCode.INVALID_INPUT, `a test clock's name is 1 to ${limits.testClockNameLengthMax} characters`, { field: 'name' });
    const now = this.clock.now();
    // Contracts, rates and settlement periods are effective-dated on real time: a clock starts now or later.
    if (frozenTime.getTime() < now.getTime() - limits.testClockStartPastSecondsMax * 1000)
      return fail(ErrorCode.INVALID_INPUT, 'a test clock starts now or later, not in the past', { field: 'frozenTime' });
    if (frozenTime.getTime() > now.getTime() + limits.testClockAdvanceDaysMax * DAY_MS)
      return fail(ErrorCode.INVALID_INPUT, `a test clock starts at most ${limits.testClockAdvanceDaysMax} days from now`, {
        field: 'frozenTime',
      });
    return insertTestClock(this.dataSource.manager, trimmed, frozenTime, now);
  }

  async list(page: Page): Promise<Connection<TestClockRow> | OpError<'testClocks'>> {
    if (!this.sandbox) return sandboxOnly();
    const after = readCursor(page.after, CLOCK_CURSOR);
    const rows = await listTestClocks(this.dataSource.manager, after, page.first + 1);
    return toConnection(rows, page, (row) => row.seq);
  }

  /** For a DataLoader: the clocks by id (null for none); empty answers in a hub that is not a sandbox. */
  async byIds(ids: readonly string[]): Promise<Array<TestClockRow | null>> {
    if (!this.sandbox) return ids.map(() => null);
    return findTestClocks(this.dataSource.manager, ids);
  }

  /**
   * For a DataLoader: each member's clock (null: real time). Shown in any hub: a database a sandbox used
   * keeps its members on their clocks, and a hub that is not a sandbox can neither make nor move one.
   */
  async ofMembers(memberIds: readonly string[]): Promise<Array<TestClockRow | null>> {
    return findMemberClocks(this.dataSource.manager, memberIds);
  }

  async memberCounts(ids: readonly string[]): Promise<number[]> {
    return countClockMembers(this.dataSource.manager, ids);
  }

  /** Removes a clock with no members; a member's ledger history is kept forever, so a clock with members stays. */
  async remove(id: string): Promise<{ id: string } | OpError<'testClockChange'>> {
    if (!this.sandbox) return sandboxOnly();
    return withTransaction(this.dataSource, async (tx) => {
      const found = await findTestClock(tx, id, true);
      if (!found) return notFound(id);
      const [members] = await countClockMembers(tx, [id]);
      if (members! > 0)
        return fail(ErrorCode.INVALID_INPUT, `test clock ${id} has ${members} members; a clock with members is kept`, { field: 'id' });
      await deleteTestClock(tx, id, this.clock.now());
      return { id };
    });
  }

  /**
   * Puts a member on the clock. Only a member with no entries and no holds: its history would otherwise
   * be on two times at once. Enrol first (a signed enroll, as in production), attach, then issue.
   */
  async attach(memberId: string, testClockId: string): Promise<TestClockRow | OpError<'testClockChange'>> {
    if (!this.sandbox) return sandboxOnly();
    return withTransaction(this.dataSource, async (tx) => {
      const testClock = await findTestClock(tx, testClockId, true);
      if (!testClock) return notFound(testClockId);
      const member = await memberClockForAttach(tx, memberId);
      if (!member) return fail(ErrorCode.NOT_FOUND, `there is no member ${memberId}`);
      if (member.testClockId === testClockId) return testClock;
      if (member.testClockId !== null)
        return fail(ErrorCode.INVALID_INPUT, `member ${memberId} lives on another test clock`, { field: 'memberId' });
      if (member.history)
        return fail(
          ErrorCode.INVALID_INPUT,
          `member ${memberId} has entries or holds on real time; attach a member before its first entry`,
          {
            field: 'memberId',
          },
        );
      await attachMember(tx, memberId, testClockId);
      return testClock;
    });
  }

  /**
   * Moves the clock forward to `to`, running everything that became due for its members in order of
   * due time. Advances of one clock are serialised by a session advisory lock; each step commits the
   * clock's time before the jobs run at it, so reads between steps see a consistent member time.
   */
  async advance(id: string, to: Date): Promise<TestClockAdvance | OpError<'testClockChange'>> {
    if (!this.sandbox) return sandboxOnly();
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query("SELECT pg_advisory_lock(hashtextextended('test-clock:' || $1, 0))", [id]);
      try {
        return await this.advanceLocked(id, to);
      } finally {
        await runner.query("SELECT pg_advisory_unlock(hashtextextended('test-clock:' || $1, 0))", [id]);
      }
    } finally {
      await runner.release();
    }
  }

  private async advanceLocked(id: string, to: Date): Promise<TestClockAdvance | OpError<'testClockChange'>> {
    const found = await findTestClock(this.dataSource.manager, id);
    if (!found) return notFound(id);
    if (to.getTime() <= found.frozenTime.getTime())
      return fail(ErrorCode.INVALID_INPUT, 'a test clock only moves forward: frozenTime must be after its current time', {
        field: 'frozenTime',
      });
    if (to.getTime() > found.frozenTime.getTime() + limits.testClockAdvanceDaysMax * DAY_MS)
      return fail(ErrorCode.INVALID_INPUT, `one advance moves a test clock at most ${limits.testClockAdvanceDaysMax} days`, {
        field: 'frozenTime',
      });
    const scope: TimeScope = { testClockId: id };
    const run: Omit<TestClockAdvance, 'testClock'> = { dueTimesRun: 0, holdsExpired: 0, lotsVested: 0, lotsExpired: 0, pointsExpired: 0n };
    for (;;) {
      const due = await this.nextDue(id, to);
      if (due === null) break;
      assert(run.dueTimesRun < limits.testClockAdvanceStepsMax, `test clock ${id}: more than ${limits.testClockAdvanceStepsMax} due times`);
      await this.moveTo(id, due);
      // The order the real-time jobs would meet them in at one instant: holds, then vesting, then expiry.
      run.holdsExpired += (await expireHolds(this.dataSource, scope, due)).items;
      run.lotsVested += (await announceVesting(this.dataSource, scope, due)).items;
      const expired = await this.expiry.run(scope, due);
      assert(expired.ran, `test clock ${id}: its expiry lock is held, though the clock's advance lock is ours`);
      run.lotsExpired += expired.lotsExpired;
      run.pointsExpired += expired.pointsExpired;
      run.dueTimesRun += 1;
    }
    const testClock = await this.moveTo(id, to);
    if (isDomainError(testClock)) return testClock;
    return { testClock, ...run };
  }

  /** Sets the frozen time (never backwards: a concurrent deletion or advance shows as NotFound or a no-op). */
  private async moveTo(id: string, at: Date): Promise<TestClockRow | DomainError<ErrorCode.NOT_FOUND>> {
    return withTransaction(this.dataSource, async (tx) => {
      const locked = await findTestClock(tx, id, true);
      if (!locked) return notFound(id);
      if (locked.frozenTime.getTime() < at.getTime()) await setFrozenTime(tx, id, at);
      return { ...locked, frozenTime: at.getTime() > locked.frozenTime.getTime() ? at : locked.frozenTime };
    });
  }

  /**
   * The earliest time, at or before `to`, at which something of the clock's members is due and not done:
   * a pending hold's expiry, an unannounced lot's vesting, a lot's expiry. Null when nothing is.
   * Everything due at or before a time is done by the jobs run at it, so each step moves past it.
   */
  private async nextDue(id: string, to: Date): Promise<Date | null> {
    const [row]: Array<{ due: Date | null }> = await this.dataSource.query(
      `WITH wallets AS (
         SELECT a.id FROM member m JOIN account a ON a.owner_kind = 'member' AND a.owner_id = m.id::text AND a.asset = 'CP' AND a.kind = 'wallet'
         WHERE m.test_clock_id = $1
       )
       SELECT least(
         (SELECT min(h.expires_at) FROM hold h JOIN member m ON m.id = h.member_id WHERE m.test_clock_id = $1 AND h.status = 'pending'),
         (SELECT min(l.vests_at) FROM lot l WHERE l.account_id IN (SELECT id FROM wallets)
            AND l.vests_at IS NOT NULL AND l.vesting_announced_at IS NULL AND l.remaining > 0 AND l.expires_at > l.vests_at),
         (SELECT min(l.expires_at) FROM lot l WHERE l.account_id IN (SELECT id FROM wallets) AND l.remaining > 0)
       ) AS due`,
      [id],
    );
    const due = row?.due ?? null;
    return due !== null && due.getTime() <= to.getTime() ? due : null;
  }
}

const sandboxOnly = (): DomainError<ErrorCode.SANDBOX_ONLY> =>
  fail(ErrorCode.SANDBOX_ONLY, 'test clocks exist only in a hub started with SANDBOX=true (docs/sandbox.md)');

const notFound = (id: string): DomainError<ErrorCode.NOT_FOUND> => fail(ErrorCode.NOT_FOUND, `there is no test clock ${id}`);
