import { createWriteStream, type WriteStream } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { DataSource } from 'typeorm';
import type { FinanceQueryService } from '../../settlement/finance-query.service';
import type { ReconciliationService } from '../../settlement/reconciliation.service';
import type { SettlementService } from '../../settlement/settlement.service';
import type { StatementService } from '../../settlement/statement.service';
import { withDatabase } from '../database';
import { CliError, EXIT_FAILURE } from '../program';
import { startProgress } from '../progress';
import { currencyExponent, minorToMajor } from '../../settlement/export';

/**
 * `coalition-hub settlement <command>`: finance's settlement tools, straight on the database
 * (DATABASE_URL, or the embedded one in DATA_DIR when no hub is serving from it). Closing here is
 * the same close as the GraphQL mutation and the scheduled job, under the same locks.
 */
interface Tools {
  dataSource: DataSource;
  settlement: SettlementService;
  statements: StatementService;
  finance: FinanceQueryService;
  reconciliation: ReconciliationService;
}

const FINANCE = { kind: 'operator', role: 'finance', subject: 'cli' } as const;

async function withTools<T>(demo: boolean, work: (tools: Tools) => Promise<T>): Promise<T> {
  // For the benchmark (npm run bench -- statement): this process's peak memory, on standard error.
  if (process.env.REPORT_PEAK_RSS) process.on('exit', () => console.error(`peak-rss-kib ${process.resourceUsage().maxRSS}`));
  const { systemClock } = await import('../../common/clock.js');
  const { loadConfig } = await import('../../config/config.js');
  const { HubKeys } = await import('../../hub-keys/hub-keys.js');
  const { PeriodCalendar } = await import('../../settlement/calendar.js');
  const { FinanceQueryService } = await import('../../settlement/finance-query.service.js');
  const { ReconciliationService } = await import('../../settlement/reconciliation.service.js');
  const { SettlementService } = await import('../../settlement/settlement.service.js');
  const { StatementService } = await import('../../settlement/statement.service.js');
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  return withDatabase(config, { demo, poolSize: 3 }, async (dataSource) => {
    const hubKeys = await HubKeys.load(dataSource, config.hubId, systemClock, config.hubSigningJwk, { replaceConfigured: false }).catch(
      (error: unknown) => {
        throw new CliError(error instanceof Error ? error.message : String(error));
      },
    );
    const statements = new StatementService(dataSource, hubKeys, systemClock, config.hubId);
    const calendar = new PeriodCalendar(config.settlementPeriod, config.settlementTimeZone);
    const settlement = new SettlementService(dataSource, systemClock, calendar, config.defaultCurrency, statements, config.counterShards);
    const finance = new FinanceQueryService(dataSource);
    const reconciliation = new ReconciliationService(dataSource, finance, statements);
    return work({ dataSource, settlement, statements, finance, reconciliation });
  });
}

/** An amount in minor units, shown in major units with its currency (110, EUR → "1.10 EUR"): never cents labelled as euros. */
const money = (value: bigint, currency: string) => `${minorToMajor(value, currencyExponent(currency))} ${currency}`;

async function printPeriod(tools: Tools, periodId: string): Promise<void> {
  const period = await tools.finance.period(periodId);
  if (!period) throw new CliError(`there is no settlement period ${periodId}`);
  console.log(
    `period ${period.id}: ${period.status}, ${period.startsAt.toISOString()} .. ${period.cutoffAt?.toISOString() ?? `(open, ends ${period.endsAt.toISOString()})`}`,
  );
  const summary = await tools.finance.summary(periodId);
  if (!summary) return;
  const page = { first: 100 };
  for (const { node } of (await tools.finance.positions(periodId, page)).edges) {
    console.log(
      `  position ${node.partnerId.padEnd(16)} ${money(node.netMinor, summary.currency).padStart(18)}  (${node.netMinor >= 0n ? 'owes the hub' : 'owed by the hub'})`,
    );
  }
  console.log(
    `  hub revenue ${money(summary.spreadMinor + summary.breakageKeptMinor + summary.adjustmentsMinor, summary.currency)} (spread ${money(summary.spreadMinor, summary.currency)}, breakage kept ${money(summary.breakageKeptMinor, summary.currency)}, adjustments ${money(summary.adjustmentsMinor, summary.currency)}); funded liability change ${money(summary.fundedCreatedMinor - summary.fundedReleasedMinor, summary.currency)}`,
  );
  for (const { node } of (await tools.finance.transfers(periodId, page)).edges) {
    console.log(`  transfer ${node.position}: ${node.payer} pays ${node.payee} ${money(node.amountMinor, summary.currency)}`);
  }
  console.log(
    `  gross ${money(summary.grossMinor, summary.currency)}, net ${money(summary.netMinor, summary.currency)}${summary.grossMinor > 0n ? `, netting saves ${((1 - Number(summary.netMinor) / Number(summary.grossMinor)) * 100).toFixed(1)}%` : ''}`,
  );
}

/** A period id as given on the command line: a whole number, else a usage error (exit 2) before anything runs. */
function periodIdArgument(value: string): string {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('a period id is a whole number');
  return value;
}

function wholeNumber(value: string, name: string): number {
  if (!/^[0-9]+$/.test(value)) throw new CliError(`${name} must be a whole number, not ${value}`, 2);
  return Number(value);
}

