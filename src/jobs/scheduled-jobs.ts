import type { DataSource, EntityManager } from 'typeorm';
import { REAL_TIME, type Clock, type TimeScope } from '../common/clock';
import { withTransaction } from '../db/with-transaction';
import type { ExpiryRun, ExpiryService } from '../operations/expire';
import { announceVestedLots, expireDueHolds } from '../ledger/maturity';
import type { ScheduledCloseRun, SettlementService } from '../settlement/settlement.service';
import type { RecurringJob } from './recurring';
import { closeExpiredEntitlements, type RewardExpiryRun } from '../rewards/refunds';
import { refreshKpis, type KpiRefreshRun } from '../kpis/rollups';

/** Holds or lots taken per transaction. */
const BATCH = 200;

export interface MaturityRun {
  /** Holds closed as expired, or lots announced as vested. */
  items: number;
}

/** The hub's recurring jobs (docs/operations.md, "Jobs"), by name. */
export interface ScheduledJobs {
  expiry: RecurringJob<ExpiryRun>;
  settlementClose: RecurringJob<ScheduledCloseRun>;
  holdExpiry: RecurringJob<MaturityRun>;
  vesting: RecurringJob<MaturityRun>;
  rewardExpiry: RecurringJob<RewardExpiryRun>;
  kpiRefresh: RecurringJob<KpiRefreshRun>;
}

export interface ScheduledJobsOptions {
  dataSource: DataSource;
  clock: Clock;
  expiry: ExpiryService;
  settlement: SettlementService;
  intervals: { expiry: number; settlementClose: number; holdExpiry: number; vesting: number; rewardExpiry: number; kpiRefresh: number };
  /** Told the rollup's watermark after each refresh that ran (the metrics). */
  onKpiRefresh?: (run: KpiRefreshRun) => void;
  counterShards: number;
}

export function scheduledJobs(options: ScheduledJobsOptions): ScheduledJobs {
  const { dataSource, clock, intervals } = options;
  return {
    // Its advisory lock stays: a run that outlasts the interval may meet the next one, which then skips.
    expiry: {
      task: 'expiry',
      metric: 'expiry',
      intervalSeconds: intervals.expiry,
      run: () => options.expiry.run(),
      report: (run) => ({ outcome: run.ran ? 'ok' : 'skipped', items: run.lotsExpired }),
      log: (run, logger) => {
        if (run.ran && run.lotsExpired > 0) logger.info({ ...run, pointsExpired: run.pointsExpired.toString() }, 'expiry run');
      },
    },
    // Its locks stay too: finance closes a period by hand as well, and a run never waits for another close.
    settlementClose: {
      task: 'settlement-close',
      metric: 'settlement_close',
      intervalSeconds: intervals.settlementClose,
      run: () => options.settlement.runDue(),
      report: (run) => ({ outcome: run.skipped ? 'skipped' : 'ok', items: run.closed.length }),
      log: (run, logger) => {
        for (const period of run.closed) logger.info({ period: period.id }, 'settlement period closed');
        if (run.skipped) logger.debug('settlement close skipped: another close holds the lock');
      },
    },
    // Batches of rows taken with SKIP LOCKED: runs at once split the work, so no lock is needed.
    holdExpiry: {
      task: 'hold-expiry',
      metric: 'hold_expiry',
      intervalSeconds: intervals.holdExpiry,
      run: () => expireHolds(dataSource, REAL_TIME, clock.now()),
      report: (run) => ({ outcome: 'ok', items: run.items }),
      log: (run, logger) => {
        if (run.items > 0) logger.info({ holdsExpired: run.items }, 'hold expiry run');
      },
    },
    vesting: {
      task: 'vesting',
      metric: 'vesting',
      intervalSeconds: intervals.vesting,
      run: () => announceVesting(dataSource, REAL_TIME, clock.now()),
      report: (run) => ({ outcome: 'ok', items: run.items }),
      log: (run, logger) => {
        if (run.items > 0) logger.info({ lotsVested: run.items }, 'vesting run');
      },
    },
    // Each entitlement closed in its own transaction under its row lock, read again: runs at once close it once.
    rewardExpiry: {
      task: 'reward-expiry',
      metric: 'reward_expiry',
      intervalSeconds: intervals.rewardExpiry,
      run: () => closeExpiredEntitlements(dataSource, clock.now(), options.counterShards),
      report: (run) => ({ outcome: 'ok', items: run.expired + run.refunded }),
      log: (run, logger) => {
        if (run.expired + run.refunded > 0)
          logger.info({ ...run, pointsRefunded: run.pointsRefunded.toString() }, 'reward entitlements closed');
      },
    },
    // Under a session advisory lock: a run that meets another (or the CLI's) skips; each day is recomputed whole.
    kpiRefresh: {
      task: 'kpi-refresh',
      metric: 'kpi_refresh',
      intervalSeconds: intervals.kpiRefresh,
      run: async () => {
        const run = await refreshKpis(dataSource, clock.now());
        if (run.ran) options.onKpiRefresh?.(run);
        return run;
      },
      report: (run) => ({ outcome: run.ran ? 'ok' : 'skipped', items: run.rows }),
      log: (run, logger) => {
        if (run.ran) logger.debug({ ...run }, 'kpi rollups refreshed');
      },
    },
  };
}

/** The hold-expiry job's work for the members of `scope` at `now` (the scheduled job: real time; a test clock's advance: its own). */
export function expireHolds(dataSource: DataSource, scope: TimeScope, now: Date): Promise<MaturityRun> {
  return inBatches(dataSource, now, (tx) => expireDueHolds(tx, now, BATCH, scope));
}

/** The vesting job's work for the members of `scope` at `now`. */
export function announceVesting(dataSource: DataSource, scope: TimeScope, now: Date): Promise<MaturityRun> {
  return inBatches(dataSource, now, (tx) => announceVestedLots(tx, now, BATCH, scope));
}

/** Batch after batch, each its own transaction, all at one `now`, until a batch comes back short. */
async function inBatches(
  dataSource: DataSource,
  now: Date,
  batch: (tx: EntityManager, now: Date) => Promise<unknown[]>,
): Promise<MaturityRun> {
  let items = 0;
  for (;;) {
    const done = await withTransaction(dataSource, (tx) => batch(tx, now));
    items += done.length;
    if (done.length < BATCH) return { items };
  }
}
