import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { signAccessToken } from '@coalition-hub/partner-sdk';
import { loadConfig } from '../config/config';

/**
 * Operator keys for a hub you run yourself:
 *   npm run operator -- new [file]                 make a key pair (default .data/operator-key.json),
 *                                                  print the OPERATOR_JWKS value to configure the hub with
 *   npm run operator -- token [file] [--finance]   print a bearer token (1 hour) signed with that key
 */
async function main(): Promise<void> {
  const [command, fileArgument] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const file = resolve(fileArgument ?? '.data/operator-key.json');
  const config = loadConfig();
  if (command === 'new') {
    if (existsSync(file)) throw new Error(`${file} exists; remove it or name another file`);
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `operator-${new Date().toISOString().slice(0, 10)}`;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }), { mode: 0o600 });
    console.log(`private key written to ${file} (keep it secret)\n\nexport OPERATOR_JWKS='${JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' }] })}'`);
    return;
  }
  if (command === 'token') {
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { kid: string };
    const key = { kid: jwk.kid, alg: 'EdDSA' as const, privateKey: (await importJWK(jwk, 'EdDSA')) as CryptoKey };
    const scope = process.argv.includes('--finance') ? 'finance' : 'operator';
    console.log(await signAccessToken({ issuer: config.operatorIssuer, subject: process.env.USER ?? 'operator', scope, audience: config.hubId, key, lifetimeSeconds: 3600 }));
    return;
  }
  throw new Error('usage: npm run operator -- new [file] | token [file] [--finance]');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
