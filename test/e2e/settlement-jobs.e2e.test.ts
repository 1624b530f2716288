import { hashEmail } from '@coalition-hub/partner-sdk';
import { Client } from 'pg';
import pino from 'pino';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The settlement close as a job: whole-period queries run without JIT (its compile time dwarfs
 * a small period's queries), and scheduled runs never wait for a close in progress, never
 * overlap in one process, and report each close once however many runs race for it.
 */
let hub: TestHub;
let acme: TestPartner;

/** The compute lock of src/settlement/settlement.service.ts (two-int advisory key). */
const COMPUTE_LOCK = [7301, 6];

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'ann', emailHash: hashEmail('ann@example.com') });
});

afterAll(() => hub.stop());

function capturingLogger(): { logger: pino.Logger; lines: Array<{ msg: string; level: number }> } {
  const lines: Array<{ msg: string; level: number }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function until(condition: () => boolean, timeoutMs: number, step: () => void = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    step();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function makeOpenPeriodDue(): Promise<string> {
  const open = await hub.hub.services.settlement.openPeriod();
  hub.clock.advance(open.endsAt.getTime() - hub.clock.now().getTime() + 1000);
  return open.id;
}

it('a close computes its period with JIT off (whatever the server default)', async () => {
  // A probe in the close's own transaction: when the close writes its summary, record the session's jit setting.
  await hub.ownerQuery(`CREATE TABLE jit_probe (jit text NOT NULL)`);
  await hub.ownerQuery(
    `CREATE FUNCTION jit_probe_record() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS
     $$ BEGIN INSERT INTO jit_probe VALUES (current_setting('jit')); RETURN NEW; END $$`,
  );
  await hub.ownerQuery(`CREATE TRIGGER jit_probe AFTER INSERT ON settlement_summary FOR EACH ROW EXECUTE FUNCTION jit_probe_record()`);
  try {
    const [{ jit: serverDefault }] = await hub.hub.dataSource.query(`SELECT current_setting('jit') AS jit`);
    expect(serverDefault).toBe('on');
    await acme.client.issuePoints({ member: 'ann', amount: '10' });
    const id = (await hub.hub.services.settlement.openPeriod()).id;
    const closed = await hub.hub.services.settlement.close(id, 'test');
    expect(closed).toMatchObject({ id, status: 'closed' });
    expect(await hub.ownerQuery('SELECT jit FROM jit_probe')).toEqual([{ jit: 'off' }]);
  } finally {
    await hub.ownerQuery('DROP TRIGGER jit_probe ON settlement_summary; DROP FUNCTION jit_probe_record(); DROP TABLE jit_probe');
  }
});

describe('the scheduled close', () => {
  it('skips, without waiting on a connection, while another close holds the lock, and never overlaps itself', async () => {
    await acme.client.issuePoints({ member: 'ann', amount: '20' });
    const id = await makeOpenPeriodDue();
    const holder = new Client({ connectionString: (hub.hub.dataSource.options as { url: string }).url });
    await holder.connect();
    const { logger, lines } = capturingLogger();
    const pool = (hub.hub.dataSource.driver as unknown as { master: { waitingCount: number } }).master;
    const job = hub.hub.services.settlement.schedule(0.02, logger);
    let waitingMax = 0;
    try {
      // Another close (another instance, or finance) is computing for as long as this test likes.
      await holder.query('SELECT pg_advisory_lock($1, $2)', COMPUTE_LOCK);
      const skipped = () => lines.filter((line) => line.msg.startsWith('settlement close skipped')).length;
      // Ticks finish while the lock is still held: none of them waits for it.
      await until(
        () => skipped() >= 5,
        10_000,
        () => (waitingMax = Math.max(waitingMax, pool.waitingCount)),
      );
      expect(waitingMax).toBe(0);
      expect(lines.filter((line) => line.msg === 'settlement period closed')).toEqual([]);
      // The first run cut the period off; the figures wait for the lock holder to finish.
      const [period] = await hub.hub.dataSource.query('SELECT status FROM settlement_period WHERE id = $1', [id]);
      expect(period.status).toBe('closing');
    } finally {
      await job.stop();
      await holder.query('SELECT pg_advisory_unlock($1, $2)', COMPUTE_LOCK);
      await holder.end();
    }
    expect(job.isRunning).toBe(false);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    // Once the lock is free, the next run finishes the close, and says so once.
    const after = hub.hub.services.settlement.schedule(0, logger);
    const run = await after.tick();
    expect(run?.closed.map((closed) => [closed.id, closed.status])).toEqual([[id, 'closed']]);
    expect(lines.filter((line) => line.msg === 'settlement period closed')).toHaveLength(1);
  });

  it('a run asked for while one is in progress in the same process does not start', async () => {
    await makeOpenPeriodDue();
    const { logger } = capturingLogger();
    const job = hub.hub.services.settlement.schedule(0, logger);
    const [first, second] = await Promise.all([job.tick(), job.tick()]);
    expect(first?.closed).toHaveLength(1);
    expect(second).toBeUndefined();
  });

  it('runs racing for one due period (as from several instances) close it once and log it once', async () => {
    await acme.client.issuePoints({ member: 'ann', amount: '30' });
    const id = await makeOpenPeriodDue();
    const { logger, lines } = capturingLogger();
    const jobs = Array.from({ length: 6 }, () => hub.hub.services.settlement.schedule(0, logger));
    const runs = await Promise.all(jobs.map((job) => job.tick()));
    expect(runs.flatMap((run) => run?.closed.map((period) => period.id) ?? [])).toEqual([id]);
    expect(lines.filter((line) => line.msg === 'settlement period closed')).toEqual([expect.objectContaining({ period: id })]);
    const [period] = await hub.hub.dataSource.query('SELECT status FROM settlement_period WHERE id = $1', [id]);
    expect(period.status).toBe('closed');
    expect(await hub.hub.dataSource.query(`SELECT count(*)::int AS n FROM settlement_period WHERE status = 'open'`)).toEqual([{ n: 1 }]);
  });
});

describe('the expiry schedule', () => {
  it('never runs twice at once in one process: a tick asked for during a run does not start', async () => {
    const { logger, lines } = capturingLogger();
    const job = hub.hub.services.expiry.schedule(0, logger);
    const [first, second] = await Promise.all([job.tick(), job.tick()]);
    expect(first?.ran).toBe(true);
    expect(second).toBeUndefined();
    await job.stop();
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  });
});
