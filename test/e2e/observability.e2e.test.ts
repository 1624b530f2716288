import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { generatePartnerKey, PartnerClient } from '@coalition-hub/partner-sdk';
import { INSTRUCTION_MUTATIONS } from '../../src/graphql/instruction-ops';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/** What operators watch: one log line per request with its outcome and request id, and Prometheus metrics. */
let hub: TestHub;
let acme: TestPartner;
const lines: Array<Record<string, unknown>> = [];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

function capture(into: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) into.push(JSON.parse(line));
      done();
    },
  });
}

beforeAll(async () => {
  hub = await TestHub.start({ logger: pino({ level: 'info' }, capture(lines)) });
  acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'm1' });
});

afterAll(() => hub.stop());

const requestLines = () => lines.filter((line) => line.msg === 'request');
const settle = () => new Promise((done) => setTimeout(done, 50));

async function metricsText(target: TestHub = hub): Promise<string> {
  const response = await fetch(`${target.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample, e.g. sample(text, 'coalition_instructions_total{op="void",outcome="HoldNotFound"}'); 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function postGraphql(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('observability', () => {
  it('logs one line per request with path, status, duration and the typed outcome, and never the token or instruction', async () => {
    const issued = await acme.client.issuePoints({ member: 'm1', amount: '10' });
    if (!issued.ok) throw new Error('issue failed');
    await acme.client.redeemPoints({ member: 'm1', amount: '1000' });
    const token = await acme.client.accessToken();
    await hub.graphql('{ partner(id: "ACME") { id } }', {}, token);
    await settle();
    const outcomes = requestLines().map((line) => line.outcome);
    expect(outcomes).toEqual(expect.arrayContaining(['issuePoints:IssueReceipt', 'redeemPoints:InsufficientBalance', 'ok']));
    for (const line of requestLines()) {
      expect(line).toMatchObject({
        method: expect.any(String),
        path: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
        reqId: expect.any(String),
      });
    }
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(issued.data.receipt);
    expect(everything).not.toContain(token.split('.')[2]);
  });

  it('counts instructions by op and outcome at /metrics, forgeries included', async () => {
    const before = await metricsText();
    const forger = new PartnerClient({
      baseUrl: hub.url,
      hubId: HUB_ID,
      partnerId: 'ACME',
      key: await generatePartnerKey('EdDSA', acme.key.kid),
    });
    await forger.issuePoints({ member: 'm1', amount: '5' });
    await forger.issuePoints({ member: 'm1', amount: '5' });
    const response = await fetch(`${hub.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(sample(text, 'coalition_instructions_total{op="issue",outcome="IssueReceipt"}')).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'coalition_instructions_total{op="issue",outcome="InvalidSignature"}') -
        sample(before, 'coalition_instructions_total{op="issue",outcome="InvalidSignature"}'),
    ).toBe(2);
    expect(text).toMatch(/coalition_http_requests_total\{route="\/graphql",status="200"\} \d+/);
    expect(text).toContain('coalition_http_request_duration_seconds_bucket');
  });

  it('counts every signed mutation and each of its refusals, voidRedemption included', async () => {
    const before = await metricsText();
    for (const field of Object.keys(INSTRUCTION_MUTATIONS)) {
      const response = await postGraphql({
        query: `mutation($i: String!) { ${field}(instruction: $i) { __typename } }`,
        variables: { i: 'not-a-jws' },
      });
      expect(((await response.json()) as { data: Record<string, { __typename: string }> }).data[field]!.__typename).toBe(
        'MalformedInstruction',
      );
    }
    const refusedVoid = await acme.client.voidRedemption({ hold: randomUUID() });
    expect(refusedVoid).toMatchObject({ ok: false, typename: 'HoldNotFound' });
    const after = await metricsText();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    for (const op of Object.values(INSTRUCTION_MUTATIONS))
      expect({ op, counted: delta(`coalition_instructions_total{op="${op}",outcome="MalformedInstruction"}`) }).toEqual({ op, counted: 1 });
    expect(delta('coalition_instructions_total{op="void",outcome="HoldNotFound"}')).toBe(1);
  });

  it('counts instructions refused before any field ran: by op when the document names it, else as op "unknown"', async () => {
    const before = await metricsText();
    // Valid syntax, invalid document (the instruction argument is missing).
    expect((await postGraphql({ query: 'mutation { voidRedemption { __typename } }' })).status).toBe(400);
    // A signed instruction sent to a mutation the hub does not have.
    expect(
      (await postGraphql({ query: 'mutation($i: String!) { issuePoint(instruction: $i) { __typename } }', variables: { i: 'x' } })).status,
    ).toBe(400);
    // A refused query that carries no instruction is not counted as one.
    expect((await postGraphql({ query: '{ partner(id: 1, id: 2) { nope } }' })).status).toBe(400);
    const after = await metricsText();
    const counted = (text: string) =>
      new Map(
        text
          .split('\n')
          .filter((line) => line.startsWith('coalition_instructions_total{'))
          .map((line) => [line.split(' ')[0]!, Number(line.split(' ')[1])] as const),
      );
    const [was, now] = [counted(before), counted(after)];
    const added = [...now]
      .filter(([series, value]) => value !== (was.get(series) ?? 0))
      .map(([series, value]) => [series, value - (was.get(series) ?? 0)]);
    expect(added).toEqual(
      expect.arrayContaining([
        ['coalition_instructions_total{op="void",outcome="error:GRAPHQL_VALIDATION_FAILED"}', 1],
        ['coalition_instructions_total{op="unknown",outcome="error:GRAPHQL_VALIDATION_FAILED"}', 1],
      ]),
    );
    expect(added).toHaveLength(2);
  });

  it('answers every request with an x-request-id, honouring a sane incoming one, and logs the request with it', async () => {
    const honoured = await postGraphql({ query: '{ __typename }' }, { 'x-request-id': 'trace-abc-123' });
    expect(honoured.headers.get('x-request-id')).toBe('trace-abc-123');
    const replaced = await postGraphql({ query: '{ __typename }' }, { 'x-request-id': 'x'.repeat(129) });
    expect(replaced.headers.get('x-request-id')).toMatch(UUID);
    const generated = await fetch(`${hub.url}/.well-known/jwks.json`);
    expect(generated.headers.get('x-request-id')).toMatch(UUID);
    const missing = await fetch(`${hub.url}/no-such-page`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(UUID);
    await settle();
    for (const response of [honoured, replaced, generated, missing]) {
      const reqId = response.headers.get('x-request-id');
      expect(requestLines().filter((line) => line.reqId === reqId)).toHaveLength(1);
    }
    // Every request line has an id of its own.
    const ids = requestLines().map((line) => line.reqId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reports the database pool and the scheduled jobs at /metrics', async () => {
    const text = await metricsText();
    expect(sample(text, 'coalition_db_pool_connections')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^coalition_db_pool_idle_connections \d+$/m);
    expect(text).toMatch(/^coalition_db_pool_waiting_clients \d+$/m);
    for (const job of ['expiry', 'settlement_close']) {
      expect(text).toContain(`coalition_job_runs_total{job="${job}",outcome="ok"}`);
      expect(text).toContain(`coalition_job_items_total{job="${job}"}`);
    }
  });
});

