import fc from 'fast-check';
import { STORED_RECEIPT } from '../../src/instructions/receipt-store';
import { TestHub, type TestPartner } from '../helpers/test-hub';
import { queriesDuring } from './support/query-log';

/**
 * A CP issue or redemption in one statement (docs/ledger.md, "One statement per
 * instruction") writes what the TypeScript operations write. Two hubs, one with the path on and
 * one with it off (LEDGER_ONE_STATEMENT=off), get the same random instructions; their answers and
 * everything they wrote (entries, postings, lots, lot consumption, earned days, events, balances)
 * must be the same, once ids and times are taken out.
 */
const PARTNERS = ['ACME', 'CAFE', 'DELI', 'CAPD'] as const;
const MEMBERS = ['m0', 'm1', 'm2'];

interface Side {
  hub: TestHub;
  partners: Record<string, TestPartner>;
}

let oneStatement: Side;
let operations: Side;

async function setUp(env: Record<string, string>): Promise<Side> {
  // Low thresholds, so that random issues cross tiers (tier.changed events); small pools: two hubs share the server with other test files.
  const hub = await TestHub.start({ env: { TIERS: 'Base:0,Silver:300,Gold:900', DATABASE_POOL_SIZE: '6', ...env } });
  const partners: Record<string, TestPartner> = {};
  for (const id of PARTNERS) partners[id] = await hub.registerPartner(id);
  const token = await hub.operatorToken();
  // One partner with a return window (pending points), one with a short lot lifetime, and one with a cap on what it
  // owes (its issues draw on its funding: the function hands them back to the operation).
  for (const [id, input] of [
    ['CAFE', '{ pendingDays: 3 }'],
    ['DELI', '{ lotLifetimeMonths: 1 }'],
    ['CAPD', '{ netDebitCapMinor: "100000000" }'],
  ] as const) {
    const set = await hub.graphql(`mutation { setPartnerContract(partnerId: "${id}", input: ${input}) { __typename } }`, {}, token);
    if (set.data?.setPartnerContract?.__typename !== 'PartnerContract') throw new Error(JSON.stringify(set));
  }
  for (const member of MEMBERS) {
    for (const id of PARTNERS) {
      const enrolled = await partners[id]!.client.enrollMember({ member });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
    }
  }
  return { hub, partners };
}

