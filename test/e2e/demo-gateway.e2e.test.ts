import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { signAccessToken } from '@coalition-hub/partner-sdk';
import { CLI_PATH } from '../helpers/cli';
import { freshDataDir, HubProcess } from '../helpers/hub-process';

/**
 * `npm start -- --gateway` (docs/federation.md): the demo, then the example store subgraph and a
 * local federated gateway; the demo prints one query across both subgraphs, the gateway keeps
 * serving it with the caller's token, and Ctrl+C stops all of it.
 */
let dataDir: string;
let hub: HubProcess | undefined;

beforeAll(() => {
  dataDir = freshDataDir('coalition-demo-gateway-');
});

afterAll(async () => {
  await hub?.kill();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

async function operatorToken(): Promise<string> {
  const jwk = JSON.parse(readFileSync(join(dataDir, 'demo-operator-key.json'), 'utf8')) as JWK & { kid: string };
  const privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  return signAccessToken({
    issuer: 'coalition-operator',
    subject: 'test',
    scope: 'operator',
    audience: 'coalition-hub',
    key: { kid: jwk.kid, alg: 'EdDSA', privateKey },
  });
}

it('runs a query across the hub and the store subgraph through a real gateway, and stops all three on Ctrl+C', async () => {
  hub = HubProcess.run([CLI_PATH, 'serve', '--demo', '--gateway', '--gateway-port', '0'], {
    DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    PORT: '0',
    HOST: '127.0.0.1',
    OPERATOR_JWKS: undefined,
    HUB_ID: undefined,
    OPERATOR_ISSUER: undefined,
  });
  await hub.url(180_000);
  expect(hub.output).toMatch(/favourite store: ACME Mitte \(Berlin\), run by Acme Groceries/);
  const gatewayUrl = /Federated gateway: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(hub.output)?.[1];
  expect(gatewayUrl).toBeDefined();

  const ask = async (token?: string) =>
    (await (
      await fetch(gatewayUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: '{ members(first: 1) { edges { node { balance favouriteStore { name partner { name } } } } } }' }),
      })
    ).json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
  const answered = await ask(await operatorToken());
  expect(answered.errors).toBeUndefined();
  expect(answered.data.members.edges[0].node.favouriteStore).toEqual({ name: 'ACME Mitte', partner: { name: 'Acme Groceries' } });
  const refused = await ask();
  expect(refused.data?.members ?? null).toBeNull();
  expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);

  hub.signalGroup('SIGINT');
  expect(await hub.exitCode()).toBe(0);
  await expect(fetch(gatewayUrl!, { method: 'POST' })).rejects.toThrow();
}, 300_000);
