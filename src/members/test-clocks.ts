import type { EntityManager } from 'typeorm';
import type { ClaimsOf, InstructionClaims } from '../common/claims';
import { UUID_PATTERN } from '@coalition-hub/partner-sdk';
import { newId } from '../common/ids';

/**
 * Test clocks of a sandbox hub (docs/sandbox.md): rows and the member-time lookups. The rules (who may,
 * how far, what runs on an advance) are in src/jobs/test-clocks.service.ts.
 */
export interface TestClockRow {
  id: string;
  name: string;
  frozenTime: Date;
  createdAt: Date;
  seq: string;
}

interface Row {
  id: string;
  name: string;
  frozen_time: Date;
  created_at: Date;
  seq: string;
}

const COLUMNS = 'id, name, frozen_time, created_at, seq::text AS seq';

const rowOf = (row: Row): TestClockRow => ({
  id: row.id,
  name: row.name,
  frozenTime: row.frozen_time,
  createdAt: row.created_at,
  seq: row.seq,
});

export async function insertTestClock(
  tx: Pick<EntityManager, 'query'>,
  name: string,
  frozenTime: Date,
  createdAt: Date,
): Promise<TestClockRow> {
  const [row]: Row[] = await tx.query(
    `INSERT INTO test_clock (id, name, frozen_time, created_at) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [newId(), name, frozenTime, createdAt],
  );
  return rowOf(row!);
}

/** The clock, locked FOR UPDATE when `lock` (an advance, a deletion, an attachment), or null. */
export async function findTestClock(tx: Pick<EntityManager, 'query'>, id: string, lock = false): Promise<TestClockRow | null> {
  if (!UUID_PATTERN.test(id)) return null;
  const rows: Row[] = await tx.query(`SELECT ${COLUMNS} FROM test_clock WHERE id = $1 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return rows[0] ? rowOf(rows[0]) : null;
}

export async function findTestClocks(tx: Pick<EntityManager, 'query'>, ids: readonly string[]): Promise<Array<TestClockRow | null>> {
  const valid = ids.filter((id) => UUID_PATTERN.test(id));
  const rows: Row[] =
    valid.length === 0
      ? []
      : await tx.query(`SELECT ${COLUMNS} FROM test_clock WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [valid]);
  const byId = new Map(rows.map((row) => [row.id, rowOf(row)]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Oldest first, after the clock whose seq is `afterSeq`; `limit` rows. */
export async function listTestClocks(tx: Pick<EntityManager, 'query'>, afterSeq: string | null, limit: number): Promise<TestClockRow[]> {
  const rows: Row[] = await tx.query(
    `SELECT ${COLUMNS} FROM test_clock WHERE deleted_at IS NULL AND ($1::bigint IS NULL OR seq > $1::bigint) ORDER BY seq LIMIT $2`,
    [afterSeq, limit],
  );
  return rows.map(rowOf);
}

export async function setFrozenTime(tx: Pick<EntityManager, 'query'>, id: string, frozenTime: Date): Promise<void> {
  await tx.query('UPDATE test_clock SET frozen_time = $2 WHERE id = $1', [id, frozenTime]);
}

export async function countClockMembers(tx: Pick<EntityManager, 'query'>, ids: readonly string[]): Promise<number[]> {
  const rows: Array<{ id: string; members: string }> = await tx.query(
    `SELECT c.id, (SELECT count(*) FROM member m WHERE m.test_clock_id = c.id)::text AS members FROM unnest($1::uuid[]) AS c(id)`,
    [ids],
  );
  const byId = new Map(rows.map((row) => [row.id, Number(row.members)]));
  return ids.map((id) => byId.get(id) ?? 0);
}

/** Marks the clock deleted (the hub's role deletes no row); it is then found nowhere. */
export async function deleteTestClock(tx: Pick<EntityManager, 'query'>, id: string, at: Date): Promise<void> {
  await tx.query('UPDATE test_clock SET deleted_at = $2 WHERE id = $1', [id, at]);
}

/** The members' test clocks (null: real time), locking each member row so that no entry of theirs races the attachment. */
export async function memberClockForAttach(
  tx: Pick<EntityManager, 'query'>,
  memberId: string,
): Promise<{ testClockId: string | null; history: boolean } | null> {
  if (!UUID_PATTERN.test(memberId)) return null;
  const rows: Array<{ test_clock_id: string | null; history: boolean }> = await tx.query(
    `SELECT m.test_clock_id,
            EXISTS (SELECT 1 FROM journal_entry e WHERE e.member_id = m.id)
         OR EXISTS (SELECT 1 FROM hold h WHERE h.member_id = m.id) AS history
     FROM member m WHERE m.id = $1 FOR UPDATE`,
    [memberId],
  );
  return rows[0] ? { testClockId: rows[0].test_clock_id, history: rows[0].history } : null;
}

export async function attachMember(tx: Pick<EntityManager, 'query'>, memberId: string, testClockId: string): Promise<void> {
  await tx.query('UPDATE member SET test_clock_id = $2 WHERE id = $1', [memberId, testClockId]);
}

/**
 * The now of the member an instruction concerns: its test clock's frozen time, or `realNow` (a member on
 * real time, an unknown member, an op about no member). Read inside the instruction's transaction.
 */
/**
 * Refuses to run a hub that is not a sandbox on a database with members on test clocks: such a hub
 * treats every member as living on real time (it does not look up a member's time for its
 * instructions), which would mix two times in those members' histories.
 */
export async function refuseTestClockMembers(db: Pick<EntityManager, 'query'>): Promise<void> {
  const [row]: Array<{ sandboxed: boolean }> = await db.query(
    'SELECT EXISTS (SELECT 1 FROM member WHERE test_clock_id IS NOT NULL) AS sandboxed',
  );
  if (row?.sandboxed)
    throw new Error('this database has members on sandbox test clocks: start the hub with SANDBOX=true (docs/sandbox.md)');
}

export async function instructionMemberNow(
  tx: Pick<EntityManager, 'query'>,
  partnerId: string,
  claims: InstructionClaims,
  realNow: Date,
): Promise<Date> {
  const source = memberSourceOf(claims);
  if (source === null) return realNow;
  const sql = {
    ref: 'SELECT member_now(member_id::text, $3) AS now FROM member_link WHERE partner_id = $1 AND member_ref = $2',
    hold: 'SELECT member_now(member_id::text, $3) AS now FROM hold WHERE partner_id = $1 AND id = $2::uuid',
    entry:
      'SELECT member_now(member_id::text, $3) AS now FROM journal_entry WHERE partner_id = $1 AND id = $2::uuid AND member_id IS NOT NULL',
  }[source.kind];
  if (source.kind !== 'ref' && !UUID_PATTERN.test(source.value)) return realNow;
  const rows: Array<{ now: Date }> = await tx.query(sql, [partnerId, source.value, realNow]);
  return rows[0]?.now ?? realNow;
}

function memberSourceOf(claims: InstructionClaims): { kind: 'ref' | 'hold' | 'entry'; value: string } | null {
  switch (claims.op) {
    case 'enroll':
    case 'issue':
    case 'redeem':
    case 'authorize':
    case 'transfer':
    case 'grant':
      return { kind: 'ref', value: claims.member };
    case 'capture':
    case 'void':
      return { kind: 'hold', value: (claims as ClaimsOf<'capture' | 'void'>).hold };
    case 'reverse':
      return { kind: 'entry', value: claims.entry };
    case 'redeem_reward':
    case 'activity':
      return { kind: 'ref', value: claims.member };
    case 'acknowledge':
    case 'dispute':
    case 'use_entitlement':
      return null;
  }
}

/** A member's now (its test clock's, or `realNow`), for services that act for one member (exchange). */
export async function memberNow(tx: Pick<EntityManager, 'query'>, memberId: string, realNow: Date): Promise<Date> {
  if (!UUID_PATTERN.test(memberId)) return realNow;
  const rows: Array<{ now: Date }> = await tx.query('SELECT member_now($1, $2) AS now', [memberId, realNow]);
  return rows[0]?.now ?? realNow;
}

/** Each member's test clock (null: the member is on real time), for a DataLoader. */
export async function findMemberClocks(
  tx: Pick<EntityManager, 'query'>,
  memberIds: readonly string[],
): Promise<Array<TestClockRow | null>> {
  const valid = memberIds.filter((id) => UUID_PATTERN.test(id));
  const rows: Array<Row & { member_id: string }> =
    valid.length === 0
      ? []
      : await tx.query(
          `SELECT m.id::text AS member_id, c.id, c.name, c.frozen_time, c.created_at, c.seq::text AS seq
           FROM member m JOIN test_clock c ON c.id = m.test_clock_id WHERE m.id = ANY($1::uuid[])`,
          [valid],
        );
  const byMember = new Map(rows.map((row) => [row.member_id, rowOf(row)]));
  return memberIds.map((id) => byMember.get(id) ?? null);
}
