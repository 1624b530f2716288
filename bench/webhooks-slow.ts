import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { signAccessToken } from '@coalition-hub/partner-sdk';
import { enrollAndSignIssues, HUB_ID, inParallel, startBenchHub, type BenchDatabase } from './harness';

/**
 * Webhook delivery must not slow instructions down (docs/webhooks.md): the instruction's
 * transaction only writes its event; dispatch and delivery run later as jobs. One partner issues
 * points as fast as it can, once with no webhook endpoint and once with an endpoint (all its event
 * types) whose receiver answers only after 5 s; instruction latency percentiles are compared.
 */
const ISSUE = `mutation($i: String!) { issuePoints(instruction: $i) { __typename } }`;

export interface WebhooksSlowOptions {
  requests: number;
  connections: number;
  members: number;
}

interface RunResult {
  label: string;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  failures: number;
  received: number;
  pending: number;
}

/** A receiver that answers 200 after `delayMs`, and counts what it got. */
async function slowReceiver(delayMs: number): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      setTimeout(() => response.writeHead(200).end(), delayMs);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: () => received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function runOnce(database: BenchDatabase, withEndpoint: boolean, options: WebhooksSlowOptions): Promise<RunResult> {
  const receiver = withEndpoint ? await slowReceiver(5000) : undefined;
  const hub = await startBenchHub(database, `bench_webhooks_${withEndpoint ? 'slow' : 'none'}_${Date.now().toString(36)}`, {
    env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'true' },
  });
  try {
    const { key, client } = await hub.registerPartner('BUSY');
    if (receiver) {
      const token = await signAccessToken({
        issuer: 'BUSY',
        subject: 'BUSY',
        scope: 'partner',
        audience: HUB_ID,
        key,
        lifetimeSeconds: 300,
      });
      const created = await hub.graphql(
        `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventTypes: ["member.enrolled", "points.issued"] }) { __typename } }`,
        { url: receiver.url },
        token,
      );
      if (created.data?.createWebhookEndpoint?.__typename !== 'WebhookEndpointWithSecret') throw new Error(JSON.stringify(created));
    }
    const bodies = await enrollAndSignIssues({ key, client }, 'BUSY', options, ISSUE);
    const latencies: number[] = [];
    let failures = 0;
    const started = performance.now();
    await inParallel(bodies, options.connections, async (body) => {
      const sent = performance.now();
      const response = await fetch(`${hub.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await response.text();
      latencies.push(performance.now() - sent);
      if (response.status !== 200 || !text.includes('"IssueReceipt"')) failures += 1;
    });
    const seconds = (performance.now() - started) / 1000;
    const sorted = latencies.sort((a, b) => a - b);
    const integrity = await hub.graphql('{ ledgerIntegrity { ok } }', {}, hub.operatorToken);
    if (!integrity.data?.ledgerIntegrity?.ok) throw new Error(`integrity failed: ${JSON.stringify(integrity)}`);
    const endpoints = await hub.graphql(
      `{ webhookEndpoints(first: 1) { edges { node { pending: deliveries(first: 100, status: pending) { edges { cursor } } } } } }`,
      {},
      hub.operatorToken,
    );
    const pending = endpoints.data?.webhookEndpoints?.edges?.[0]?.node?.pending?.edges?.length ?? 0;
    return {
      label: withEndpoint ? 'endpoint answering after 5 s' : 'no endpoint',
      throughput: options.requests / seconds,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1]!,
      failures,
      received: receiver?.received() ?? 0,
      pending,
    };
  } finally {
    await hub.stop();
    await receiver?.close();
  }
}

export async function webhooksSlow(database: BenchDatabase, options: WebhooksSlowOptions): Promise<void> {
  console.log(
    `webhooks-slow: ${options.requests} issues by one partner to ${options.members} members, ${options.connections} at a time; without, then with a webhook endpoint whose receiver answers after 5 s`,
  );
  const results: RunResult[] = [];
  for (const withEndpoint of [false, true]) {
    const result = await runOnce(database, withEndpoint, options);
    results.push(result);
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    console.log(
      `  ${result.label.padEnd(29)} ${result.throughput.toFixed(0).padStart(5)} issues/s  latency p50 ${ms(result.p50)}  p95 ${ms(result.p95)}  p99 ${ms(result.p99)}  max ${ms(result.max)}  failures ${result.failures}` +
        (withEndpoint
          ? `  (deliveries received by the end: ${result.received}; still pending: ${result.pending}${result.pending === 100 ? '+' : ''})`
          : ''),
    );
  }
  const [none, slow] = results as [RunResult, RunResult];
  console.log(
    `  ratio with/without endpoint: p50 ×${(slow.p50 / none.p50).toFixed(2)}, p95 ×${(slow.p95 / none.p95).toFixed(2)}, p99 ×${(slow.p99 / none.p99).toFixed(2)}, throughput ×${(slow.throughput / none.throughput).toFixed(2)}`,
  );
}