describe('job metrics', () => {
  it('counts scheduled expiry and settlement-close runs, their durations and the items they processed', async () => {
    const jobs = await TestHub.start({
      env: { EXPIRY_INTERVAL_SECONDS: '1', SETTLEMENT_INTERVAL_SECONDS: '1', SETTLEMENT_PERIOD: 'hour' },
    });
    try {
      const partner = await jobs.registerPartner('JOBS');
      await partner.client.enrollMember({ member: 'j1' });
      for (let i = 0; i < 3; i += 1) await partner.client.issuePoints({ member: 'j1', amount: '5' });
      // Past the lots' lifetime (24 months by default) and past the open period's end.
      jobs.clock.advance(800 * DAY_MS);
      let text = '';
      for (let attempt = 0; attempt < 100; attempt += 1) {
        text = await metricsText(jobs);
        if (
          sample(text, 'coalition_job_items_total{job="expiry"}') >= 3 &&
          sample(text, 'coalition_job_items_total{job="settlement_close"}') >= 1
        )
          break;
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(sample(text, 'coalition_job_items_total{job="expiry"}')).toBe(3);
      expect(sample(text, 'coalition_job_items_total{job="settlement_close"}')).toBeGreaterThanOrEqual(1);
      for (const job of ['expiry', 'settlement_close']) {
        expect(sample(text, `coalition_job_runs_total{job="${job}",outcome="ok"}`)).toBeGreaterThanOrEqual(1);
        expect(sample(text, `coalition_job_duration_seconds_count{job="${job}"}`)).toBeGreaterThanOrEqual(1);
      }
    } finally {
      await jobs.stop();
    }
  });
});

describe('metrics behind a token', () => {
  it('asks for METRICS_TOKEN when one is configured, and answers with it', async () => {
    const secret = 'metrics-secret-0123456789';
    const guarded = await TestHub.start({ env: { METRICS_TOKEN: secret } });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong-secret-0123456789' } })).status).toBe(401);
      const allowed = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('coalition_http_requests_total');
    } finally {
      await guarded.stop();
    }
  });
});
