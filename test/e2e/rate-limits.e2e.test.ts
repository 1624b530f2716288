import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { Pool } from 'pg';
import { generatePartnerKey, PartnerClient, signInstruction } from '@coalition-hub/partner-sdk';
import { RateLimits } from '../../src/common/rate-limits';
import { startHub, type Hub } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { databaseUrl, testServerUrl } from '../helpers/database';
import { HUB_ID, OPERATOR_ISSUER, TestHub, type TestPartner } from '../helpers/test-hub';

/**
 * Rate limits (docs/observability.md): per partner, a typed RateLimited result that writes
 * nothing, counted in the database, so two hub processes on one database share one budget; per
 * client address, HTTP 429 with Retry-After before anything else, counted in each process's memory.
 */
const nextWindow = () => new Promise((done) => setTimeout(done, 1100));

function capture(into: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) into.push(JSON.parse(line));
      done();
    },
  });
}

const ISSUE =
  'mutation($i: String!) { issuePoints(instruction: $i) { __typename ... on ErrorResult { errorCode message } ... on RateLimited { retryAfterSeconds } } }';

async function sendIssue(url: string, jws: string, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: ISSUE, variables: { i: jws } }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { issuePoints: Record<string, any> } }).data.issuePoints;
}

async function balanceOf(hub: TestHub, partner: TestPartner, ref: string): Promise<string> {
  return (await hub.graphql('{ me { balance } }', {}, await hub.memberToken(partner, ref))).data?.me.balance;
}

