import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { signAccessToken } from '@coalition-hub/partner-sdk';
import { freshDataDir, HubProcess } from '../helpers/hub-process';

/**
 * `npm start` (the hub with --demo) on its embedded database, run several times over one
 * DATA_DIR: the first run loads the demo coalition and plays the scenario; a later run keeps the
 * data and the operator key and does not play it again; --reset starts over.
 */
let dataDir: string;
let hub: HubProcess | undefined;

beforeAll(() => {
  dataDir = freshDataDir('coalition-demo-');
});

afterAll(async () => {
  await hub?.kill();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

const keyFile = () => join(dataDir, 'demo-operator-key.json');

/** A token minted from the key file as `operator token <file>` does. */
async function tokenFromKeyFile(): Promise<string> {
  const jwk = JSON.parse(readFileSync(keyFile(), 'utf8')) as JWK & { kid: string };
  const privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  return signAccessToken({
    issuer: 'coalition-operator',
    subject: 'test',
    scope: 'operator',
    audience: 'coalition-hub',
    key: { kid: jwk.kid, alg: 'EdDSA', privateKey },
  });
}

async function demoRun(...args: string[]): Promise<{ url: string; output: string }> {
  hub = HubProcess.start(['--demo', ...args], {
    DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    PORT: '0',
    HOST: '127.0.0.1',
    OPERATOR_JWKS: undefined,
    HUB_ID: undefined,
    OPERATOR_ISSUER: undefined,
  });
  return { url: await hub.url(), output: hub.output };
}

async function stopRun(how: 'SIGTERM' | 'Ctrl+C' = 'SIGTERM'): Promise<string> {
  if (how === 'Ctrl+C') hub!.signalGroup('SIGINT');
  else hub!.signal('SIGTERM');
  expect(await hub!.exitCode()).toBe(0);
  const output = hub!.output;
  hub = undefined;
  expect(output).not.toMatch(/57P01|terminating connection due to administrator command|Error:|shutdown:/);
  return output;
}

/**
 * The console sign-in links the demo prints (docs/consoles.md): each opens its console, and its token
 * (in the fragment) works: Alice's member token shows her balance, finance's and the operator's theirs.
 */
async function consoleLinksWork(url: string): Promise<void> {
  // Printed just before the "Press Ctrl+C" line; the ready log line may come first.
  for (let waited = 0; !hub!.output.includes('Press Ctrl+C') && waited < 15_000; waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  const output = hub!.output;
  for (const kind of ['member', 'finance', 'operator']) {
    const link = new RegExp(`${url.replace(/[.]/g, '\\.')}/console/${kind}#token=(\\S+)`).exec(output);
    expect(link).not.toBeNull();
    const page = await fetch(`${url}/console/${kind}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const query =
      kind === 'member'
        ? '{ me { balance } }'
        : kind === 'finance'
          ? '{ ledgerIntegrity { ok } }'
          : '{ partners(first: 1) { edges { node { id } } } }';
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${link![1]}` },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as any;
    expect(body.errors).toBeUndefined();
    if (kind === 'member') expect(body.data.me.balance).toMatch(/^\d+$/);
  }
}

async function coalition(url: string, token: string): Promise<{ partners: string[]; entries: number; ok: boolean } | { errors: unknown }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ partners { edges { node { id } } } ledgerIntegrity { ok entriesChecked } }' }),
  });
  const body = (await response.json()) as any;
  if (body.errors) return { errors: body.errors };
  return {
    partners: body.data.partners.edges.map((edge: any) => edge.node.id).sort(),
    entries: body.data.ledgerIntegrity.entriesChecked,
    ok: body.data.ledgerIntegrity.ok,
  };
}

it('keeps the demo data and operator key between runs, does not replay the scenario, and starts over with --reset', async () => {
  // First run: the scenario plays; the operator key is written in the format `operator new` writes, mode 0600.
  const first = await demoRun();
  expect(first.output).toContain('1. The operator registers three partners');
  // ACME's webhook receiver got its events, signed by the hub's key and the endpoint's secret, and verified them with the SDK.
  expect(first.output).toMatch(/ACME registers a webhook endpoint http:\/\/127\.0\.0\.1:\d+\//);
  expect(first.output).toMatch(/points\.issued\s+webhook-id \S+\s+signatures v1a\+v1 verified/);
  expect(first.output).not.toContain('webhook refused');
  const key = JSON.parse(readFileSync(keyFile(), 'utf8'));
  expect(key).toMatchObject({
    kty: 'OKP',
    crv: 'Ed25519',
    alg: 'EdDSA',
    kid: expect.any(String),
    d: expect.any(String),
    x: expect.any(String),
  });
  expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
  expect(first.output).toContain(`npm run operator -- token ${keyFile()}`);
  const token = await tokenFromKeyFile();
  const loaded = await coalition(first.url, token);
  // LAB is the sandbox step's own partner (the demo runs as a sandbox; docs/sandbox.md).
  expect(loaded).toMatchObject({ partners: ['ACME', 'BOLT', 'CAFE', 'LAB'], ok: true });
  expect(first.output).toContain('Sandbox: a test clock moves one member through time');
  const entries = (loaded as { entries: number }).entries;
  expect(entries).toBeGreaterThan(5);
  // The explorer (README, "Explore the API") opens in a browser with a working operator token filled in.
  expect(first.output).toContain(`Explore the API: open ${first.url}/graphql in a browser (the demo's operator token is filled in)`);
  const page = await (await fetch(`${first.url}/graphql`, { headers: { accept: 'text/html' } })).text();
  const explorerToken = /"Authorization":"Bearer ([^"]+)"/.exec(page)?.[1];
  expect(await coalition(first.url, explorerToken ?? 'missing')).toEqual(loaded);
  await consoleLinksWork(first.url);
  await stopRun();

  // Second run: same data, same key (the token minted before still works), the scenario is not played again.
  const second = await demoRun();
  expect(second.output).toContain('The demo coalition from an earlier run is still here');
  expect(second.output).not.toContain('1. The operator registers three partners');
  expect(JSON.parse(readFileSync(keyFile(), 'utf8'))).toEqual(key);
  expect(await coalition(second.url, token)).toEqual({ partners: ['ACME', 'BOLT', 'CAFE', 'LAB'], entries, ok: true });
  // Fresh console links again, Alice's signed with ACME's key kept from the first run.
  await consoleLinksWork(second.url);
  // Ctrl+C reaches the whole foreground group; the database still stops only after the hub, and gently.
  const logBefore = readFileSync(join(dataDir, 'postgres.log'), 'utf8').length;
  await stopRun('Ctrl+C');
  const shutdownLog = readFileSync(join(dataDir, 'postgres.log'), 'utf8').slice(logBefore);
  expect(shutdownLog).toContain('received smart shutdown request');
  expect(shutdownLog).not.toMatch(/fast shutdown|immediate shutdown/);

  // --reset: a new key (the old token is refused) and a fresh coalition, played again.
  const third = await demoRun('--reset');
  expect(third.output).toContain('1. The operator registers three partners');
  expect(existsSync(keyFile())).toBe(true);
  expect(JSON.parse(readFileSync(keyFile(), 'utf8')).d).not.toBe(key.d);
  expect(await coalition(third.url, token)).toMatchObject({
    errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })],
  });
  expect(await coalition(third.url, await tokenFromKeyFile())).toEqual({ partners: ['ACME', 'BOLT', 'CAFE', 'LAB'], entries, ok: true });
  await stopRun();
});
