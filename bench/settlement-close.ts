import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { systemClock } from '../src/common/clock';
import { isDomainError } from '../src/common/errors';
import { createDataSource, migrate } from '../src/db/data-source';
import { ensureDatabase } from '../src/db/embedded';
import { HubKeys } from '../src/hub-keys/hub-keys';
import { PeriodCalendar } from '../src/settlement/calendar';
import { PERIOD_FUNDING_SQL, PERIOD_LINES_SQL, PERIOD_OBLIGATIONS_SQL } from '../src/settlement/lines';
import { SettlementService } from '../src/settlement/settlement.service';
import { StatementService } from '../src/settlement/statement.service';
import type { BenchDatabase } from './harness';
import { HUB_ID } from './harness';
import { seed } from './statement-stream';

/**
 * Closing small periods on a hub with a history: period 1 gets `history` entries (seeded like the
 * statement benchmark) and is closed; then the close of the next period, empty, and of one with
 * 1,000 entries are timed, in-process, through the same SettlementService the scheduler and the
 * GraphQL mutation use, after VACUUM ANALYZE (what autovacuum would have done). For context it
 * also reports what JIT compilation costs the close's whole-period queries (lines, obligations,
 * funding) under its other settings but with jit on (EXPLAIN ANALYZE): the time the close no
 * longer spends. The history matters: without nested loops the plans scan whole tables, so their
 * estimated cost grows with the ledger, not with the period.
 */
export interface CloseBenchOptions {
  history: number;
  entries: number;
  repeat: number;
}

interface Timed {
  closeMs: number;
  jitMs: number;
  executionMs: number;
}

async function jitCost(url: string, periodId: string): Promise<{ jitMs: number; executionMs: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL enable_nestloop = off`);
    await client.query(`SET LOCAL jit = on`);
    let jitMs = 0;
    let executionMs = 0;
    for (const sql of [PERIOD_LINES_SQL, PERIOD_OBLIGATIONS_SQL, PERIOD_FUNDING_SQL]) {
      const explain = sql
        .replace(/\$1/g, `'${periodId}'`)
        .replace(/\$2::text/g, 'NULL::text')
        .replace(/\$2/g, 'NULL::text');
      const [
        {
          'QUERY PLAN': [plan],
        },
      ] = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${explain}`)).rows;
      jitMs += plan.JIT?.Timing?.Total ?? 0;
      executionMs += plan['Execution Time'];
    }
    await client.query('ROLLBACK');
    return { jitMs, executionMs };
  } finally {
    await client.end();
  }
}

async function timedClose(dataSource: DataSource, settlement: SettlementService, url: string, periodId: string): Promise<Timed> {
  await dataSource.query('VACUUM ANALYZE');
  const jit = await jitCost(url, periodId);
  const started = process.hrtime.bigint();
  const closed = await settlement.close(periodId, 'bench');
  const closeMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (isDomainError(closed) || closed.status !== 'closed') throw new Error(`close failed: ${JSON.stringify(closed)}`);
  return { closeMs, ...jit };
}

async function measure(serverUrl: string, options: CloseBenchOptions): Promise<{ empty: Timed; small: Timed }> {
  const url = await ensureDatabase(serverUrl, `bench_close`);
  const dataSource = createDataSource(url, 3);
  await dataSource.initialize();
  try {
    await dataSource.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    await migrate(dataSource);
    const hubKeys = await HubKeys.load(dataSource, HUB_ID, systemClock, undefined);
    const statements = new StatementService(dataSource, hubKeys, systemClock, HUB_ID);
    const settlement = new SettlementService(dataSource, systemClock, new PeriodCalendar('month', 'UTC'), 'EUR', statements, 8);
    await seed(url, options.history);
    await timedClose(dataSource, settlement, url, '1');
    const empty = await timedClose(dataSource, settlement, url, '2');
    await seed(url, options.entries, options.history + 1);
    const small = await timedClose(dataSource, settlement, url, '3');
    const [{ lines }] = await dataSource.query(`SELECT coalesce(sum(line_count), 0)::int AS lines FROM statement WHERE period_id = 3`);
    if (lines !== options.entries + options.entries / 4) throw new Error(`period 3 has ${lines} statement lines`);
    return { empty, small };
  } finally {
    await dataSource.destroy();
  }
}

export async function settlementClose(database: BenchDatabase, options: CloseBenchOptions): Promise<void> {
  console.log(
    `\n# settlement close of an empty period and of ${options.entries} entries, after a period of ${options.history} entries (best of ${options.repeat})`,
  );
  const runs = [];
  for (let run = 0; run < options.repeat; run += 1) runs.push(await measure(database.serverUrl, options));
  for (const which of ['empty', 'small'] as const) {
    const all = runs.map((run) => run[which]);
    const best = all.reduce((a, b) => (b.closeMs < a.closeMs ? b : a));
    console.log(
      `${which === 'empty' ? 'empty period' : `${options.entries} entries`}: close ${best.closeMs.toFixed(1)} ms (runs ${all.map((r) => r.closeMs.toFixed(1)).join(', ')} ms); ` +
        `its whole-period queries with jit on: ${best.jitMs.toFixed(1)} ms of JIT in ${best.executionMs.toFixed(1)} ms`,
    );
  }
}
