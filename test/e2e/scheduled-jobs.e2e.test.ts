import { hashEmail, signInstruction } from '@coalition-hub/partner-sdk';
import { Client } from 'pg';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The recurring jobs: hold expiry closes pending holds past their time and says so once
 * (hold.expired), vesting announces each lot whose return window has passed once
 * (points.vested), both exact with several processes at once; and every recurring job runs on
 * the job queue as one waiting instance however many hub processes share the database.
 */
let hub: TestHub;
let shop: TestPartner;
let deli: TestPartner;
const DAY_MS = 86_400_000;

interface EventRow {
  partner_id: string;
  member_id: string;
  occurred_at: Date;
  data: Record<string, unknown>;
}

function events(of: TestHub, type: string): Promise<EventRow[]> {
  return of.ownerQuery<EventRow>('SELECT partner_id, member_id, occurred_at, data FROM event WHERE type = $1 ORDER BY tx_id, seq', [type]);
}

async function memberId(partner: TestPartner, ref: string): Promise<string> {
  const [row] = await hub.ownerQuery<{ member_id: string }>(
    'SELECT member_id::text FROM member_link WHERE partner_id = $1 AND member_ref = $2',
    [partner.id, ref],
  );
  return row!.member_id;
}

async function authorize(partner: TestPartner, ref: string, amount: string, holdSeconds: number, orderRef?: string): Promise<string> {
  const held = await partner.client.authorizeRedemption({ member: ref, amount, holdSeconds, orderRef });
  if (!held.ok) throw new Error(JSON.stringify(held));
  return held.data.holdId;
}

/** Capture or void, signed on the hub's clock (which the tests move). */
async function settleHold(op: 'capture' | 'void', hold: string) {
  const base = { partnerId: shop.id, hubId: HUB_ID, key: shop.key, now: hub.clock.now() };
  if (op === 'capture') return shop.client.submitSigned(op, (await signInstruction({ ...base, op, fields: { hold, amount: '30' } })).jws);
  return shop.client.submitSigned(op, (await signInstruction({ ...base, op, fields: { hold } })).jws);
}

beforeAll(async () => {
  hub = await TestHub.start();
  shop = await hub.registerPartner('SHOP');
  deli = await hub.registerPartner('DELI', 'ES256');
  const set = await hub.graphql(
    'mutation { setPartnerContract(partnerId: "DELI", input: { pendingDays: 7 }) { __typename } }',
    {},
    await hub.operatorToken(),
  );
  expect(set.data?.setPartnerContract.__typename).toBe('PartnerContract');
  for (const ref of ['hal', 'ida', 'vic']) {
    await shop.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
    await deli.client.enrollMember({ member: ref, emailHash: hashEmail(`${ref}@example.com`) });
  }
});

afterAll(() => hub.stop());