export function settlementCommand(): Command {
  const settlement = new Command('settlement')
    .description('settlement periods, statements and reconciliation (DATABASE_URL, or the embedded database in DATA_DIR)')
    .option('--demo', "on the embedded database: the demo's database (serve --demo) instead of the server's");
  const demo = () => settlement.opts<{ demo?: boolean }>().demo === true;

  settlement
    .command('periods')
    .description('the latest periods, newest first')
    .option('-n, --count <n>', 'how many (at most 100)', '20')
    .action(async (options: { count: string }) => {
      const first = wholeNumber(options.count, '--count');
      if (first < 1 || first > 100) throw new CliError(`--count must be from 1 to 100, not ${first}`, 2);
      await withTools(demo(), async (tools) => {
        for (const { node } of (await tools.finance.periods({}, { first })).edges) {
          console.log(
            `${node.id.padStart(6)}  ${node.status.padEnd(8)} ${node.startsAt.toISOString()}  ${node.cutoffAt?.toISOString() ?? `ends ${node.endsAt.toISOString()}`}`,
          );
        }
      });
    });

  settlement
    .command('close')
    .description('close a period (default: the open one) and print its positions and transfers')
    .argument('[periodId]', 'a period id (default: the open one)', periodIdArgument)
    .action(async (periodId: string | undefined) => {
      const { isDomainError } = await import('../../common/errors.js');
      await withTools(demo(), async (tools) => {
        const id = periodId ?? (await tools.settlement.openPeriod()).id;
        const progress = startProgress(`closing period ${id}: cut-off, then figures and statements`);
        try {
          const closed = await tools.settlement.close(id, `cli:${process.env.USER ?? 'finance'}`);
          if (isDomainError(closed)) throw new CliError(closed.message);
        } finally {
          progress.done();
        }
        await printPeriod(tools, id);
      });
    });

  settlement
    .command('show')
    .description('positions, revenue and transfers of a period')
    .argument('<periodId>', 'a period id (a whole number)', periodIdArgument)
    .action(async (periodId: string) => withTools(demo(), (tools) => printPeriod(tools, periodId)));

  settlement
    .command('reconcile')
    .description('check a closed period against the ledger: exit code 1 on any difference (or when the period is not closed)')
    .argument('<periodId>', 'a period id (a whole number)', periodIdArgument)
    .action(async (periodId: string) =>
      withTools(demo(), async (tools) => {
        const progress = startProgress(`reconciling period ${periodId} against the ledger`);
        const report = await tools.reconciliation.reconcile(periodId).finally(() => progress.done());
        if (!report) throw new CliError(`there is no settlement period ${periodId}`);
        for (const check of report.checks) console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
        for (const difference of report.differences) console.log(`difference: ${difference}`);
        console.log(report.ok ? `period ${periodId} reconciles` : `period ${periodId} does NOT reconcile`);
        if (!report.ok) process.exitCode = EXIT_FAILURE;
      }),
    );

  settlement
    .command('statements')
    .description("a closed period's statements")
    .argument('<periodId>', 'a period id (a whole number)', periodIdArgument)
    .action(async (periodId: string) =>
      withTools(demo(), async (tools) => {
        for (const { node } of (await tools.finance.statements(FINANCE, { periodId }, { first: 100 })).edges) {
          console.log(
            `${node.id}  ${node.partnerId.padEnd(16)} ${String(node.lineCount).padStart(8)} lines  net ${money(node.netMinor, node.currency)}  ${node.status}`,
          );
        }
      }),
    );

  settlement
    .command('statement')
    .alias('export')
    .description('export a statement, streaming (any size): JSON as the partner SDK verifies it, or CSV')
    .argument('<statementId>')
    .addOption(new Option('-f, --format <format>', 'json or csv').choices(['json', 'csv']).default('json'))
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .action(async (statementId: string, options: { format: 'json' | 'csv'; out?: string }) => {
      const { renderStatement } = await import('../../settlement/export.js');
      await withTools(demo(), async (tools) => {
        const statement = await tools.finance.statement(FINANCE, statementId);
        if (!statement) throw new CliError(`there is no statement ${statementId}`);
        const out: WriteStream | NodeJS.WriteStream = options.out ? createWriteStream(options.out) : process.stdout;
        // A reader that stops early (`| head`) closes the pipe: stop writing, still close the database cleanly.
        let closed = false;
        out.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EPIPE') throw error;
          closed = true;
        });
        const progress = startProgress(`exporting statement ${statementId} (${options.format})`);
        let bytes = 0;
        const write = (chunk: string) => {
          bytes += Buffer.byteLength(chunk);
          progress.count(`${(bytes / 1e6).toFixed(1)} MB`);
          return closed || out.write(chunk)
            ? undefined
            : new Promise<void>((resolve) => {
                out.once('drain', () => resolve());
                out.once('error', () => resolve());
              });
        };
        try {
          await renderStatement(tools.statements, statement, options.format === 'csv' ? 'CSV' : 'JSON', write);
          if (options.out)
            await new Promise<void>((resolve, reject) =>
              (out as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())),
            );
        } finally {
          progress.done();
        }
      });
    });

  return settlement;
}
