import { request as httpRequest, Agent } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { Client } from 'pg';
import { generatePartnerKey, PartnerClient, signAccessToken, signInstruction } from '@coalition-hub/partner-sdk';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';
import { HubProcess } from '../helpers/hub-process';

/**
 * Graceful shutdown, on the real server process: SIGTERM while 50 signed instructions are in
 * flight. Every request gets a complete HTTP answer, every receipted instruction is in the
 * ledger, nothing new is accepted meanwhile, and the process exits 0.
 *
 * The overlap is made certain, not left to timing: the test holds a lock on journal_entry, so
 * every issue waits inside the server until the test lets go, after the signal.
 */
const HUB_ID = 'coalition-hub-shutdown';
const ISSUER = 'coalition-operator';
const REQUESTS = 50;

interface Answer {
  status: number;
  body: any;
}

/** A POST on its own keep-alive connection; `written` resolves once the whole request is on the wire. */
function post(
  url: string,
  body: string,
  agent: Agent,
  headers: Record<string, string> = {},
): { written: Promise<void>; answer: Promise<Answer> } {
  let wrote!: () => void;
  const written = new Promise<void>((done) => (wrote = done));
  const answer = new Promise<Answer>((done, fail) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            done({ status: response.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            fail(new Error(`incomplete answer (${response.statusCode}): ${text.slice(0, 200)}`));
          }
        });
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.on('finish', () => wrote());
    request.end(body);
  });
  return { written, answer };
}

let database: { name: string; url: string };
let hub: HubProcess | undefined;
let locker: Client | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await locker?.end().catch(() => undefined);
  await hub?.kill();
  await dropTestDatabase(database.name);
});

it('finishes the 50 signed instructions in flight at SIGTERM, answers each completely, records every receipted one, and exits 0', async () => {
  const operator = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const operatorKey = { kid: 'operator-shutdown', alg: 'EdDSA' as const, privateKey: operator.privateKey };
  hub = HubProcess.start([], {
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    HUB_ID,
    OPERATOR_ISSUER: ISSUER,
    OPERATOR_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(operator.publicKey)), kid: operatorKey.kid, alg: 'EdDSA' }] }),
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_SECONDS: '20',
  });
  const url = await hub.url();

  const key = await generatePartnerKey('EdDSA');
  const token = await signAccessToken({ issuer: ISSUER, subject: 'test', scope: 'operator', audience: HUB_ID, key: operatorKey });
  const registered = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }',
      variables: { input: { id: 'ACME', name: 'Acme', publicJwks: [key.publicJwk] } },
    }),
  }).then((response) => response.json() as Promise<any>);
  expect(registered.data.registerPartner.__typename).toBe('Partner');
  const acme = new PartnerClient({ baseUrl: url, hubId: HUB_ID, partnerId: 'ACME', key });
  expect((await acme.enrollMember({ member: 'alice' })).ok).toBe(true);

  // Every issue now waits in the server for this lock (reads still pass).
  locker = new Client({ connectionString: database.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE journal_entry IN EXCLUSIVE MODE');

  const agent = new Agent({ keepAlive: true, maxSockets: REQUESTS });
  const signed = await Promise.all(
    Array.from({ length: REQUESTS }, (_, i) =>
      signInstruction({
        partnerId: 'ACME',
        hubId: HUB_ID,
        key,
        op: 'issue',
        fields: { member: 'alice', amount: '10', orderRef: `order-${i}` },
      }),
    ),
  );
  const query =
    'mutation($instruction: String!) { issuePoints(instruction: $instruction) { __typename ... on IssueReceipt { jti entryId } ... on ErrorResult { errorCode } } }';
  const inFlight = signed.map(({ jws }) => post(`${url}/graphql`, JSON.stringify({ query, variables: { instruction: jws } }), agent));
  await Promise.all(inFlight.map((request) => request.written));
  // The server holds them: the first issues wait for the lock inside their transactions, the rest queue behind them.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await locker.query(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'journal_entry' AND NOT l.granted`,
    );
    if (rows[0].n >= 1) break;
    if (Date.now() > deadline) throw new Error('no issue reached the database');
    await new Promise((done) => setTimeout(done, 50));
  }
  // And the server has read every one of them (a request still unread in the socket is not in flight yet: a
  // draining server closes that connection). The gauge counts the scrape too.
  for (;;) {
    const metrics = await fetch(`${url}/metrics`).then((response) => response.text());
    const inFlightNow = Number(/^coalition_http_requests_in_flight (\d+)/m.exec(metrics)?.[1] ?? 0);
    if (inFlightNow >= REQUESTS + 1) break;
    if (Date.now() > deadline) throw new Error(`only ${inFlightNow - 1} of ${REQUESTS} requests reached the server`);
    await new Promise((done) => setTimeout(done, 50));
  }

  hub.signal('SIGTERM');
  await new Promise((done) => setTimeout(done, 1000));
  // Still running: it waits for the requests in flight; and it takes no new connection meanwhile.
  expect(hub.running).toBe(true);
  await expect(fetch(`${url}/livez`)).rejects.toThrow();

  await locker.query('COMMIT');
  const answers = await Promise.all(inFlight.map((request) => request.answer));
  agent.destroy();
  expect(await hub.exitCode()).toBe(0);

  for (const answer of answers) expect(answer.status).toBe(200);
  const receipted = answers
    .filter((answer) => answer.body.data?.issuePoints?.__typename === 'IssueReceipt')
    .map((answer) => answer.body.data.issuePoints.jti as string);
  const refused = answers.filter((answer) => answer.body.data?.issuePoints?.__typename !== 'IssueReceipt');
  expect(refused.map((answer) => answer.body)).toEqual([]);
  expect(receipted).toHaveLength(REQUESTS);
  const { rows } = await locker.query('SELECT jti FROM journal_entry WHERE partner_id = $1 AND jti = ANY($2)', ['ACME', receipted]);
  expect(rows.map((row) => row.jti).sort()).toEqual([...receipted].sort());
  expect(hub.output).not.toMatch(/57P01|terminating connection due to administrator command/);
});