describe('hold expiry', () => {
  let dueHold: string;
  let laterHold: string;

  it('closes each pending hold past its time as expired and writes one hold.expired for it', async () => {
    await shop.client.issuePoints({ member: 'hal', amount: '100' });
    dueHold = await authorize(shop, 'hal', '30', 60, 'basket-1');
    laterHold = await authorize(shop, 'hal', '20', 100);
    const job = hub.hub.jobs.holdExpiry;
    expect(job.report(await job.run())).toEqual({ outcome: 'ok', items: 0 });
    expect(await events(hub, 'hold.expired')).toEqual([]);

    hub.clock.advance(61_000);
    expect(job.report(await job.run())).toEqual({ outcome: 'ok', items: 1 });
    const hold = (await hub.ownerQuery('SELECT status, closed_at, expires_at FROM hold WHERE id = $1', [dueHold]))[0]!;
    expect(hold.status).toBe('expired');
    expect(hold.closed_at).toEqual(hold.expires_at);
    expect(await events(hub, 'hold.expired')).toEqual([
      {
        partner_id: 'SHOP',
        member_id: await memberId(shop, 'hal'),
        occurred_at: expect.any(Date),
        data: { holdId: dueHold, amount: '30', orderRef: 'basket-1', expiredAt: hold.expires_at.toISOString() },
      },
    ]);
    const [later] = await hub.ownerQuery('SELECT status FROM hold WHERE id = $1', [laterHold]);
    expect(later?.status).toBe('pending');
  });

  it('is idempotent: a second run finds nothing and writes nothing', async () => {
    expect(hub.hub.jobs.holdExpiry.report(await hub.hub.jobs.holdExpiry.run())).toEqual({ outcome: 'ok', items: 0 });
    expect(await events(hub, 'hold.expired')).toHaveLength(1);
  });

  it('refuses capture and void of a hold it closed with HoldExpired, as before it got to it, and its points are free', async () => {
    for (const op of ['capture', 'void'] as const) {
      expect(await settleHold(op, dueHold)).toMatchObject({ ok: false, typename: 'HoldExpired' });
    }
    const peek = await hub.graphql(
      'query($id: ID!) { hold(id: $id) { status closedAt } }',
      { id: dueHold },
      await shop.client.accessToken(),
    );
    expect(peek.data?.hold.status).toBe('expired');
    const me = await hub.graphql('{ me { balance available } }', {}, await hub.memberToken(shop, 'hal'));
    expect(me.data?.me).toEqual({ balance: '100', available: '80' });
  });

  it('writes exactly one hold.expired per hold when two hub processes run the job at once', async () => {
    await shop.client.issuePoints({ member: 'ida', amount: '1000' });
    const holds: string[] = [];
    for (let i = 0; i < 30; i += 1) holds.push(await authorize(shop, 'ida', '10', 60));
    hub.clock.advance(61_000);
    const other = await hub.startAnother();
    try {
      const runs = await Promise.all([
        hub.hub.jobs.holdExpiry.run(),
        other.jobs.holdExpiry.run(),
        hub.hub.jobs.holdExpiry.run(),
        other.jobs.holdExpiry.run(),
      ]);
      // The 30 new ones, and hal's second hold, which ran out meanwhile.
      expect(runs.reduce((sum, run) => sum + run.items, 0)).toBe(31);
    } finally {
      await other.close();
    }
    const expired = await events(hub, 'hold.expired');
    const ids = expired.map((event) => event.data.holdId as string);
    expect(ids).toHaveLength(32);
    expect(new Set(ids).size).toBe(32);
    expect(ids).toEqual(expect.arrayContaining([...holds, laterHold]));
    expect(await hub.ownerQuery(`SELECT count(*)::int AS n FROM hold WHERE status = 'pending'`)).toEqual([{ n: 0 }]);
  });
});

describe('vesting', () => {
  it('writes one points.vested per lot once its return window has passed, with what is left of it, once', async () => {
    const first = await deli.client.issuePoints({ member: 'vic', amount: '40' });
    const second = await deli.client.issuePoints({ member: 'vic', amount: '25' });
    const refunded = await deli.client.issuePoints({ member: 'vic', amount: '15' });
    await shop.client.issuePoints({ member: 'vic', amount: '5' }); // no return window: vested from the start
    if (!first.ok || !second.ok || !refunded.ok) throw new Error('issue failed');
    // A partial refund inside the window; a full one, so that lot never vests.
    expect(await deli.client.reversePoints({ entry: second.data.entryId, amount: '10' })).toMatchObject({ ok: true });
    expect(await deli.client.reversePoints({ entry: refunded.data.entryId, amount: '15' })).toMatchObject({ ok: true });
    const job = hub.hub.jobs.vesting;
    expect(job.report(await job.run())).toEqual({ outcome: 'ok', items: 0 });

    hub.clock.advance(7 * DAY_MS + 1000);
    const other = await hub.startAnother();
    try {
      const runs = await Promise.all([job.run(), other.jobs.vesting.run(), job.run()]);
      expect(runs.reduce((sum, run) => sum + run.items, 0)).toBe(2);
    } finally {
      await other.close();
    }
    expect(job.report(await job.run())).toEqual({ outcome: 'ok', items: 0 });
    const lots = await hub.ownerQuery<{ id: string; entry_id: string; vests_at: Date }>(
      'SELECT id::text, entry_id, vests_at FROM lot WHERE entry_id = ANY($1) ORDER BY vests_at, id',
      [[first.data.entryId, second.data.entryId]],
    );
    const vic = await memberId(deli, 'vic');
    const vested = await events(hub, 'points.vested');
    expect(vested.sort((a, b) => String(a.data.amount).localeCompare(String(b.data.amount)))).toEqual([
      {
        partner_id: 'DELI',
        member_id: vic,
        occurred_at: expect.any(Date),
        data: { lotId: lots[1]!.id, entryId: second.data.entryId, amount: '15', vestedAt: lots[1]!.vests_at.toISOString() },
      },
      {
        partner_id: 'DELI',
        member_id: vic,
        occurred_at: expect.any(Date),
        data: { lotId: lots[0]!.id, entryId: first.data.entryId, amount: '40', vestedAt: lots[0]!.vests_at.toISOString() },
      },
    ]);
  });
});

