import 'reflect-metadata';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../config/config';
import { createDataSource, migrate } from '../../db/data-source';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded';
import { listHubKeys, retireHubKey, rotateHubKey, ROTATION_ACTIVATION_SECONDS_DEFAULT, ROTATION_ACTIVATION_SECONDS_MAX, type HubKeyAlgorithm } from '../../instructions/hub-keys';

/** Exit codes that scripts can rely on. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/**
 * Opens the hub's database as its owner: DATABASE_URL, or the embedded one in DATA_DIR (which
 * only one process can run at a time: with a hub running on it, rotate through that hub).
 */
async function withDatabase<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    try {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
    } catch (error) {
      throw new Error(`cannot open the embedded database in ${config.dataDir} (is the hub running on it? stop it, or set DATABASE_URL): ${String(error)}`);
    }
    url = await ensureDatabase(embedded.serverUrl, 'coalition');
  }
  const dataSource = createDataSource(url, 2);
  try {
    await dataSource.initialize();
    await migrate(dataSource);
    return await work(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

/** Runs an action; a thrown error is reported on one line and exits 1. */
function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      console.error(`hub-key: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = EXIT_FAILURE;
    }
  };
}

/** Help and version exit 0; every usage error (unknown option, missing argument) exits 2. */
function conventions(command: Command): Command {
  return command.showHelpAfterError().exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  });
}

/**
 * `hub-key list|rotate|retire <kid>`: the hub's signing keys. Rotation makes a new key active in
 * the database; running hubs sign with it within HUB_KEY_REFRESH_SECONDS, with no restart, and
 * keep publishing the old keys until they are retired.
 */
export function hubKeyCommand(): Command {
  const command = conventions(new Command('hub-key').description("the hub's signing keys: list, rotate, retire"));

  command.addCommand(
    conventions(new Command('list'))
      .description('every recorded key, newest first: which one signs, which ones are published')
      .option('--json', 'one JSON object per line')
      .action(
        action(async (options: { json?: boolean }) =>
          withDatabase(async (dataSource) => {
            for (const key of await listHubKeys(dataSource)) {
              if (options.json) {
                console.log(JSON.stringify({ ...key, published: key.retiredAt === null }));
                continue;
              }
              const state = key.active ? 'active' : key.retiredAt ? `retired ${key.retiredAt.toISOString()}` : key.pending ? 'published, pending' : 'published';
              console.log(`${key.kid.padEnd(24)} ${key.alg.padEnd(6)} ${key.origin.padEnd(10)} activated ${key.activatedAt.toISOString()}  ${state}`);
            }
          }),
        ),
      ),
  );

  command.addCommand(
    conventions(new Command('rotate'))
      .description('generate a key, published at once and the active one after a delay; the old keys stay published until retired')
      .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'ES256']).default('EdDSA'))
      .addOption(
        new Option('--activate-in <seconds>', 'sign with it only after this delay, so that verifiers with a cached JWKS fetch it first')
          .default(ROTATION_ACTIVATION_SECONDS_DEFAULT)
          .argParser((text: string) => {
            const seconds = Number(text);
            if (!/^[0-9]+$/.test(text) || seconds > ROTATION_ACTIVATION_SECONDS_MAX) throw new InvalidArgumentError(`a whole number of seconds from 0 to ${ROTATION_ACTIVATION_SECONDS_MAX}`);
            return seconds;
          }),
      )
      .action(
        action(async (options: { alg: HubKeyAlgorithm; activateIn: number }) =>
          withDatabase(async (dataSource) => {
            const kid = await rotateHubKey(dataSource, options.alg, options.activateIn);
            console.log(`hub key ${kid} is published and becomes active in ${options.activateIn} s (running hubs sign with it within HUB_KEY_REFRESH_SECONDS after that)`);
          }),
        ),
      ),
  );

  command.addCommand(
    conventions(new Command('retire'))
      .description('remove a key from the published JWKS for good (what it signed no longer verifies); never the active key')
      .argument('<kid>', 'the key id, as `hub-key list` shows it')
      .action(
        action(async (kid: string) =>
          withDatabase(async (dataSource) => {
            const retired = await retireHubKey(dataSource, kid);
            if (retired.outcome === 'unknown') throw new Error(`there is no hub key ${kid}`);
            if (retired.outcome === 'active') throw new Error(`${kid} is the active key: rotate first, then retire it`);
            const when = retired.retiredAt.toISOString();
            console.log(retired.outcome === 'retired' ? `hub key ${kid} retired at ${when}` : `hub key ${kid} was already retired (${when})`);
          }),
        ),
      ),
  );
  return command;
}
