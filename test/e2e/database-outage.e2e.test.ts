import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { generatePartnerKey, HubRequestError, PartnerClient, signAccessToken, signInstruction } from '@coalition-hub/partner-sdk';
import { startHub, type Hub } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded';

/**
 * A database outage is the service's trouble, not a bug: while PostgreSQL is down, requests are
 * answered HTTP 503 with Retry-After and a retryable SERVICE_UNAVAILABLE (never HTTP 200 with
 * INTERNAL_SERVER_ERROR), the outage is logged once and counted, and when the database is back
 * the same requests (the same signed instruction) succeed. The hub runs on its own embedded
 * PostgreSQL (src/db/embedded.ts) that the test stops and starts again on the same port.
 */
const HUB_ID = 'coalition-hub-outage-test';
const OPERATOR_ISSUER = 'coalition-operator';

let dataDir: string;
let port: number;
let database: EmbeddedDatabase | undefined;
let hub: Hub;
let client: PartnerClient;
let partnerKey: Awaited<ReturnType<typeof generatePartnerKey>>;
let operatorToken: string;
const logLines: Array<{ level: number; msg: string; [field: string]: unknown }> = [];

const captured = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line));
    done();
  },
});

async function post(query: string, token?: string): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

const linesSaying = (text: string) => logLines.filter((line) => line.msg.includes(text));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'coalition-outage-'));
  database = await startEmbeddedPostgres({ dataDir, fast: true });
  const { serverUrl } = database;
  port = Number(new URL(serverUrl).port);
  const url = await ensureDatabase(serverUrl, 'hub');
  const operator = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const config = loadConfig({
    PORT: '0',
    HUB_ID,
    OPERATOR_ISSUER,
    OPERATOR_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(operator.publicKey)), kid: 'op', alg: 'EdDSA' }] }),
    EXPIRY_INTERVAL_SECONDS: '0',
    SETTLEMENT_INTERVAL_SECONDS: '0',
  });
  hub = await startHub(config, url, { logger: pino({ level: 'info' }, captured) });
  operatorToken = await signAccessToken({
    issuer: OPERATOR_ISSUER,
    subject: 'ops',
    scope: 'operator',
    audience: HUB_ID,
    key: { kid: 'op', alg: 'EdDSA', privateKey: operator.privateKey },
  });
  const key = await generatePartnerKey('EdDSA');
  partnerKey = key;
  const registered = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorToken}` },
    body: JSON.stringify({
      query: 'mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }',
      variables: { input: { id: 'ACME', name: 'Acme', publicJwks: [key.publicJwk] } },
    }),
  });
  expect(((await registered.json()) as any).data.registerPartner.__typename).toBe('Partner');
  client = new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'ACME', key });
  expect(await client.enrollMember({ member: 'ann' })).toMatchObject({ ok: true });
});

afterAll(async () => {
  await hub?.close();
  await database?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('answers 503 SERVICE_UNAVAILABLE while the database is down, logs the outage once, and recovers', async () => {
  const signed = await signInstruction({
    partnerId: 'ACME',
    hubId: HUB_ID,
    key: partnerKey,
    op: 'issue',
    fields: { member: 'ann', amount: '25' },
  });
  const partnerToken = await client.accessToken();
  await database!.stop();
  database = undefined;

  const answers = [];
  for (let round = 0; round < 5; round += 1) {
    // Resolvers reading the database (operator token: no database needed to authenticate).
    answers.push(await post('{ partner(id: "ACME") { id } }', operatorToken));
    // Authentication itself reads the partner's keys: the request fails before any resolver.
    answers.push(await post('{ partnerTransactions { edges { cursor } } }', partnerToken));
  }
  for (const answer of answers) {
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('5');
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: 5 });
    expect(answer.body.errors[0].message).toMatch(/^the database is unavailable; retry in 5 seconds/);
  }

  // A signed instruction: the SDK sees a retryable code and status, and the jti to resend.
  const refused = await client.submitSigned('issue', signed.jws).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(HubRequestError);
  expect(refused).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, jti: signed.jti });

  // Probes and the metrics still answer; the outage is counted per refused request.
  expect((await fetch(`${hub.url}/healthz`)).status).toBe(503);
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  expect(metrics).toMatch(new RegExp(`^coalition_database_unavailable_total ${answers.length + 1}$`, 'm'));

  // One line for the outage, no stack trace per request, no internal error.
  expect(linesSaying('database unavailable')).toHaveLength(1);
  expect(linesSaying('internal error')).toHaveLength(0);
  expect(linesSaying('request failed')).toHaveLength(0);
  expect(logLines.some((line) => JSON.stringify(line).includes('INTERNAL_SERVER_ERROR'))).toBe(false);

  database = await startEmbeddedPostgres({ dataDir, fast: true, port });
  const again = await post('{ partner(id: "ACME") { id } }', operatorToken);
  expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: { data: { partner: { id: 'ACME' } } } });
  expect((await post('{ partnerTransactions { edges { cursor } } }', partnerToken)).status).toBe(200);
  // The same signed instruction, resent: accepted once, as new.
  expect(await client.submitSigned('issue', signed.jws)).toMatchObject({
    ok: true,
    data: { amount: '25', balance: '25', replayed: false },
  });

  const ended = linesSaying('database available again');
  expect(ended).toHaveLength(1);
  expect(ended[0]).toMatchObject({ failedRequests: answers.length + 1 });
  expect(ended[0]?.outageMs).toEqual(expect.any(Number));
  expect(linesSaying('database unavailable')).toHaveLength(1);
});
