import { hashEmail } from '@coalition-hub/partner-sdk';
import { Client } from 'pg';
import pino from 'pino';
import { TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * The settlement close as a job: whole-period queries run without JIT (its compile time dwarfs
 * a small period's queries), and scheduled runs never wait for a close in progress and report
 * each close once however many runs race for it. (That the runs come from the job queue, one
 * waiting instance across processes: scheduled-jobs.e2e.test.ts.)
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
  it('skips, without waiting on a connection, while another close holds the lock', async () => {
    await acme.client.issuePoints({ member: 'ann', amount: '20' });
    const id = await makeOpenPeriodDue();
    const holder = new Client({ connectionString: (hub.hub.dataSource.options as { url: string }).url });
    await holder.connect();
    const { logger, lines } = capturingLogger();
    const job = hub.hub.jobs.settlementClose;
    const pool = (hub.hub.dataSource.driver as unknown as { master: { waitingCount: number } }).master;
    let waitingMax = 0;
    const sampler = setInterval(() => (waitingMax = Math.max(waitingMax, pool.waitingCount)), 2);
    try {
      // Another close (another instance, or finance) is computing for as long as this test likes.
      await holder.query('SELECT pg_advisory_lock($1, $2)', COMPUTE_LOCK);
      // Runs finish while the lock is still held: none of them waits for it.
      for (let i = 0; i < 5; i += 1) {
        const run = await job.run();
        job.log?.(run, logger);
        expect(job.report(run)).toEqual({ outcome: 'skipped', items: 0 });
      }
      expect(waitingMax).toBe(0);
      expect(lines.filter((line) => line.msg.startsWith('settlement close skipped'))).toHaveLength(5);
      expect(lines.filter((line) => line.msg === 'settlement period closed')).toEqual([]);
      // The first run cut the period off; the figures wait for the lock holder to finish.
      const [period] = await hub.hub.dataSource.query('SELECT status FROM settlement_period WHERE id = $1', [id]);
      expect(period.status).toBe('closing');
    } finally {
      clearInterval(sampler);
      await holder.query('SELECT pg_advisory_unlock($1, $2)', COMPUTE_LOCK);
      await holder.end();
    }
    // Once the lock is free, the next run finishes the close, and says so once.
    const run = await job.run();
    job.log?.(run, logger);
    expect(job.report(run)).toEqual({ outcome: 'ok', items: 1 });
    expect(run.closed.map((closed) => [closed.id, closed.status])).toEqual([[id, 'closed']]);
    expect(lines.filter((line) => line.msg === 'settlement period closed')).toHaveLength(1);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  });

  it('runs racing for one due period (as from several instances) close it once and log it once', async () => {
    await acme.client.issuePoints({ member: 'ann', amount: '30' });
    const id = await makeOpenPeriodDue();
    const { logger, lines } = capturingLogger();
    const job = hub.hub.jobs.settlementClose;
    const runs = await Promise.all(Array.from({ length: 6 }, () => job.run()));
    for (const run of runs) job.log?.(run, logger);
    expect(runs.flatMap((run) => run.closed.map((period) => period.id))).toEqual([id]);
    expect(lines.filter((line) => line.msg === 'settlement period closed')).toEqual([expect.objectContaining({ period: id })]);
    const [period] = await hub.hub.dataSource.query('SELECT status FROM settlement_period WHERE id = $1', [id]);
    expect(period.status).toBe('closed');
    expect(await hub.hub.dataSource.query(`SELECT count(*)::int AS n FROM settlement_period WHERE status = 'open'`)).toEqual([{ n: 1 }]);
  });
});

describe('the expiry job', () => {
  /** The expiry lock of src/operations/expire.ts (one-bigint advisory key). */
  const EXPIRY_LOCK = 7_301_003;

  it('skips, without waiting, while another run (another instance, or npm run expire) holds the expiry lock', async () => {
    const job = hub.hub.jobs.expiry;
    const holder = new Client({ connectionString: (hub.hub.dataSource.options as { url: string }).url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [EXPIRY_LOCK]);
      expect(job.report(await job.run())).toEqual({ outcome: 'skipped', items: 0 });
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [EXPIRY_LOCK]);
      await holder.end();
    }
    expect(job.report(await job.run())).toEqual({ outcome: 'ok', items: 0 });
  });
});