describe('on the job queue', () => {
  const TASKS = ['expiry', 'hold-expiry', 'kpi-refresh', 'reward-expiry', 'settlement-close', 'vesting'];
  const EVERY_SECOND = {
    EXPIRY_INTERVAL_SECONDS: '1',
    SETTLEMENT_INTERVAL_SECONDS: '1',
    HOLD_EXPIRY_INTERVAL_SECONDS: '1',
    VESTING_INTERVAL_SECONDS: '1',
    REWARD_EXPIRY_INTERVAL_SECONDS: '1',
    KPI_REFRESH_INTERVAL_SECONDS: '1',
  };

  const OFF = Object.fromEntries(Object.keys(EVERY_SECOND).map((name) => [name, '0']));

  /** Per task: rows waiting (not taken) and rows a process is running. */
  async function rows(of: TestHub): Promise<Record<string, { waiting: number; running: number }>> {
    const found = await of.ownerQuery<{ task: string; waiting: number; running: number }>(
      `SELECT task_identifier AS task, count(*) FILTER (WHERE locked_at IS NULL)::int AS waiting,
              count(*) FILTER (WHERE locked_at IS NOT NULL)::int AS running
       FROM graphile_worker.jobs GROUP BY 1 ORDER BY 1`,
    );
    return Object.fromEntries(found.map((row) => [row.task, { waiting: row.waiting, running: row.running }]));
  }

  async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  it('keeps exactly one waiting instance per job however many processes start, and runs them', async () => {
    const queued = await TestHub.start({ env: EVERY_SECOND });
    try {
      const partner = await queued.registerPartner('QUEUE');
      await partner.client.enrollMember({ member: 'q1' });
      await partner.client.issuePoints({ member: 'q1', amount: '10' });
      const held = await partner.client.authorizeRedemption({ member: 'q1', amount: '10', holdSeconds: 60 });
      if (!held.ok) throw new Error(JSON.stringify(held));
      const second = await queued.startAnother();
      const third = await queued.startAnother();
      try {
        queued.clock.advance(61_000);
        // Nobody runs the job here but the queue.
        await until(async () => (await events(queued, 'hold.expired')).length === 1, 15_000);
        // Runs go on meanwhile (each second, in any of the three processes), each queuing its
        // successor: never two waiting rows of a job, and never none (waiting or running).
        for (let i = 0; i < 10; i += 1) {
          for (const [task, count] of Object.entries(await rows(queued))) {
            expect({ task, waitingAtMostOne: count.waiting <= 1, some: count.waiting + count.running >= 1 }).toEqual({
              task,
              waitingAtMostOne: true,
              some: true,
            });
          }
          await new Promise((done) => setTimeout(done, 200));
        }
      } finally {
        await third.close();
        await second.close();
      }
      // Once every process has stopped (the last one comes back with the jobs off, so nothing runs):
      // one row per job, waiting, under its key, never failed.
      await queued.restart(OFF);
      expect(
        await queued.ownerQuery('SELECT task_identifier AS task, key, attempts, locked_at FROM graphile_worker.jobs ORDER BY 1'),
      ).toEqual(TASKS.map((task) => ({ task, key: task, attempts: 0, locked_at: null })));
      expect(await events(queued, 'hold.expired')).toHaveLength(1);
    } finally {
      await queued.stop();
    }
  });

  it('lets a stopping hub finish the job it is running before the pool closes', async () => {
    const queued = await TestHub.start({ env: { SETTLEMENT_INTERVAL_SECONDS: '1', SHUTDOWN_GRACE_SECONDS: '20' } });
    const holder = new Client({ connectionString: queued.databaseUrl });
    await holder.connect();
    try {
      const open = await queued.hub.services.settlement.openPeriod();
      // The close's cut-off waits for this lock (every writer takes it shared): the run is held in the middle.
      await holder.query('SELECT pg_advisory_lock(7301, 5)');
      queued.clock.advance(open.endsAt.getTime() - queued.clock.now().getTime() + 1000);
      await until(
        async () =>
          (await queued.ownerQuery(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 7301 AND objid = 5 AND NOT granted`))
            .length > 0,
        10_000,
      );
      let stopped = false;
      const restarting = queued.restart().then(() => (stopped = true));
      await new Promise((done) => setTimeout(done, 500));
      expect(stopped).toBe(false);
      await holder.query('SELECT pg_advisory_unlock(7301, 5)');
      await restarting;
      const [period] = await queued.ownerQuery('SELECT status FROM settlement_period WHERE id = $1', [open.id]);
      expect(period?.status).toBe('closed');
    } finally {
      await holder.end();
      await queued.stop();
    }
  });
});
