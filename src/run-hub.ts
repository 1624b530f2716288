import 'reflect-metadata';
import { startHub, type Hub } from './app';
import { loadConfig, type Config } from './config/config';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded';
import { demoConsoleLinks, demoOperatorToken, prepareDemoOperator, removeDemoOperatorKey, runDemo } from './demo/demo';
import type { FederatedDemo } from './demo/federated-demo';

export interface RunHubOptions {
  /** Load the demo coalition and play its scenario through the partner SDK before serving. */
  demo: boolean;
  /** With `demo`: start over (drop the demo's database and forget its operator key). */
  reset?: boolean;
  /** With `demo`: also serve a local federated gateway on this port (docs/federation.md). */
  gatewayPort?: number;
}

/** What the user asked for cannot be done; said in one line (exit code 2 for a CLI). */
export class UsageError extends Error {}

/**
 * Serves the hub until SIGTERM or SIGINT stops it gracefully (see Hub.close; a second signal
 * exits at once); with `demo`, first loads a demo coalition and plays a short scenario through
 * the partner SDK, or, on a later run, finds it kept. Without DATABASE_URL both run on an
 * embedded PostgreSQL in DATA_DIR (default .data/), stopped cleanly after the hub.
 */
export async function runHub(options: RunHubOptions): Promise<void> {
  const { demo, reset = false, gatewayPort } = options;
  // The demo's own output is the show: request logs stay quiet unless LOG_LEVEL asks otherwise. Its webhook
  // receiver runs on this machine (127.0.0.1), which the SSRF rule refuses outside the demo.
  // The demo is a sandbox unless NODE_ENV=production (SANDBOX=false turns it off): it shows a test clock (docs/sandbox.md).
  const demoSandbox = process.env.NODE_ENV === 'production' ? {} : { SANDBOX: 'true' };
  let config: Config = loadConfig(
    demo ? { LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', ...demoSandbox, ...process.env } : process.env,
  );
  if (reset && !demo) throw new UsageError('--reset starts the demo over: use it with --demo (npm start -- --reset)');
  if (gatewayPort !== undefined && !demo)
    throw new UsageError('--gateway composes the demo coalition with an example subgraph: use it with --demo (npm start -- --gateway)');
  if (reset && config.databaseUrl)
    throw new UsageError('--reset drops the embedded demo database; with DATABASE_URL set, empty that database yourself');

  let embedded: EmbeddedDatabase | undefined;
  let hub: Hub | undefined;
  let federation: FederatedDemo | undefined;
  let stopping = false;
  // Startup (database, migrations, the demo) finishes before a stop begins, so nothing is cut half-way.
  let started: Promise<unknown> = Promise.resolve();
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    hub?.logger.info({ signal }, 'shutting down');
    let exitCode = 0;
    try {
      await started.catch(() => undefined);
      await federation?.stop();
      await hub?.close();
    } catch (error) {
      console.error(`shutdown: ${error instanceof Error ? error.message : String(error)}`);
      exitCode = 1;
    }
    await embedded?.stop().catch(() => undefined);
    hub?.logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));

  const startup = async () => {
    if (reset) removeDemoOperatorKey(config);
    const operator = demo ? await prepareDemoOperator(config) : undefined;
    if (operator) config = operator.config;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, notice: (text) => console.error(text) });
      if (reset) await dropDatabase(embedded.serverUrl, 'coalition_demo');
      databaseUrl = await ensureDatabase(embedded.serverUrl, demo ? 'coalition_demo' : 'coalition');
    }
    // The explorer (README, "Explore the API") opens with a fresh demo operator token on each page load.
    const demoConfig = config;
    hub = await startHub(
      config,
      databaseUrl,
      operator ? { explorerHeaders: async () => ({ Authorization: `Bearer ${await demoOperatorToken(demoConfig, operator)}` }) } : {},
    );
    if (config.operatorJwks.keys.length === 0) {
      hub.logger.warn('no OPERATOR_JWKS configured: nobody can register partners (see README, "Configuration")');
    }
    if (operator) await runDemo(hub, config, operator);
    if (operator && gatewayPort !== undefined) {
      // Loaded only when asked for: the gateway and composition libraries are large, and a hub never needs them.
      const { startFederatedDemo } = await import('./demo/federated-demo.js');
      federation = await startFederatedDemo(hub, config, operator, gatewayPort);
    }
    hub.logger.info({ graphql: `${hub.url}/graphql`, database: embedded ? 'embedded' : 'external' }, 'coalition hub ready');
    // For the person at the terminal, on stderr: stdout carries only JSON log lines.
    console.error(
      `\nGraphQL endpoint: ${hub.url}/graphql   (probes: ${hub.url}/livez, ${hub.url}/readyz; keys: ${hub.url}/.well-known/jwks.json)${federation ? `\nFederated gateway: ${federation.gatewayUrl}` : ''}`,
    );
    if (config.explorer)
      console.error(`Explore the API: open ${hub.url}/graphql in a browser${operator ? " (the demo's operator token is filled in)" : ''}`);
    if (config.console) {
      if (operator) for (const text of await demoConsoleLinks(hub, config, operator)) console.error(text);
      else console.error(`Consoles: ${hub.url}/console (sign in with a link carrying a token; docs/consoles.md)`);
    }
    console.error('Press Ctrl+C to stop.');
  };
  started = startup();
  try {
    await started;
  } catch (error) {
    if (stopping) return;
    await federation?.stop().catch(() => undefined);
    await hub?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
}
