import { Writable } from 'node:stream';
import pino from 'pino';
import { generatePartnerKey, PartnerClient } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';

/** What operators watch: one log line per request with its outcome, and Prometheus metrics. */
let hub: TestHub;
let acme: TestPartner;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  hub = await TestHub.start({ logger: pino({ level: 'info' }, sink) });
  acme = await hub.registerPartner('ACME');
  await acme.client.enrollMember({ member: 'm1' });
});

afterAll(() => hub.stop());

const requestLines = () => lines.filter((line) => line.msg === 'request');

describe('observability', () => {
  it('logs one line per request with path, status, duration and the typed outcome, and never the token or instruction', async () => {
    const issued = await acme.client.issuePoints({ member: 'm1', amount: '10' });
    if (!issued.ok) throw new Error('issue failed');
    await acme.client.redeemPoints({ member: 'm1', amount: '1000' });
    const token = await acme.client.accessToken();
    await hub.graphql('{ partner(id: "ACME") { id } }', {}, token);
    await new Promise((done) => setTimeout(done, 50));
    const outcomes = requestLines().map((line) => line.outcome);
    expect(outcomes).toEqual(expect.arrayContaining(['issuePoints:IssueReceipt', 'redeemPoints:InsufficientBalance', 'ok']));
    for (const line of requestLines()) {
      expect(line).toMatchObject({ method: expect.any(String), path: expect.any(String), status: expect.any(Number), durationMs: expect.any(Number) });
    }
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(issued.data.receipt);
    expect(everything).not.toContain(token.split('.')[2]);
  });

  it('counts instructions by operation and outcome at /metrics, forgeries included', async () => {
    const forger = new PartnerClient({ baseUrl: hub.url, hubId: HUB_ID, partnerId: 'ACME', key: await generatePartnerKey('EdDSA', acme.key.kid) });
    await forger.issuePoints({ member: 'm1', amount: '5' });
    await forger.issuePoints({ member: 'm1', amount: '5' });
    const response = await fetch(`${hub.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/coalition_instructions_total\{operation="issuePoints",outcome="IssueReceipt"\} [1-9]/);
    expect(text).toMatch(/coalition_instructions_total\{operation="issuePoints",outcome="InvalidSignature"\} 2/);
    expect(text).toMatch(/coalition_http_requests_total\{route="\/graphql",status="200"\} \d+/);
    expect(text).toContain('coalition_http_request_duration_seconds_bucket');
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
