import { Command } from 'commander';
import { keepRunning } from '../program';

/** `coalition-hub serve [--demo] [--reset]`: the hub until SIGTERM/SIGINT (see run-hub.ts). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the hub (GraphQL, probes, JWKS, metrics) until SIGTERM or SIGINT; migrates its database first')
    .option('--demo', 'load a demo coalition and play a short scenario through the partner SDK first (what `npm start` runs)')
    .option('--reset', "start the demo's data over")
    .action(async (options: { demo?: boolean; reset?: boolean }) => {
      const { runHub } = await import('../../run-hub.js');
      keepRunning();
      await runHub({ demo: options.demo === true, reset: options.reset === true });
    });
}
