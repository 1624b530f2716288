import { Command } from 'commander';
import { withDatabase } from '../database';
import { startProgress } from '../progress';

/** `coalition-hub kpis refresh`: the kpi-refresh job once, safe beside running hubs (they share its lock). */
export function kpisCommand(): Command {
  const kpis = new Command('kpis').description('the KPI rollups (docs/kpis.md)');
  kpis
    .command('refresh')
    .description(
      'bring the KPI rollups up to now, day by day, as the kpi-refresh job does (DATABASE_URL, or the embedded database in DATA_DIR); ' +
        'exits 1 when another refresh holds the lock',
    )
    .option('--demo', "on the embedded database: the demo's database instead of the server's")
    .action(async (options: { demo?: boolean }) => {
      const { systemClock } = await import('../../common/clock.js');
      const { loadConfig } = await import('../../config/config.js');
      const { refreshKpis } = await import('../../kpis/rollups.js');
      const { CliError } = await import('../program.js');
      const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
      const progress = startProgress('refreshing KPI rollups');
      const run = await withDatabase(config, { demo: options.demo }, (dataSource) =>
        refreshKpis(dataSource, systemClock.now(), (done, total, day) => progress.count(`day ${day} (${done}/${total})`)),
      ).finally(() => progress.done());
      if (!run.ran) throw new CliError('another process is refreshing the KPI rollups now; nothing done');
      console.log(
        `refreshed ${run.days} days (${run.rows} member-day rows), ${run.enrolments} new enrolments, ${run.bases} KPI figure bases; days before ${run.completeBefore} are final`,
      );
    });
  return kpis;
}