describe('per-partner rate limit', () => {
  const lines: Array<Record<string, unknown>> = [];
  let hub: TestHub;
  let acme: TestPartner;

  beforeAll(async () => {
    hub = await TestHub.start({
      logger: pino({ level: 'info' }, capture(lines)),
      env: { RATE_LIMIT_PARTNER_PER_SECOND: '2', RATE_LIMIT_PARTNER_BURST: '0', RATE_LIMIT_IP_PER_SECOND: '0' },
    });
    acme = await hub.registerPartner('ACME');
    await acme.client.enrollMember({ member: 'm1' });
  });

  afterAll(() => hub.stop());

  it('answers a typed RateLimited result beyond the limit, writes nothing for it, and accepts the same instruction once the wait is over', async () => {
    await nextWindow();
    const sign = (amount: string) =>
      signInstruction({ partnerId: 'ACME', hubId: HUB_ID, key: acme.key, op: 'issue', fields: { member: 'm1', amount } });
    const [first, second, third] = await Promise.all([sign('10'), sign('20'), sign('40')]);
    expect((await sendIssue(hub.url, first.jws)).__typename).toBe('IssueReceipt');
    expect((await sendIssue(hub.url, second.jws)).__typename).toBe('IssueReceipt');
    const refused = await sendIssue(hub.url, third.jws, { 'x-request-id': 'limited-request-1' });
    expect(refused).toMatchObject({ __typename: 'RateLimited', errorCode: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Through the SDK too, with the wait in the outcome.
    const viaSdk = await acme.client.issuePoints({ member: 'm1', amount: '80' });
    expect(viaSdk).toMatchObject({ ok: false, typename: 'RateLimited', errorCode: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });

    // Nothing of the refused ones was written: no jti claimed, no entry, the balance has the first two only.
    const written = await hub.hub.dataSource.query('SELECT jti FROM instruction WHERE partner_id = $1 AND jti = ANY($2::text[])', [
      'ACME',
      [third.jti, viaSdk.jti],
    ]);
    expect(written).toEqual([]);
    expect(await hub.hub.dataSource.query('SELECT id FROM journal_entry WHERE jti = ANY($1::text[])', [[third.jti, viaSdk.jti]])).toEqual(
      [],
    );
    expect(await balanceOf(hub, acme, 'm1')).toBe('30');

    // The refusal is logged, and every line of that request carries its request id.
    const ofRequest = lines.filter((line) => line.reqId === 'limited-request-1');
    expect(ofRequest.map((line) => line.msg).sort()).toEqual(['rate limited', 'request']);
    expect(ofRequest.find((line) => line.msg === 'rate limited')).toMatchObject({ scope: 'partner', partnerId: 'ACME' });

    await new Promise((done) => setTimeout(done, refused.retryAfterSeconds * 1000));
    expect((await sendIssue(hub.url, third.jws)).__typename).toBe('IssueReceipt');
    expect(await balanceOf(hub, acme, 'm1')).toBe('70');

    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/^coalition_rate_limited_total\{scope="partner"\} 2$/m);
    expect(metrics).toMatch(/^coalition_instructions_total\{op="issue",outcome="RateLimited"\} 2$/m);
  });

  it("does not let forgeries spend a partner's budget", async () => {
    await nextWindow();
    const forger = new PartnerClient({
      baseUrl: hub.url,
      hubId: HUB_ID,
      partnerId: 'ACME',
      key: await generatePartnerKey('EdDSA', acme.key.kid),
    });
    for (let i = 0; i < 3; i += 1) expect((await forger.issuePoints({ member: 'm1', amount: '1' })).typename).toBe('InvalidSignature');
    expect((await acme.client.issuePoints({ member: 'm1', amount: '1' })).typename).toBe('IssueReceipt');
    expect((await acme.client.issuePoints({ member: 'm1', amount: '1' })).typename).toBe('IssueReceipt');
  });
});

describe('when the database cannot be reached', () => {
  it('counts in memory instead, per instance, rather than failing the request', async () => {
    const unreachable = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    try {
      const limits = new RateLimits(unreachable, { partner: { perSecond: 2, burst: 0 }, address: { perSecond: 0, burst: 0 } });
      expect(await limits.partner('ACME')).toBeUndefined();
      expect(await limits.partner('ACME')).toBeUndefined();
      expect(await limits.partner('ACME')).toBeGreaterThanOrEqual(1);
      // A limit that is off never asks anyone.
      expect(await limits.address('127.0.0.1')).toBeUndefined();
    } finally {
      await unreachable.end();
    }
  });
});

describe('per-address rate limit', () => {
  it('answers HTTP 429 with Retry-After before authentication, and never limits probes or metrics', async () => {
    const hub = await TestHub.start({
      env: { RATE_LIMIT_IP_PER_SECOND: '2', RATE_LIMIT_IP_BURST: '0', RATE_LIMIT_PARTNER_PER_SECOND: '0' },
    });
    try {
      await nextWindow();
      const ask = () =>
        fetch(`${hub.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ __typename }"}',
        });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const refused = await ask();
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expect(await refused.json()).toEqual({
        errors: [
          { message: expect.stringContaining('too many requests'), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } },
        ],
      });
      expect(refused.headers.get('x-request-id')).toEqual(expect.any(String));
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
      const metrics = await fetch(`${hub.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^coalition_rate_limited_total\{scope="address"\} 1$/m);
      await new Promise((done) => setTimeout(done, retryAfter * 1000));
      expect((await ask()).status).toBe(200);
    } finally {
      await nextWindow();
      await hub.stop();
    }
  });
});

describe('per-address counters', () => {
  it("are kept in each instance's memory: no database row, and each instance allows an address its own budget", async () => {
    const hub = await TestHub.start({ env: { RATE_LIMIT_IP_PER_SECOND: '0', RATE_LIMIT_PARTNER_PER_SECOND: '0' } });
    const pool = new Pool({ connectionString: databaseUrl(testServerUrl(), hub.databaseName) });
    try {
      const settings = { partner: { perSecond: 2, burst: 0 }, address: { perSecond: 2, burst: 0 } };
      const [first, second] = [new RateLimits(pool, settings), new RateLimits(pool, settings)];
      await nextWindow();
      for (const limits of [first, second]) {
        expect(await limits.address('192.0.2.7')).toBeUndefined();
        expect(await limits.address('192.0.2.7')).toBeUndefined();
        expect(await limits.address('192.0.2.7')).toBeGreaterThanOrEqual(1);
      }
      // Another address has a budget of its own.
      expect(await first.address('192.0.2.8')).toBeUndefined();
      // A partner's counter is a row (shared by the instances); an address's never is.
      expect(await first.partner('ACME')).toBeUndefined();
      const keys: Array<{ key: string }> = await hub.hub.dataSource.query('SELECT key FROM rate_limit ORDER BY key');
      expect(keys.map(({ key }) => key)).toEqual(['partner:ACME']);
    } finally {
      await pool.end();
      await hub.stop();
    }
  });
});

describe('two hub processes on one database', () => {
  it('share one partner budget: requests spread over both are limited at the same total', async () => {
    const limits = { RATE_LIMIT_PARTNER_PER_SECOND: '4', RATE_LIMIT_PARTNER_BURST: '0', RATE_LIMIT_IP_PER_SECOND: '0' };
    const first = await TestHub.start({ env: limits });
    let second: Hub | undefined;
    try {
      const acme = await first.registerPartner('ACME');
      await acme.client.enrollMember({ member: 'm1' });
      const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const config = loadConfig({
        PORT: '0',
        HUB_ID,
        OPERATOR_ISSUER,
        OPERATOR_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'other-operator', alg: 'EdDSA' }] }),
        LOG_LEVEL: 'silent',
        EXPIRY_INTERVAL_SECONDS: '0',
        SETTLEMENT_INTERVAL_SECONDS: '0',
        ...limits,
      });
      second = await startHub(config, databaseUrl(testServerUrl(), first.databaseName), {
        clock: first.clock,
        logger: pino({ level: 'silent' }),
      });
      const viaSecond = new PartnerClient({ baseUrl: second.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key });
      await nextWindow();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? acme.client : viaSecond).issuePoints({ member: 'm1', amount: '1' })),
      );
      const typenames = outcomes.map((outcome) => outcome.typename);
      expect(typenames.filter((typename) => typename === 'IssueReceipt')).toHaveLength(4);
      expect(typenames.filter((typename) => typename === 'RateLimited')).toHaveLength(4);
      expect(await balanceOf(first, acme, 'm1')).toBe('4');
    } finally {
      await second?.close();
      await first.stop();
    }
  });
});
