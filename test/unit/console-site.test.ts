import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConsoleSite } from '../../src/http/console';

/**
 * How the hub serves the consoles' built app (src/http/console.ts, docs/consoles.md): every console
 * path gets the one page under a strict CSP; hashed assets are immutable and gzipped on request;
 * anything else under /console is a 404; without a build the pages say how to make one (503).
 */
describe('the consoles site', () => {
  let folder: string;
  let server: Server;
  let base: string;
  let site: ConsoleSite;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'console-site-'));
    site = new ConsoleSite(join(folder, 'console'));
    server = createServer((request, response) => {
      const { pathname } = new URL(request.url ?? '/', 'http://hub.local');
      if (!site.owns(pathname)) {
        response.writeHead(418).end();
        return;
      }
      void site.handle(request, pathname, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(folder, { recursive: true, force: true });
  });

  it('says how to build the console when it is not built, and serves it once it is, without a restart', async () => {
    const missing = await fetch(`${base}/console/member`);
    expect(missing.status).toBe(503);
    expect(await missing.text()).toContain('npm run build');

    mkdirSync(join(folder, 'console', 'assets'), { recursive: true });
    writeFileSync(join(folder, 'console', 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(folder, 'console', 'assets', 'index-abc123.js'), 'console.log("hi")');
    writeFileSync(join(folder, 'console', 'assets', 'notes.txt'), 'not served');
    for (const path of ['/console', '/console/', '/console/member', '/console/finance', '/console/operator', '/console/operator/kpis']) {
      const page = await fetch(`${base}${path}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>console</title>');
      const policy = page.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("connect-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain('unsafe');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('set-cookie')).toBeNull();
    }
  });

  it('serves hashed assets as immutable, gzipped when asked, and nothing else', async () => {
    const plain = await fetch(`${base}/console/assets/index-abc123.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toContain('immutable');
    expect(await plain.text()).toBe('console.log("hi")');
    const zipped = await new Promise<Buffer>((resolve, reject) => {
      // fetch would unzip it; read the raw bytes to see that they are gzip.
      get(`${base}/console/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    expect(gunzipSync(zipped).toString()).toBe('console.log("hi")');
    for (const path of ['/console/assets/notes.txt', '/console/assets/missing.js', '/console/assets/../index.html', '/console/other']) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
    expect(site.owns('/consoles')).toBe(false);
  });
});
