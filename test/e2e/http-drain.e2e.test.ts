import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDrain } from '../../src/http/drain';

/**
 * Draining an HTTP server: idle keep-alive connections close at once, a request in flight is
 * answered in full with `connection: close`, and one still running at the end of the grace
 * period is cut.
 */
let server: Server;
let drain: HttpDrain;
let base: string;
const release: Array<() => void> = [];

beforeEach(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') {
      release.push(() => res.end('slow done'));
      return;
    }
    res.end('quick');
  });
  drain = new HttpDrain(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  release.length = 0;
  server.closeAllConnections();
});

function get(path: string, agent: Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((done, fail) => {
    request(`${base}${path}`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => done({ body, connection: res.headers.connection }));
      res.on('error', fail);
    })
      .on('error', fail)
      .end();
  });
}

it('closes idle keep-alive connections at once and finishes a request in flight with connection: close', async () => {
  const agent = new Agent({ keepAlive: true });
  expect((await get('/quick', agent)).body).toBe('quick');
  const slow = get('/slow', agent);
  while (release.length === 0) await new Promise((done) => setTimeout(done, 5));
  const started = Date.now();
  const drained = drain.drain(10_000);
  setTimeout(() => release[0]!(), 100);
  expect(await slow).toEqual({ body: 'slow done', connection: 'close' });
  expect(await drained).toEqual({ cut: 0 });
  // Well before the grace period (or the 5 s keep-alive timeout): nothing was left open.
  expect(Date.now() - started).toBeLessThan(2000);
  agent.destroy();
});

it('cuts a request still running at the end of the grace period and reports it', async () => {
  const agent = new Agent({ keepAlive: true });
  const slow = get('/slow', agent);
  while (release.length === 0) await new Promise((done) => setTimeout(done, 5));
  expect(await drain.drain(200)).toEqual({ cut: 1 });
  await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
  agent.destroy();
});