/** A hub process on the test database with its own operator key; returns an operator token for it. */
async function startHubProcess(env: Record<string, string>): Promise<{ url: string; token: string }> {
  const operator = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const key = { kid: 'operator-shutdown', alg: 'EdDSA' as const, privateKey: operator.privateKey };
  await hub?.kill();
  hub = HubProcess.start([], {
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    HUB_ID,
    OPERATOR_ISSUER: ISSUER,
    OPERATOR_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(operator.publicKey)), kid: key.kid, alg: 'EdDSA' }] }),
    LOG_LEVEL: 'info',
    ...env,
  });
  const url = await hub.url();
  return { url, token: await signAccessToken({ issuer: ISSUER, subject: 'test', scope: 'operator', audience: HUB_ID, key }) };
}

/** Holds every read of the partner table until `release()`: a request that reads it stays in flight. */
async function holdPartnerTable(): Promise<{ waiting: () => Promise<void>; release: () => Promise<void> }> {
  const client = new Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE partner IN ACCESS EXCLUSIVE MODE');
  return {
    async waiting() {
      const deadline = Date.now() + 20_000;
      while (
        (
          await client.query(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'partner' AND NOT l.granted`,
          )
        ).rows[0].n === 0
      ) {
        if (Date.now() > deadline) throw new Error('no request reached the database');
        await new Promise((done) => setTimeout(done, 20));
      }
    },
    async release() {
      await client.query('COMMIT').catch(() => undefined);
      await client.end();
    },
  };
}

it('cuts a request still running after SHUTDOWN_GRACE_SECONDS and exits 0 without waiting for it', async () => {
  const { url, token } = await startHubProcess({ SHUTDOWN_GRACE_SECONDS: '1' });
  const authorization = `Bearer ${token}`;
  const lock = await holdPartnerTable();
  try {
    const agent = new Agent({ keepAlive: true });
    const stuck = post(`${url}/graphql`, JSON.stringify({ query: '{ partners { edges { node { id } } } }' }), agent, { authorization });
    stuck.answer.catch(() => undefined);
    await stuck.written;
    await lock.waiting();
    const signalled = Date.now();
    hub!.signal('SIGTERM');
    expect(await hub!.exitCode(15_000)).toBe(0);
    // 1 s of grace, then at most a few seconds for the pool: never the 30 s statement timeout.
    expect(Date.now() - signalled).toBeLessThan(8000);
    await expect(stuck.answer).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(hub!.output).toContain('requests still running at the end of the grace period were cut');
    agent.destroy();
  } finally {
    await lock.release();
  }
});

it('exits at once, with code 1, on a second signal during the drain', async () => {
  const { url, token } = await startHubProcess({ SHUTDOWN_GRACE_SECONDS: '60' });
  const authorization = `Bearer ${token}`;
  const lock = await holdPartnerTable();
  try {
    const agent = new Agent({ keepAlive: true });
    const stuck = post(`${url}/graphql`, JSON.stringify({ query: '{ partners { edges { node { id } } } }' }), agent, { authorization });
    stuck.answer.catch(() => undefined);
    await stuck.written;
    await lock.waiting();
    hub!.signal('SIGTERM');
    await new Promise((done) => setTimeout(done, 500));
    expect(hub!.running).toBe(true);
    hub!.signal('SIGINT');
    expect(await hub!.exitCode(5000)).toBe(1);
    expect(hub!.output).toContain('SIGINT again: exiting now');
    agent.destroy();
  } finally {
    await lock.release();
  }
});
