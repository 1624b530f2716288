import { Command } from 'commander';
import { CliError, EXIT_USAGE, keepRunning } from '../program';

/** `coalition-hub serve [--demo] [--reset]`: the hub until SIGTERM/SIGINT (see run-hub.ts). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the hub (GraphQL, probes, JWKS, metrics) until SIGTERM or SIGINT; migrates its database first')
    .option('--demo', 'load a demo coalition and play a short scenario through the partner SDK first (what `npm start` runs)')
    .option('--reset', "start the demo's data over")
    .action(async (options: { demo?: boolean; reset?: boolean }) => {
      const { runHub, UsageError } = await import('../../run-hub.js');
      keepRunning();
      await runHub({ demo: options.demo === true, reset: options.reset === true }).catch((error: unknown) => {
        // A request that cannot be done as asked (e.g. --reset without --demo) is a usage error: exit 2.
        throw error instanceof UsageError ? new CliError(error.message, EXIT_USAGE) : error;
      });
    });
}
