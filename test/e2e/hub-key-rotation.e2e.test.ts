import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import pino from 'pino';
import { hubJwks, PartnerClient, ReceiptVerificationError, verifyReceipt, type JwksGetter } from '@coalition-hub/partner-sdk';
import { startHub, type Hub } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { STORED_RECEIPT } from '../../src/instructions/receipt-store';
import { assertCliBuilt, runCli, type CliRun } from '../helpers/cli';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Hub key rotation: every key the hub signed with stays published until it is retired, so that
 * receipts signed before a rotation (or before HUB_SIGNING_JWK changed) keep verifying with the
 * partner SDK against the JWKS the hub serves. `hub-key rotate` switches running hubs without a
 * restart. The CLI runs as a child process, from the build (npm test builds first).
 */

/** The built CLI's `hub-key` command on `databaseUrl`, as a child process (helpers/cli.ts). */
function hubKeyCli(databaseUrl: string, ...args: string[]): Promise<CliRun> {
  assertCliBuilt();
  return runCli(['hub-key', ...args], { env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, timeoutMs: 60_000 });
}

const kidOf = (jws: string): string => String(decodeProtectedHeader(jws).kid);

async function servedJwks(url: string): Promise<{ keys: JWK[] }> {
  const response = await fetch(`${url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  // Cached no longer than a rotated key waits before signing (the default activation delay).
  expect(response.headers.get('cache-control')).toBe('public, max-age=30');
  return (await response.json()) as { keys: JWK[] };
}

/** The SDK's receipt verification against the keys `url` serves right now. */
async function verifyWith(url: string, receipt: string) {
  const jwks = createLocalJWKSet(await servedJwks(url)) as unknown as JwksGetter;
  return verifyReceipt(receipt, { hubId: HUB_ID, partnerId: 'ACME', jwks, expectedOp: 'issue' });
}

async function issueReceipt(client: PartnerClient, orderRef: string): Promise<string> {
  const issued = await client.issuePoints({ member: 'alice', amount: '5', orderRef });
  if (!issued.ok) throw new Error(JSON.stringify(issued));
  return issued.data.receipt;
}

describe('hub-key rotate, with hubs running and across a restart', () => {
  let hub: TestHub;
  let acme: TestPartner;
  let second: Hub | undefined;

  beforeAll(async () => {
    hub = await TestHub.start({ env: { HUB_KEY_REFRESH_SECONDS: '1' } });
    acme = await hub.registerPartner('ACME');
    const enrolled = await acme.client.enrollMember({ member: 'alice' });
    if (!enrolled.ok) throw new Error('fixture set-up failed');
  });

  afterAll(async () => {
    await second?.close();
    await hub.stop();
  });

  it('keeps old receipts verifying and signs new ones with the rotated key, on every instance and after a restart', async () => {
    const before = await issueReceipt(acme.client, 'before-rotation');
    const oldKid = kidOf(before);
    await expect(verifyWith(hub.url, before)).resolves.toMatchObject({ op: 'issue', amount: '5' });

    // A second instance on the same database, as behind a load balancer.
    second = await startHub(
      loadConfig({
        PORT: '0',
        HUB_ID,
        LOG_LEVEL: 'silent',
        EXPIRY_INTERVAL_SECONDS: '0',
        SETTLEMENT_INTERVAL_SECONDS: '0',
        HUB_KEY_REFRESH_SECONDS: '1',
      }),
      hub.databaseUrl,
      { clock: hub.clock, logger: pino({ level: 'silent' }) },
    );
    const secondClient = new PartnerClient({ baseUrl: second.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key });

    // Published at once, signing one second later (the default waits 30 s for cached key sets).
    const rotated = await hubKeyCli(hub.databaseUrl, 'rotate', '--activate-in', '1');
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    const newKid = /hub key (\S+) is published/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);

    // Both instances publish the new key at once (the JWKS is read from the database)…
    for (const url of [hub.url, second.url]) expect((await servedJwks(url)).keys.map((key) => key.kid)).toEqual([newKid, oldKid]);
    // …while still signing with the old key until the new one is active…
    expect(kidOf(await issueReceipt(secondClient, 'pending-rotation'))).toBe(oldKid);
    // …and with the new one once it is and their refresh interval has passed, without a restart.
    await new Promise((done) => setTimeout(done, 2500));
    const onSecond = await issueReceipt(secondClient, 'after-rotation-second');
    expect(kidOf(onSecond)).toBe(newKid);
    await expect(verifyWith(hub.url, onSecond)).resolves.toMatchObject({ op: 'issue' });
    const onFirst = await issueReceipt(acme.client, 'after-rotation-first');
    expect(kidOf(onFirst)).toBe(newKid);

    await hub.restart();
    const client = hub.clientFor('ACME', acme.key);
    const afterRestart = await issueReceipt(client, 'after-restart');
    expect(kidOf(afterRestart)).toBe(newKid);
    for (const receipt of [before, onSecond, onFirst, afterRestart]) {
      await expect(verifyWith(hub.url, receipt)).resolves.toMatchObject({ op: 'issue', amount: '5' });
      // The SDK's own JWKS fetcher, as a partner would use it.
      await expect(verifyReceipt(receipt, { hubId: HUB_ID, partnerId: 'ACME', jwks: hubJwks(hub.url) })).resolves.toMatchObject({
        op: 'issue',
      });
    }
  });

  it('retires an old key (it leaves the JWKS), refuses the active key and unknown keys, and has usage exit codes', async () => {
    const listed = await hubKeyCli(hub.databaseUrl, 'list', '--json');
    expect(listed.code).toBe(0);
    const keys = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kid: string; active: boolean; published: boolean; origin: string });
    expect(keys).toHaveLength(2);
    const [active, old] = keys as [(typeof keys)[0], (typeof keys)[0]];
    expect(active).toMatchObject({ active: true, published: true, origin: 'generated' });
    expect(old).toMatchObject({ active: false, published: true, origin: 'generated' });

    for (const args of [['--help'], ['list', '--help'], ['rotate', '--help'], ['retire', '--help'], ['retire', old.kid, '--help']]) {
      expect((await hubKeyCli(hub.databaseUrl, ...args)).code).toBe(0);
    }
    expect((await hubKeyCli(hub.databaseUrl, 'list', '--json')).stdout).toBe(listed.stdout); // help changed nothing
    expect((await hubKeyCli(hub.databaseUrl, 'retire')).code).toBe(2);
    expect((await hubKeyCli(hub.databaseUrl, 'rotate', '--alg', 'HS256')).code).toBe(2);
    expect((await hubKeyCli(hub.databaseUrl, 'rotate', '--activate-in', 'soon')).code).toBe(2);
    expect((await hubKeyCli(hub.databaseUrl, 'unknown-command')).code).toBe(2);

    const refused = await hubKeyCli(hub.databaseUrl, 'retire', active.kid);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is the active key');
    expect((await hubKeyCli(hub.databaseUrl, 'retire', 'hub-nosuchkey')).code).toBe(1);

    const retired = await hubKeyCli(hub.databaseUrl, 'retire', old.kid);
    expect(retired).toMatchObject({ code: 0, stderr: '' });
    expect((await servedJwks(hub.url)).keys.map((key) => key.kid)).toEqual([active.kid]);
    expect((await hubKeyCli(hub.databaseUrl, 'retire', old.kid)).stdout).toContain('already retired');
  });

  it('no longer verifies a receipt signed with a retired key', async () => {
    const [row]: Array<{ receipt_jws: string }> = await hub.hub.dataSource.query(
      `SELECT ${STORED_RECEIPT} FROM instruction WHERE partner_id = 'ACME' AND op = 'issue' ORDER BY received_at LIMIT 1`,
    );
    await expect(verifyWith(hub.url, row!.receipt_jws)).rejects.toBeInstanceOf(ReceiptVerificationError);
  });
});

describe('rotateHubKey (GraphQL, for an operator)', () => {
  const ROTATE = 'mutation { rotateHubKey { kid alg origin active pending retiredAt } }';

  it('rotates on a running hub: published at once, signing after the activation delay; old receipts still verify', async () => {
    const hub = await TestHub.start();
    try {
      const acme = await hub.registerPartner('ACME');
      if (!(await acme.client.enrollMember({ member: 'alice' })).ok) throw new Error('fixture set-up failed');
      const before = await issueReceipt(acme.client, 'before');

      const refused = await hub.graphql(ROTATE, {}, await acme.client.accessToken());
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await hub.graphql(ROTATE, {}, await hub.operatorToken('finance'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      const bad = await hub.graphql('mutation { rotateHubKey(activateInSeconds: -1) { kid } }', {}, await hub.operatorToken());
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

      const { rotateHubKey } = await hub.asStaff(ROTATE, {}, 'operator');
      expect(rotateHubKey).toMatchObject({ alg: 'EdDSA', origin: 'generated', active: false, pending: true, retiredAt: null });
      expect((await servedJwks(hub.url)).keys.map((key) => key.kid)).toContain(rotateHubKey.kid);
      // Published at once, signing only after the activation delay (default 30 s).
      expect(kidOf(await issueReceipt(acme.client, 'pending'))).toBe(kidOf(before));

      const { rotateHubKey: now } = await hub.asStaff(
        'mutation { rotateHubKey(activateInSeconds: 0) { kid active pending } }',
        {},
        'operator',
      );
      expect(now).toMatchObject({ active: true, pending: false });
      // With no delay, a verifier that fetched the key set a moment ago fetches it again first (the SDK: after 1 s).
      await new Promise((done) => setTimeout(done, 1100));
      const after = await issueReceipt(acme.client, 'after');
      expect(kidOf(after)).toBe(now.kid);
      for (const receipt of [before, after]) await expect(verifyWith(hub.url, receipt)).resolves.toMatchObject({ op: 'issue' });

      const { hubKeys } = await hub.asStaff('{ hubKeys { kid active pending } }', {}, 'operator');
      expect(hubKeys).toEqual([
        { kid: rotateHubKey.kid, active: false, pending: true },
        { kid: now.kid, active: true, pending: false },
        { kid: kidOf(before), active: false, pending: false },
      ]);
    } finally {
      await hub.stop();
    }
  });
});

describe('the JWKS during a database outage', () => {
  it('is served as last read, so that what was signed keeps verifying', async () => {
    const hub = await TestHub.start();
    try {
      const published = await servedJwks(hub.url);
      expect(published.keys).toHaveLength(1);
      await hub.hub.dataSource.destroy(); // every query of the hub now fails
      expect(await servedJwks(hub.url)).toEqual(published);
      await hub.hub.dataSource.initialize();
    } finally {
      await hub.stop();
    }
  });
});

describe('the JWKS under a flood of requests', () => {
  it('holds at most one database read at a time: requests that arrive during a read share it', async () => {
    const hub = await TestHub.start();
    try {
      const query = jest.spyOn(hub.hub.dataSource, 'query');
      const answers = await Promise.all(Array.from({ length: 50 }, () => hub.hub.hubKeys.jwks()));
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      const reads = query.mock.calls.filter(([sql]) => String(sql).includes('FROM hub_signing_key WHERE retired_at IS NULL'));
      expect(reads).toHaveLength(1);
      query.mockRestore();
      // A read after that one has finished sees the database again.
      await hub.hub.hubKeys.jwks();
    } finally {
      await hub.stop();
    }
  });
});

describe('HUB_SIGNING_JWK switched from key A to key B', () => {
  async function configuredKey(kid: string): Promise<string> {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    return JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' });
  }

  it('keeps A published (receipts signed with A still verify), signs with B, and never stores either private key', async () => {
    const hub = await TestHub.start({ env: { HUB_SIGNING_JWK: await configuredKey('configured-a') } });
    try {
      const acme = await hub.registerPartner('ACME');
      if (!(await acme.client.enrollMember({ member: 'alice' })).ok) throw new Error('fixture set-up failed');
      const signedWithA = await issueReceipt(acme.client, 'with-a');
      expect(kidOf(signedWithA)).toBe('configured-a');

      await hub.restart({ HUB_SIGNING_JWK: await configuredKey('configured-b') });
      const client = hub.clientFor('ACME', acme.key);
      const signedWithB = await issueReceipt(client, 'with-b');
      expect(kidOf(signedWithB)).toBe('configured-b');
      expect((await servedJwks(hub.url)).keys.map((key) => key.kid)).toEqual(['configured-b', 'configured-a']);
      for (const receipt of [signedWithA, signedWithB]) await expect(verifyWith(hub.url, receipt)).resolves.toMatchObject({ op: 'issue' });
      for (const key of (await servedJwks(hub.url)).keys) expect(key).not.toHaveProperty('d');

      const stored: Array<{ kid: string; origin: string; has_private: boolean }> = await hub.hub.dataSource.query(
        'SELECT kid, origin, private_jwk IS NOT NULL AS has_private FROM hub_signing_key ORDER BY kid',
      );
      expect(stored).toEqual([
        { kid: 'configured-a', origin: 'configured', has_private: false },
        { kid: 'configured-b', origin: 'configured', has_private: false },
      ]);

      // Restarting with B again changes nothing; a kid reused for another key is refused.
      await hub.restart();
      expect(kidOf(await issueReceipt(hub.clientFor('ACME', acme.key), 'with-b-again'))).toBe('configured-b');
      await expect(hub.restart({ HUB_SIGNING_JWK: await configuredKey('configured-a') })).rejects.toThrow(
        'already recorded for another key',
      );
      await hub.restart({ HUB_SIGNING_JWK: await configuredKey('configured-c') });
    } finally {
      await hub.stop();
    }
  });
});
