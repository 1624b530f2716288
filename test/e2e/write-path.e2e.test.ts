import { statementName } from '../../src/db/prepared';
import { ReceiptStore, STORED_RECEIPT } from '../../src/instructions/receipt-store';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { queriesDuring } from './support/query-log';

/**
 * The single-instruction write path (docs/benchmarks.md, "Write path, single instructions"):
 * parameterised statements are named prepared statements, and an issue or a redemption sends
 * the statements its kernel checks need and no more.
 */
let hub: TestHub;
let acme: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  const enrolled = await acme.client.enrollMember({ member: 'm1' });
  if (!enrolled.ok) throw new Error('enrol failed');
});

afterAll(async () => {
  await hub.stop();
});

test('a parameterised statement is prepared once on its connection and reused by name', async () => {
  const runner = hub.hub.dataSource.createQueryRunner();
  await runner.connect();
  try {
    const text = 'SELECT $1::int + 1 AS answer';
    expect(await runner.query(text, [1])).toEqual([{ answer: 2 }]);
    expect(await runner.query(text, [41])).toEqual([{ answer: 42 }]);
    const prepared: Array<{ name: string; statement: string }> = await runner.query('SELECT name, statement FROM pg_prepared_statements');
    expect(prepared.filter((row) => row.statement === text)).toEqual([{ name: statementName(text), statement: text }]);
    // Without parameters a statement stays unnamed.
    expect(prepared.some((row) => row.statement.startsWith('SELECT name, statement FROM pg_prepared_statements'))).toBe(false);
  } finally {
    await runner.release();
  }
});

test('a statement sent through the pool with a callback (the path of the rate limiter) is prepared too', async () => {
  const pool = (hub.hub.dataSource.driver as unknown as { master: import('pg').Pool }).master;
  const client = await pool.connect();
  try {
    const text = 'SELECT $1::int * 2 AS doubled';
    const viaCallback = await new Promise<unknown>((resolve, reject) =>
      client.query(text, [21], (error, result) => (error ? reject(error) : resolve(result.rows))),
    );
    expect(viaCallback).toEqual([{ doubled: 42 }]);
    const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE statement = $1', [text]);
    expect(rows).toEqual([{ name: statementName(text) }]);
  } finally {
    client.release();
  }
});

test('an issue and a redemption are one statement each, their receipts stored afterwards many to a statement', async () => {
  // Warm: the first instruction of a partner may read what later ones find cached.
  expect((await acme.client.issuePoints({ member: 'm1', amount: '100' })).ok).toBe(true);
  await hub.hub.services.instructions.flushReceipts();
  const issue = await queriesDuring(hub, () => acme.client.issuePoints({ member: 'm1', amount: '10' }));
  expect(issue.result.ok).toBe(true);
  expect(issue.queries.filter((sql) => !sql.startsWith('INSERT INTO instruction_receipt'))).toEqual([
    expect.stringContaining('apply_cp_movement('),
  ]);
  const stored = await queriesDuring(hub, async () => {
    const sent = await Promise.all([1, 2, 3].map(() => acme.client.redeemPoints({ member: 'm1', amount: '10' })));
    await hub.hub.services.instructions.flushReceipts();
    return sent;
  });
  expect(stored.result.every((outcome) => outcome.ok)).toBe(true);
  expect(stored.queries.filter((sql) => sql.includes('apply_cp_movement('))).toHaveLength(3);
  const receipts = await hub.ownerQuery<{ receipt_jws: string | null }>(
    `SELECT ${STORED_RECEIPT} FROM instruction WHERE partner_id = 'ACME' AND op = 'redeem' ORDER BY received_at`,
  );
  expect(receipts.map((row) => row.receipt_jws).sort()).toEqual(
    stored.result.map((outcome) => (outcome.ok ? outcome.data.receipt : null)).sort(),
  );
});

test('the receipt store writes the receipts waiting together in one statement, and only for stored instructions without one', async () => {
  const store = new ReceiptStore(hub.hub.dataSource, (error) => {
    throw error;
  });
  const [row] = await hub.ownerQuery<{ jti: string; receipt_jws: string }>(
    `SELECT jti, ${STORED_RECEIPT} FROM instruction WHERE op = 'redeem' LIMIT 1`,
  );
  const receiptsBefore = await hub.ownerQuery<{ n: number }>('SELECT count(*)::int AS n FROM instruction_receipt');
  const written = await queriesDuring(hub, async () => {
    store.add('ACME', row!.jti, 'another receipt');
    store.add('ACME', 'no-such-jti-1', 'x');
    store.add('ACME', 'no-such-jti-2', 'y');
    await store.flush();
  });
  expect(written.queries).toHaveLength(1);
  const [after] = await hub.ownerQuery<{ receipt_jws: string }>(`SELECT ${STORED_RECEIPT} FROM instruction WHERE jti = $1`, [row!.jti]);
  expect(after!.receipt_jws).toBe(row!.receipt_jws);
  // Nothing for the jtis that name no instruction: the count is unchanged.
  expect(await hub.ownerQuery('SELECT count(*)::int AS n FROM instruction_receipt')).toEqual(receiptsBefore);
});

describe('through the TypeScript operations (LEDGER_ONE_STATEMENT=off)', () => {
  let operations: TestHub;
  let shop: TestPartner;
  beforeAll(async () => {
    operations = await TestHub.start({ env: { LEDGER_ONE_STATEMENT: 'off' } });
    shop = await operations.registerPartner('SHOP');
    if (!(await shop.client.enrollMember({ member: 'm1' })).ok) throw new Error('enrol failed');
  });
  afterAll(async () => {
    await operations.stop();
  });

  test('an issue and a redemption send only the statements the kernel needs', async () => {
    expect((await shop.client.issuePoints({ member: 'm1', amount: '100' })).ok).toBe(true);
    const issue = await queriesDuring(operations, () => shop.client.issuePoints({ member: 'm1', amount: '10' }));
    expect(issue.result.ok).toBe(true);
    const redeem = await queriesDuring(operations, () => shop.client.redeemPoints({ member: 'm1', amount: '30' }));
    expect(redeem.result.ok).toBe(true);
    expect(issue.queries.length).toBeLessThanOrEqual(8);
    expect(redeem.queries.length).toBeLessThanOrEqual(10);
    expect([...issue.queries, ...redeem.queries].some((sql) => sql.includes('apply_cp_movement'))).toBe(false);
  });
});
