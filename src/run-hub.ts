import 'reflect-metadata';
import { startHub, type Hub } from './app';
import { loadConfig, type Config } from './config/config';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded';
import { prepareDemoOperator, runDemo } from './demo/demo';

export interface RunHubOptions {
  /** Load the demo coalition and play its scenario through the partner SDK before serving. */
  demo: boolean;
  /** Start the demo's data over (`serve --demo --reset`); today the demo starts over at every run anyway. */
  reset?: boolean;
}

/**
 * Serves the hub until a signal stops it; with `demo`, first loads a demo coalition and plays a
 * short scenario through the partner SDK. Without DATABASE_URL both run on an embedded
 * PostgreSQL in DATA_DIR (default .data/), which is stopped cleanly on exit.
 */
export async function runHub(options: RunHubOptions): Promise<void> {
  const { demo } = options;
  // The demo's own output is the show: request logs stay quiet unless LOG_LEVEL asks otherwise.
  let config: Config = loadConfig(demo ? { LOG_LEVEL: 'warn', ...process.env } : process.env);
  const operator = demo ? await prepareDemoOperator(config) : undefined;
  if (operator) config = operator.config;

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
    // The demo starts from an empty coalition every time; the plain server keeps its data.
    if (demo) await dropDatabase(embedded.serverUrl, 'coalition_demo');
    databaseUrl = await ensureDatabase(embedded.serverUrl, demo ? 'coalition_demo' : 'coalition');
  }

  let hub: Hub | undefined;
  const shutdown = async (signal: string) => {
    hub?.logger.info({ signal }, 'shutting down');
    await hub?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    hub = await startHub(config, databaseUrl);
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  if (config.operatorJwks.keys.length === 0) {
    hub.logger.warn('no OPERATOR_JWKS configured: nobody can register partners (see README, "Configuration")');
  }
  if (operator) await runDemo(hub, config, operator);
  hub.logger.info({ graphql: `${hub.url}/graphql`, database: embedded ? 'embedded' : 'external' }, 'coalition hub ready');
  // For the person at the terminal, on stderr: stdout carries only JSON log lines.
  console.error(`\nGraphQL endpoint: ${hub.url}/graphql   (health: ${hub.url}/healthz, keys: ${hub.url}/.well-known/jwks.json)\nPress Ctrl+C to stop.`);
}
