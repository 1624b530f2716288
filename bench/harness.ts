import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import {
  generatePartnerKey,
  PartnerClient,
  signAccessToken,
  signInstruction,
  type PartnerKey,
  type SigningKey,
} from '@coalition-hub/partner-sdk';
import { ensureDatabase, freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded';

/**
 * A benchmark's hub: a real server process (node dist/src/main.js) on a PostgreSQL with
 * durability on, as in production, so that the numbers mean something. The load generator runs
 * in this process; on a 2-core machine client, server and database share the cores.
 */
export const HUB_ID = 'coalition-hub-bench';
const OPERATOR_ISSUER = 'coalition-operator';

export interface BenchDatabase {
  serverUrl: string;
  stop(): Promise<void>;
}

export async function startBenchDatabase(): Promise<BenchDatabase> {
  if (process.env.DATABASE_URL) return { serverUrl: process.env.DATABASE_URL, stop: async () => undefined };
  const dataDir = mkdtempSync(join(tmpdir(), 'coalition-bench-pg-'));
  const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, persistent: false });
  return {
    serverUrl: embedded.serverUrl,
    stop: async () => {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BenchHub {
  url: string;
  /** The hub's process id (for its CPU time in /proc). */
  pid: number;
  /** The hub's own database on the benchmark's server (the owner's connection). */
  databaseUrl: string;
  operatorToken: string;
  registerPartner(id: string): Promise<{ key: PartnerKey; client: PartnerClient }>;
  graphql(query: string, variables: Record<string, unknown>, token: string): Promise<any>;
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

export interface BenchHubOptions {
  env?: Record<string, string>;
  /** The compiled entry point; default dist/src/main.js next to this file's compiled copy. */
  entry?: string;
  /** Reuse an operator key (e.g. across a restart). */
  operatorKey?: SigningKey & { publicJwk: Record<string, unknown> };
  /** Node flags for the hub process, after those of BENCH_HUB_NODE_FLAGS (e.g. `--require` a preload). */
  nodeFlags?: string[];
}

export async function newOperatorKey(): Promise<SigningKey & { publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return {
    kid: 'bench-operator',
    alg: 'EdDSA',
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid: 'bench-operator', alg: 'EdDSA' },
  };
}

export async function startBenchHub(database: BenchDatabase, name: string, options: BenchHubOptions = {}): Promise<BenchHub> {
  const databaseUrl = await ensureDatabase(database.serverUrl, name);
  const operatorKey = options.operatorKey ?? (await newOperatorKey());
  const port = await freePort();
  const nodeFlags = [...(process.env.BENCH_HUB_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...(options.nodeFlags ?? [])];
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, options.entry ?? resolve(__dirname, '../src/main.js')], {
    env: {
      ...process.env,
      ...options.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HUB_ID,
      OPERATOR_ISSUER,
      OPERATOR_JWKS: JSON.stringify({ keys: [operatorKey.publicJwk] }),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}`);
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (attempt > 200) throw new Error('hub did not become healthy');
    await new Promise((done) => setTimeout(done, 100));
  }
  const operatorToken = await signAccessToken({
    issuer: OPERATOR_ISSUER,
    subject: 'bench',
    scope: 'operator',
    audience: HUB_ID,
    key: operatorKey,
    lifetimeSeconds: 3600,
  });
  const graphql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return response.json() as Promise<any>;
  };
  return {
    url,
    pid: child.pid!,
    databaseUrl,
    operatorToken,
    graphql,
    async registerPartner(id) {
      const key = await generatePartnerKey('EdDSA');
      const result = await graphql(
        'mutation($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }',
        { input: { id, name: id, publicJwks: [key.publicJwk] } },
        operatorToken,
      );
      if (result.data?.registerPartner?.__typename !== 'Partner') throw new Error(`register ${id}: ${JSON.stringify(result)}`);
      return { key, client: new PartnerClient({ baseUrl: url, hubId: HUB_ID, partnerId: id, key }) };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((done) => child.once('exit', done));
    },
  };
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Enrolls `members` members (m0, m1, …) at the partner, then signs `requests` issues of 10 CP to
 * them in turn as GraphQL bodies of `mutation`: signed ahead of time, so the load generator
 * measures the hub and not its own signing.
 */
export async function enrollAndSignIssues(
  partner: { key: PartnerKey; client: PartnerClient },
  partnerId: string,
  options: { members: number; requests: number },
  mutation: string,
): Promise<string[]> {
  const members = Array.from({ length: options.members }, (_, i) => `m${i}`);
  await inParallel(members, 8, async (member) => {
    const enrolled = await partner.client.enrollMember({ member });
    if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  });
  const bodies: string[] = [];
  for (let i = 0; i < options.requests; i += 1) {
    const signed = await signInstruction({
      partnerId,
      hubId: HUB_ID,
      key: partner.key,
      op: 'issue',
      lifetimeSeconds: 300,
      fields: { member: members[i % members.length]!, amount: '10' },
    });
    bodies.push(JSON.stringify({ query: mutation, variables: { i: signed.jws } }));
  }
  return bodies;
}

/** What one load run measured: requests per second, latency percentiles (ms) and failures. */
export interface LoadResult {
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
}

/**
 * `requests` POSTs to `/graphql` of `urls` (several: connection i goes to url i mod n) over
 * `connections` connections, each body and its extra headers from `next`. A request fails when the
 * answer is not 200 or `accepted` refuses its body; errors and timeouts count as failures too.
 */
export async function graphqlLoad(
  urls: string | string[],
  options: { connections: number; requests: number },
  next: () => { body: string; headers?: Record<string, string> },
  accepted: (body: string) => boolean,
): Promise<LoadResult> {
  let failures = 0;
  const result = await autocannon({
    url: typeof urls === 'string' ? `${urls}/graphql` : urls.map((url) => `${url}/graphql`),
    connections: options.connections,
    amount: options.requests,
    requests: [
      {
        method: 'POST',
        setupRequest: (setup) => {
          const { body, headers } = next();
          return { ...setup, body, headers: { 'content-type': 'application/json', ...headers } };
        },
        onResponse: (status, body) => {
          if (status !== 200 || !accepted(body)) failures += 1;
        },
      },
    ],
  });
  return {
    throughput: result.requests.total / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    failures: failures + result.errors + result.timeouts,
  };
}
