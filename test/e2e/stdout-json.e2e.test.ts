import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';

/**
 * A real `serve` process writes only JSON lines to stdout (log shippers parse every line); what
 * is meant for a person at a terminal (the endpoint banner) goes to stderr.
 */
const ENTRY = resolve(__dirname, '../../dist/src/main.js');

it('writes nothing but JSON lines to stdout while serving, each request logged with its request id', async () => {
  expect(existsSync(ENTRY)).toBe(true); // npm test builds the hub first
  const database = await createTestDatabase();
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: '0',
      LOG_LEVEL: 'info',
      EXPIRY_INTERVAL_SECONDS: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    let url: string | undefined;
    for (let attempt = 0; attempt < 300 && !url; attempt += 1) {
      if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}: ${stderr}`);
      const ready = stdout.split('\n').find((line) => line.includes('coalition hub ready'));
      url = ready ? (JSON.parse(ready).graphql as string).replace(/\/graphql$/, '') : undefined;
      if (!url) await new Promise((done) => setTimeout(done, 50));
    }
    if (!url) throw new Error(`the hub did not get ready: ${stderr}`);
    await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'stdout-check-1' },
      body: '{"query":"{ __typename }"}',
    });
    await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ nope }"}' });
    await fetch(`${url}/no-such-page`);
    await fetch(`${url}/healthz`);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await dropTestDatabase(database.name);
  }
  const lines = stdout.split('\n').filter((line) => line !== '');
  expect(lines.length).toBeGreaterThanOrEqual(5);
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`not a JSON line on stdout: ${line}`);
    }
  });
  const requests = parsed.filter((line) => line.msg === 'request');
  expect(requests).toHaveLength(4);
  expect(requests[0]).toMatchObject({ reqId: 'stdout-check-1', path: '/graphql', status: 200 });
  for (const line of requests) expect(line.reqId).toEqual(expect.any(String));
  expect(stderr).toContain('GraphQL endpoint');
});
