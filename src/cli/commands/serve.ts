import { Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT_USAGE, keepRunning } from '../program';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return port;
}

/** `coalition-hub serve [--demo] [--reset] [--gateway]`: the hub until SIGTERM/SIGINT (see run-hub.ts). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the hub (GraphQL, probes, JWKS, metrics) until SIGTERM or SIGINT; migrates its database first')
    .option('--demo', 'load a demo coalition and play a short scenario through the partner SDK first (what `npm start` runs)')
    .option('--reset', "start the demo's data over")
    .option(
      '--gateway',
      'with --demo: also serve the example store subgraph and a local federated gateway over both, and run one query across them',
    )
    .option('--gateway-port <port>', 'the federated gateway’s port (0: any free port)', parsePort, 4001)
    .action(async (options: { demo?: boolean; reset?: boolean; gateway?: boolean; gatewayPort: number }) => {
      const { runHub, UsageError } = await import('../../run-hub.js');
      keepRunning();
      const gatewayPort = options.gateway === true ? options.gatewayPort : undefined;
      await runHub({ demo: options.demo === true, reset: options.reset === true, gatewayPort }).catch((error: unknown) => {
        // A request that cannot be done as asked (e.g. --reset without --demo) is a usage error: exit 2.
        throw error instanceof UsageError ? new CliError(error.message, EXIT_USAGE) : error;
      });
    });
}
