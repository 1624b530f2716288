import { Command, InvalidArgumentError, Option } from 'commander';
import type { DataSource } from 'typeorm';
import { ROTATION_ACTIVATION_SECONDS_DEFAULT, ROTATION_ACTIVATION_SECONDS_MAX, type HubKeyAlgorithm } from '../../hub-keys/hub-keys';
import { withDatabase } from '../database';
import { CliError } from '../program';

/**
 * Opens the hub's database as its owner (DATABASE_URL, or the embedded one in DATA_DIR, which
 * only one process can run at a time: with a hub running on it, rotate through that hub's
 * `rotateHubKey` mutation), at this build's schema, and runs `work` with the key functions.
 */
async function withKeys<T>(work: (dataSource: DataSource, keys: typeof import('../../hub-keys/hub-keys')) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../../config/config.js');
  const keys = await import('../../hub-keys/hub-keys.js');
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  return withDatabase(config, {}, (dataSource) => work(dataSource, keys));
}

/**
 * `hub-key list|rotate|retire <kid>`: the hub's signing keys. Rotation makes a new key active in
 * the database; running hubs sign with it within HUB_KEY_REFRESH_SECONDS, with no restart, and
 * keep publishing the old keys until they are retired.
 */
export function hubKeyCommand(): Command {
  const command = new Command('hub-key').description("the hub's signing keys: list, rotate, retire");

  command.addCommand(
    new Command('list')
      .description('every recorded key, newest first: which one signs, which ones are published')
      .option('--json', 'one JSON object per line')
      .action((options: { json?: boolean }) =>
        withKeys(async (dataSource, { listHubKeys }) => {
          for (const key of await listHubKeys(dataSource)) {
            if (options.json) {
              console.log(JSON.stringify({ ...key, published: key.retiredAt === null }));
              continue;
            }
            const state = key.active
              ? 'active'
              : key.retiredAt
                ? `retired ${key.retiredAt.toISOString()}`
                : key.pending
                  ? 'published, pending'
                  : 'published';
            console.log(
              `${key.kid.padEnd(24)} ${key.alg.padEnd(6)} ${key.origin.padEnd(10)} activated ${key.activatedAt.toISOString()}  ${state}`,
            );
          }
        }),
      ),
  );

  command.addCommand(
    new Command('rotate')
      .description('generate a key, published at once and the active one after a delay; the old keys stay published until retired')
      .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'ES256']).default('EdDSA'))
      .addOption(
        new Option('--activate-in <seconds>', 'sign with it only after this delay, so that verifiers with a cached JWKS fetch it first')
          .default(ROTATION_ACTIVATION_SECONDS_DEFAULT)
          .argParser((text: string) => {
            const seconds = Number(text);
            if (!/^[0-9]+$/.test(text) || seconds > ROTATION_ACTIVATION_SECONDS_MAX)
              throw new InvalidArgumentError(`a whole number of seconds from 0 to ${ROTATION_ACTIVATION_SECONDS_MAX}`);
            return seconds;
          }),
      )
      .action((options: { alg: HubKeyAlgorithm; activateIn: number }) =>
        withKeys(async (dataSource, { rotateHubKey }) => {
          const kid = await rotateHubKey(dataSource, options.alg, options.activateIn);
          console.log(
            `hub key ${kid} is published and becomes active in ${options.activateIn} s (running hubs sign with it within HUB_KEY_REFRESH_SECONDS after that)`,
          );
        }),
      ),
  );

  command.addCommand(
    new Command('retire')
      .description('remove a key from the published JWKS for good (what it signed no longer verifies); never the active key')
      .argument('<kid>', 'the key id, as `hub-key list` shows it')
      .action((kid: string) =>
        withKeys(async (dataSource, { retireHubKey }) => {
          const retired = await retireHubKey(dataSource, kid);
          if (retired.outcome === 'unknown') throw new CliError(`there is no hub key ${kid}`);
          if (retired.outcome === 'active') throw new CliError(`${kid} is the active key: rotate first, then retire it`);
          const when = retired.retiredAt.toISOString();
          console.log(retired.outcome === 'retired' ? `hub key ${kid} retired at ${when}` : `hub key ${kid} was already retired (${when})`);
        }),
      ),
  );
  return command;
}
