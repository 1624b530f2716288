import { hashEmail } from '@coalition-hub/partner-sdk';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Settlement under concurrency: two closes of the same period at once give one close and one next
 * period; entries racing a close land each in exactly one period, whole, and the closed period
 * reconciles (it recomputes from the ledger exactly as the close stored it: no entry slipped in
 * after the cut-off).
 */
let hub: TestHub;
let acme: TestPartner;

const CLOSE = `mutation($id: ID!) { result: closeSettlementPeriod(id: $id) { __typename ... on SettlementPeriod { id status cutoffAt closedAt
  summary { entries netMinor } transfers(first: 10) { edges { node { payer payee amountMinor } } } } } }`;

const currentPeriod = async (): Promise<string> => (await hub.asStaff('{ currentSettlementPeriod { id } }')).currentSettlementPeriod.id;

async function periodsOf(): Promise<Array<{ status: string; count: number }>> {
  return hub.hub.dataSource.query(`SELECT status, count(*)::int AS count FROM settlement_period GROUP BY status ORDER BY status`);
}

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  for (const ref of ['ann', 'bob']) await acme.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
});

afterAll(() => hub.stop());

it('two closes of one period at once: one cut-off, one new open period, the same answer to both', async () => {
  await acme.client.issuePoints({ member: 'ann', amount: '70' });
  const id = await currentPeriod();
  const before = await periodsOf();
  const [first, second] = await Promise.all([hub.asStaff(CLOSE, { id }), hub.asStaff(CLOSE, { id })]);
  expect(first.result.status).toBe('closed');
  expect(second.result).toEqual(first.result);
  const after = await periodsOf();
  const count = (rows: typeof before, status: string) => rows.find((row) => row.status === status)?.count ?? 0;
  expect(count(after, 'open')).toBe(1);
  expect(count(after, 'closed')).toBe(count(before, 'closed') + 1);
  expect(await currentPeriod()).not.toBe(id);
});

it('entries racing a close each land in exactly one period, and the closed period reconciles', async () => {
  const id = await currentPeriod();
  const issues = Array.from({ length: 40 }, (_, index) => acme.client.issuePoints({ member: index % 2 ? 'ann' : 'bob', amount: '5' }));
  // The close starts while the issues are in flight.
  await new Promise((resolve) => setTimeout(resolve, 15));
  const close = hub.asStaff(CLOSE, { id });
  const outcomes = await Promise.all(issues);
  expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
  const closed = (await close).result;
  expect(closed.status).toBe('closed');

  const entryIds = outcomes.map((outcome) => (outcome.ok ? (outcome.data as { entryId: string }).entryId : ''));
  const stamped: Array<{ period_id: string; count: number }> = await hub.hub.dataSource.query(
    'SELECT period_id::text, count(*)::int AS count FROM journal_entry WHERE id = ANY($1::uuid[]) GROUP BY period_id ORDER BY period_id',
    [entryIds],
  );
  expect(stamped.reduce((sum, row) => sum + row.count, 0)).toBe(40);
  const next = await currentPeriod();
  expect(stamped.every((row) => row.period_id === id || row.period_id === next)).toBe(true);
  const inClosed = stamped.find((row) => row.period_id === id)?.count ?? 0;
  expect(closed.summary.entries).toBe(String(inClosed));
  // Every entry the closed period holds was recorded before its cut-off (no late arrival).
  const [late] = await hub.hub.dataSource.query(
    `SELECT count(*)::int AS count FROM journal_entry e JOIN settlement_period p ON p.id = e.period_id WHERE p.id = $1 AND e.recorded_at > p.cutoff_at`,
    [id],
  );
  expect(late.count).toBe(0);
  const { reconciliation } = await hub.asStaff('query($id: ID!) { reconciliation(periodId: $id) { ok differences } }', { id });
  expect(reconciliation).toEqual({ ok: true, differences: [] });
  // The next period takes the rest, and closes cleanly too.
  const rest = (await hub.asStaff(CLOSE, { id: next })).result;
  expect(BigInt(rest.summary.entries) + BigInt(inClosed)).toBe(40n);
});

it('refuses to close a period that does not exist, and reports nothing for it', async () => {
  expect((await hub.asStaff(CLOSE, { id: '999999' })).result.__typename).toBe('NotFound');
  expect((await hub.asStaff(CLOSE, { id: 'not-a-number' })).result.__typename).toBe('NotFound');
  expect((await hub.asStaff('{ reconciliation(periodId: "999999") { ok } }')).reconciliation).toBeNull();
});

it('is for finance and operators only', async () => {
  const id = await currentPeriod();
  const partner = await hub.graphql(CLOSE, { id }, await acme.client.accessToken());
  expect(partner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const member = await hub.graphql(CLOSE, { id }, await hub.memberToken(acme, 'ann'));
  expect(member.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const anonymous = await hub.graphql(CLOSE, { id });
  expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(await currentPeriod()).toBe(id);
});

describe('the scheduled close', () => {
  it('closes the open period once its end has passed, once, and finishes a close a crash cut short', async () => {
    const settlement = hub.hub.services.settlement;
    const open = await settlement.openPeriod();
    expect(await settlement.closeDue()).toEqual([]);
    hub.clock.advance(open.endsAt.getTime() - hub.clock.now().getTime() + 1000);
    const closed = await settlement.closeDue();
    expect(closed.map((period) => [period.id, period.status, period.closedBy])).toEqual([[open.id, 'closed', 'scheduler']]);
    expect(await settlement.closeDue()).toEqual([]);

    // A crash between the cut-off and the figures leaves a period `closing`: the next run finishes it.
    const next = await settlement.openPeriod();
    await hub.hub.dataSource.transaction(async (tx) => {
      await tx.query(`UPDATE settlement_period SET status = 'closing', cutoff_at = $2, closed_by = 'crashed' WHERE id = $1`, [
        next.id,
        hub.clock.now(),
      ]);
      await tx.query('INSERT INTO settlement_period (starts_at, ends_at) VALUES ($1, $2)', [
        hub.clock.now(),
        new Date(hub.clock.now().getTime() + 86_400_000),
      ]);
    });
    const finished = await settlement.closeDue();
    expect(finished.map((period) => [period.id, period.status])).toEqual([[next.id, 'closed']]);
    const { reconciliation } = await hub.asStaff('query($id: ID!) { reconciliation(periodId: $id) { ok } }', { id: next.id });
    expect(reconciliation.ok).toBe(true);
  });
});
