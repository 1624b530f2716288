import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CliError } from '../program';

const DEFAULT_KEY_FILE = '.data/operator-key.json';

/**
 * Operator keys for a hub you run yourself: `operator new [file]` makes a key pair and prints the
 * OPERATOR_JWKS value to configure the hub with; `operator token [file]` prints a bearer token.
 */
export function operatorCommand(): Command {
  const operator = new Command('operator').description('operator keys and bearer tokens for a hub you run yourself');

  operator
    .command('new')
    .description('make an operator key pair: the private key goes to [file], the OPERATOR_JWKS line to standard output')
    .argument('[file]', 'where to write the private key (mode 0600)', DEFAULT_KEY_FILE)
    .action(async (fileArgument: string) => {
      const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await import('jose');
      const file = resolve(fileArgument);
      if (existsSync(file)) throw new CliError(`${file} exists; remove it or name another file`);
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      // Named by its own thumbprint (RFC 7638): two keys never share a kid, so both can sit in OPERATOR_JWKS during a change of keys.
      const kid = `operator-${(await calculateJwkThumbprint(await exportJWK(publicKey))).slice(0, 16)}`;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }), { mode: 0o600 });
      console.error(`private key written to ${file} (keep it secret)`);
      console.log(`export OPERATOR_JWKS='${JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' }] })}'`);
    });

  operator
    .command('token')
    .description('print an operator bearer token signed with the key in [file]')
    .argument('[file]', 'the private key made by `operator new`', DEFAULT_KEY_FILE)
    .option('--finance', 'a finance token (settlement and statements) instead of an operator token')
    .addOption(new Option('--lifetime <seconds>', 'how long the token is valid (at most 3600)').default('3600'))
    .action(async (fileArgument: string, options: { finance?: boolean; lifetime: string }) => {
      const lifetimeSeconds = Number(options.lifetime);
      if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 3600) {
        throw new CliError(`--lifetime must be a whole number of seconds from 1 to 3600, not ${options.lifetime}`, 2);
      }
      const { importJWK } = await import('jose');
      const { signAccessToken } = await import('@coalition-hub/partner-sdk');
      const { loadConfig } = await import('../../config/config.js');
      const file = resolve(fileArgument);
      if (!existsSync(file)) throw new CliError(`${file} does not exist: make a key with \`coalition-hub operator new\``);
      const jwk = JSON.parse(readFileSync(file, 'utf8')) as import('jose').JWK & { kid: string };
      const key = { kid: jwk.kid, alg: 'EdDSA' as const, privateKey: (await importJWK(jwk, 'EdDSA')) as import('jose').CryptoKey };
      const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
      const scope = options.finance ? 'finance' : 'operator';
      console.log(
        await signAccessToken({
          issuer: config.operatorIssuer,
          subject: process.env.USER ?? 'operator',
          scope,
          audience: config.hubId,
          key,
          lifetimeSeconds,
        }),
      );
    });

  return operator;
}