beforeAll(async () => {
  [oneStatement, operations] = await Promise.all([setUp({}), setUp({ LEDGER_ONE_STATEMENT: 'off' })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([oneStatement?.hub.stop(), operations?.hub.stop()]);
});

type Step = { op: 'issue' | 'redeem'; partner: (typeof PARTNERS)[number]; member: string; amount: number; orderRef: string | null };

/** The answer without what differs between two hubs by nature (ids, times, the receipt's signature). */
function comparable(outcome: { ok: boolean; data?: unknown; error?: unknown }): unknown {
  return JSON.parse(
    JSON.stringify(outcome, (key, value: unknown) =>
      ['entryId', 'memberId', 'recordedAt', 'vestsAt', 'receipt', 'jti', 'contractId'].includes(key)
        ? typeof value
        : key === 'account' && typeof value === 'string'
          ? value.replace(/member:[0-9a-f-]+:/, 'member:<id>:')
          : value,
    ),
  );
}

async function send(side: Side, step: Step) {
  const client = side.partners[step.partner]!.client;
  const claims = { member: step.member, amount: String(step.amount), ...(step.orderRef ? { orderRef: step.orderRef } : {}) };
  return step.op === 'issue' ? client.issuePoints(claims) : client.redeemPoints(claims);
}

/** What a hub wrote, per member reference and in order, without ids and with times relative to the entry. */
async function written(hub: TestHub): Promise<unknown> {
  const query = (sql: string) => hub.ownerQuery(sql);
  const memberRef = `(SELECT min(member_ref) FROM member_link ml WHERE ml.member_id = e.member_id)`;
  return {
    entries: await query(
      `SELECT e.type, e.partner_id, ${memberRef} AS member, e.order_ref, e.rates - 'contractId' AS rates,
              (SELECT json_agg(json_build_object('kind', a.kind, 'owner', CASE WHEN a.owner_kind = 'member' THEN 'member' ELSE a.owner_id END,
                                                 'amount', p.amount::text) ORDER BY p.amount) FROM posting p JOIN account a ON a.id = p.account_id WHERE p.entry_id = e.id) AS postings,
              (SELECT json_agg(json_build_object('issuer', l.issuer_partner_id, 'amount', l.amount::text, 'remaining', l.remaining::text,
                                                 'expiresAfter', (l.expires_at - l.issued_at)::text, 'vestsAfter', (l.vests_at - l.issued_at)::text,
                                                 'issuedWithEntry', l.issued_at = e.recorded_at))
               FROM lot l WHERE l.entry_id = e.id) AS lots,
              (SELECT json_agg(json_build_object('issuer', c.issuer_partner_id, 'consumer', c.consumer_partner_id, 'amount', c.amount::text, 'kind', c.kind)
                               ORDER BY c.id) FROM lot_consumption c WHERE c.entry_id = e.id) AS consumed,
              i.op, i.entry_id = e.id AS instruction_names_entry, i.result IS NOT NULL AS has_result
       FROM journal_entry e JOIN instruction i ON i.partner_id = e.partner_id AND i.jti = e.jti
       WHERE e.type IN ('issue', 'redeem') ORDER BY e.seq`,
    ),
    events: await query(
      `SELECT type, partner_id, (SELECT min(member_ref) FROM member_link ml WHERE ml.member_id = ev.member_id) AS member,
              data - 'jti' - 'entryId' - 'vestsAt' AS data, data ? 'vestsAt' AS vests
       FROM event ev WHERE type IN ('points.issued', 'points.redeemed', 'tier.changed') ORDER BY seq`,
    ),
    earnedDays: await query(
      `SELECT (SELECT min(member_ref) FROM member_link ml WHERE ml.member_id = d.member_id) AS member, d.earned::text
       FROM member_earned_day d ORDER BY 1`,
    ),
    balances: await query(
      `SELECT a.owner_kind, CASE WHEN a.owner_kind = 'member' THEN (SELECT min(member_ref) FROM member_link ml WHERE ml.member_id::text = a.owner_id) ELSE a.owner_id END AS owner,
              a.kind, sum(b.balance)::text AS balance
       FROM account a JOIN account_balance b ON b.account_id = a.id WHERE a.asset = 'CP' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ),
    instructionsWithoutResult: await query(`SELECT count(*)::int AS n FROM instruction WHERE result IS NULL AND op IN ('issue', 'redeem')`),
  };
}

const step: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom<'issue' | 'redeem'>('issue', 'issue', 'redeem'),
  partner: fc.constantFrom(...PARTNERS),
  member: fc.constantFrom(...MEMBERS),
  amount: fc.integer({ min: 1, max: 400 }),
  orderRef: fc.option(fc.constantFrom('o-1', 'o-2'), { nil: null }),
});

test('answers and writes what the TypeScript operations answer and write, for random issues and redemptions', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
      for (const one of steps) {
        const [fast, reference] = await Promise.all([send(oneStatement, one), send(operations, one)]);
        expect(comparable(fast)).toEqual(comparable(reference));
      }
    }),
    { numRuns: 8 },
  );
  expect(await written(oneStatement.hub)).toEqual(await written(operations.hub));
  expect((await oneStatement.hub.integrity()).ok).toBe(true);
}, 120_000);

test('a batch answers and writes the same, runs of movements in one statement, an item that needs its operation in its place', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PARTNERS),
      fc.array(fc.tuple(step, fc.boolean()), { minLength: 1, maxLength: 30 }),
      async (partner, items) => {
        // One partner signs the batch; now and then an issue with the tier multiplier, which only the operation does.
        const batch = items.map(([one, multiplied]) => ({
          op: one.op,
          fields: {
            member: one.member,
            amount: String(one.amount),
            ...(one.orderRef ? { orderRef: one.orderRef } : {}),
            ...(one.op === 'issue' && multiplied ? { applyTierMultiplier: true } : {}),
          },
        })) as Parameters<TestPartner['client']['submitMany']>[0];
        const [fast, reference] = await Promise.all([
          oneStatement.partners[partner]!.client.submitMany(batch),
          operations.partners[partner]!.client.submitMany(batch),
        ]);
        expect(comparable({ ok: true, data: fast })).toEqual(comparable({ ok: true, data: reference }));
      },
    ),
    { numRuns: 6 },
  );
  expect(await written(oneStatement.hub)).toEqual(await written(operations.hub));
  expect((await oneStatement.hub.integrity()).ok).toBe(true);
}, 120_000);

test('answers a replay with the first receipt, signed again the same way if it is not stored yet', async () => {
  const acme = oneStatement.partners.ACME!.client;
  const first = await acme.issuePoints({ member: 'm0', amount: '5' }, { jti: 'replayed-issue' });
  if (!first.ok) throw new Error(JSON.stringify(first));
  // Before the receipt store has written it (or after: the same receipt either way).
  const again = await acme.issuePoints({ member: 'm0', amount: '5' }, { jti: 'replayed-issue' });
  expect(again).toMatchObject({ ok: true, data: { replayed: true, receipt: first.data.receipt, entryId: first.data.entryId } });
  await oneStatement.hub.hub.services.instructions.flushReceipts();
  const [stored] = await oneStatement.hub.ownerQuery<{ receipt_jws: string }>(
    `SELECT ${STORED_RECEIPT} FROM instruction WHERE partner_id = 'ACME' AND jti = 'replayed-issue'`,
  );
  expect(stored!.receipt_jws).toBe(first.data.receipt);
  const fetched = await acme.fetchReceipt('replayed-issue');
  expect(fetched?.data.receipt).toBe(first.data.receipt);
  const conflict = await acme.issuePoints({ member: 'm0', amount: '6' }, { jti: 'replayed-issue' });
  expect(conflict).toMatchObject({ ok: false, errorCode: 'IDEMPOTENCY_CONFLICT' });
});

test('refuses an unknown member and an overspend in one statement and leaves the jti free', async () => {
  const deli = oneStatement.partners.DELI!.client;
  const unknown = await queriesDuring(oneStatement.hub, () => deli.redeemPoints({ member: 'nobody', amount: '1' }, { jti: 'free-jti' }));
  expect(unknown.result).toMatchObject({ ok: false, errorCode: 'UNKNOWN_MEMBER' });
  expect(unknown.queries.filter((sql) => sql.includes('apply_cp_movement'))).toHaveLength(1);
  const tooMuch = await deli.redeemPoints({ member: 'm2', amount: '999999' }, { jti: 'free-jti' });
  expect(tooMuch).toMatchObject({ ok: false, errorCode: 'INSUFFICIENT_BALANCE' });
  const issued = await deli.issuePoints({ member: 'm2', amount: '7' }, { jti: 'free-jti' });
  expect(issued).toMatchObject({ ok: true, data: { replayed: false, amount: '7' } });
});

test('an issue of a capped partner is handed back to its operation (nothing of the first try stays)', async () => {
  const capped = await queriesDuring(oneStatement.hub, () =>
    oneStatement.partners.CAPD!.client.issuePoints({ member: 'm1', amount: '10' }),
  );
  expect(capped.result).toMatchObject({ ok: true, data: { replayed: false, amount: '10' } });
  expect(capped.queries.filter((sql) => sql.includes('apply_cp_movement('))).toHaveLength(1);
  expect(capped.queries.length).toBeGreaterThan(3);
  expect((await oneStatement.hub.integrity()).ok).toBe(true);
});

test('an issue with a tier multiplier goes through the operations', async () => {
  const cafe = oneStatement.partners.CAFE!.client;
  const multiplied = await queriesDuring(oneStatement.hub, () =>
    cafe.issuePoints({ member: 'm1', amount: '10', applyTierMultiplier: true }),
  );
  expect(multiplied.result.ok).toBe(true);
  expect(multiplied.queries.some((sql) => sql.includes('apply_cp_movement'))).toBe(false);
});
