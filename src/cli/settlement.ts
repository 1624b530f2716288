import 'reflect-metadata';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import type { DataSource } from 'typeorm';
import { systemClock } from '../common/clock';
import { isDomainError } from '../common/errors';
import { loadConfig, type Config } from '../config/config';
import { createDataSource, migrate } from '../db/data-source';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded';
import { HubKeys } from '../instructions/hub-keys';
import { PeriodCalendar } from '../settlement/calendar';
import { renderStatement, type StatementFormat } from '../settlement/export';
import { FinanceQueryService } from '../settlement/finance-query.service';
import { ReconciliationService } from '../settlement/reconciliation.service';
import { SettlementService } from '../settlement/settlement.service';
import { StatementService } from '../settlement/statement.service';

/**
 * `npm run settlement -- <command>`: finance's settlement tools, straight on the database
 * (DATABASE_URL, or the embedded one in DATA_DIR when no hub is running on it). Closing here is
 * the same close as the GraphQL mutation and the scheduled job, under the same locks.
 */
interface Tools {
  dataSource: DataSource;
  settlement: SettlementService;
  statements: StatementService;
  finance: FinanceQueryService;
  reconciliation: ReconciliationService;
}

async function withTools<T>(work: (tools: Tools) => Promise<T>): Promise<T> {
  const config: Config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    try {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
    } catch (error) {
      throw new Error(`cannot open the embedded database in ${config.dataDir} (is the hub running on it? stop it, or set DATABASE_URL): ${String(error)}`);
    }
    // `--demo`: the database `npm start` plays the demo in (made anew at each start).
    url = await ensureDatabase(embedded.serverUrl, program.opts().demo ? 'coalition_demo' : 'coalition');
  }
  const dataSource = createDataSource(url, 3);
  await dataSource.initialize();
  try {
    await migrate(dataSource);
    const hubKeys = await HubKeys.load(dataSource, config.hubId, systemClock, config.hubSigningJwk);
    const statements = new StatementService(dataSource, hubKeys, systemClock, config.hubId);
    const calendar = new PeriodCalendar(config.settlementPeriod, config.settlementTimeZone);
    const settlement = new SettlementService(dataSource, systemClock, calendar, config.defaultCurrency, statements, config.counterShards);
    const finance = new FinanceQueryService(dataSource);
    const reconciliation = new ReconciliationService(dataSource, finance, statements);
    return await work({ dataSource, settlement, statements, finance, reconciliation });
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

const minor = (value: bigint) => value.toString();

async function printPeriod(tools: Tools, periodId: string): Promise<void> {
  const period = await tools.finance.period(periodId);
  if (!period) throw new Error(`there is no settlement period ${periodId}`);
  console.log(`period ${period.id}: ${period.status}, ${period.startsAt.toISOString()} .. ${period.cutoffAt?.toISOString() ?? `(open, ends ${period.endsAt.toISOString()})`}`);
  const summary = await tools.finance.summary(periodId);
  if (!summary) return;
  const page = { first: 100 };
  for (const { node } of (await tools.finance.positions(periodId, page)).edges) {
    console.log(`  position ${node.partnerId.padEnd(16)} ${minor(node.netMinor).padStart(14)} ${summary.currency}  (${node.netMinor >= 0n ? 'owes the hub' : 'owed by the hub'})`);
  }
  console.log(`  hub revenue ${summary.spreadMinor + summary.breakageKeptMinor + summary.adjustmentsMinor} (spread ${summary.spreadMinor}, breakage kept ${summary.breakageKeptMinor}, adjustments ${summary.adjustmentsMinor}); funded liability change ${summary.fundedCreatedMinor - summary.fundedReleasedMinor}`);
  for (const { node } of (await tools.finance.instructions(periodId, page)).edges) {
    console.log(`  instruction ${node.position}: ${node.payer} pays ${node.payee} ${minor(node.amountMinor)} ${summary.currency}`);
  }
  console.log(`  gross ${summary.grossMinor}, net ${summary.netMinor}${summary.grossMinor > 0n ? `, netting saves ${((1 - Number(summary.netMinor) / Number(summary.grossMinor)) * 100).toFixed(1)}%` : ''}`);
}

const program = new Command('settlement')
  .description('Settlement periods, statements and reconciliation.')
  .option('--demo', "on the embedded database: the demo's (npm start) instead of the server's (npm run serve)");

program
  .command('periods')
  .description('the latest periods, newest first')
  .option('-n, --count <n>', 'how many', '20')
  .action(async (options: { count: string }) =>
    withTools(async (tools) => {
      for (const { node } of (await tools.finance.periods({}, { first: Math.min(Number(options.count) || 20, 100) })).edges) {
        console.log(`${node.id.padStart(6)}  ${node.status.padEnd(8)} ${node.startsAt.toISOString()}  ${node.cutoffAt?.toISOString() ?? `ends ${node.endsAt.toISOString()}`}`);
      }
    }),
  );

program
  .command('close')
  .description('close a period (default: the open one) and print its positions and instructions')
  .argument('[periodId]')
  .action(async (periodId: string | undefined) =>
    withTools(async (tools) => {
      const id = periodId ?? (await tools.settlement.openPeriod()).id;
      const closed = await tools.settlement.close(id, `cli:${process.env.USER ?? 'finance'}`);
      if (isDomainError(closed)) throw new Error(closed.message);
      await printPeriod(tools, id);
    }),
  );

program
  .command('show')
  .description('positions, revenue and instructions of a closed period')
  .argument('<periodId>')
  .action(async (periodId: string) => withTools((tools) => printPeriod(tools, periodId)));

program
  .command('reconcile')
  .description('check a closed period against the ledger (exit code 1 on any difference)')
  .argument('<periodId>')
  .action(async (periodId: string) =>
    withTools(async (tools) => {
      const report = await tools.reconciliation.reconcile(periodId);
      if (!report) throw new Error(`there is no settlement period ${periodId}`);
      for (const check of report.checks) console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
      for (const difference of report.differences) console.log(`difference: ${difference}`);
      console.log(report.ok ? `period ${periodId} reconciles` : `period ${periodId} does NOT reconcile`);
      if (!report.ok) process.exitCode = 1;
    }),
  );

program
  .command('statements')
  .description("a closed period's statements")
  .argument('<periodId>')
  .action(async (periodId: string) =>
    withTools(async (tools) => {
      const finance = { kind: 'operator', role: 'finance', subject: 'cli' } as const;
      for (const { node } of (await tools.finance.statements(finance, { periodId }, { first: 100 })).edges) {
        console.log(`${node.id}  ${node.partnerId.padEnd(16)} ${String(node.lineCount).padStart(8)} lines  net ${node.netMinor} ${node.currency}  ${node.status}`);
      }
    }),
  );

program
  .command('statement')
  .description('export a statement, streaming (any size): JSON as the partner SDK verifies it, or CSV')
  .argument('<statementId>')
  .addOption(new Option('-f, --format <format>', 'json or csv').choices(['json', 'csv']).default('json'))
  .option('-o, --out <file>', 'write to a file instead of standard output')
  .action(async (statementId: string, options: { format: 'json' | 'csv'; out?: string }) =>
    withTools(async (tools) => {
      const finance = { kind: 'operator', role: 'finance', subject: 'cli' } as const;
      const statement = await tools.finance.statement(finance, statementId);
      if (!statement) throw new Error(`there is no statement ${statementId}`);
      const out: WriteStream | NodeJS.WriteStream = options.out ? createWriteStream(options.out) : process.stdout;
      // A reader that stops early (`| head`) closes the pipe: stop writing, still close the database cleanly.
      let closed = false;
      out.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
        closed = true;
      });
      const write = (chunk: string) =>
        closed || out.write(chunk) ? undefined : new Promise<void>((resolve) => {
          out.once('drain', () => resolve());
          out.once('error', () => resolve());
        });
      await renderStatement(tools.statements, statement, options.format.toUpperCase() as StatementFormat, write);
      if (options.out) await new Promise<void>((resolve, reject) => (out as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
    }),
  );

// For the benchmark (npm run bench -- statement): this process's peak memory, on standard error.
if (process.env.REPORT_PEAK_RSS) process.on('exit', () => console.error(`peak-rss-kib ${process.resourceUsage().maxRSS}`));

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
