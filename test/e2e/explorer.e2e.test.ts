import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { TestHub } from '../helpers/test-hub';

/**
 * The explorer's HTTP surface (README, "Explore the API"; docs/security.md, "Explorer"): the page a
 * browser gets on GET /graphql, its files, who gets the demo's token, and GraphQL over HTTP left as
 * it was for every other request. The browser itself is test/browser/explorer.browser.test.ts.
 */

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const TOKEN = 'token-for-the-header-editor';

let hub: TestHub;

beforeAll(async () => {
  hub = await TestHub.start({ explorerHeaders: async () => ({ Authorization: `Bearer ${TOKEN}` }) });
});

afterAll(() => hub.stop());

const browserGet = (path = '/graphql') => fetch(`${hub.url}${path}`, { headers: { accept: BROWSER_ACCEPT } });

/** The page's script and stylesheet addresses, in order. */
function linksOf(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
}

/** A GET with a Host header of the test's choosing (fetch always sends the URL's). */
function getWithHost(host: string): Promise<string> {
  const { port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/graphql', headers: { host, accept: BROWSER_ACCEPT } }, (incoming) => {
      let body = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (body += chunk));
      incoming.on('end', () => resolve(body));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('the page', () => {
  it('is GraphiQL under a strict CSP: scripts and styles from the hub only, no inline script, never cached', async () => {
    const response = await browserGet();
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const policy = Object.fromEntries(
      response.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['script-src']).toEqual(["'self'"]);
    expect(policy['style-src']).toEqual(["'self'", expect.stringMatching(/^'nonce-[A-Za-z0-9+/=]{24}'$/)]);
    expect(policy['connect-src']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');

    const [, version] = /\/explorer\/([0-9a-f]{16})\//.exec(html)!;
    expect(linksOf(html)).toEqual([
      'data:,',
      ...[
        'graphiql.min.css',
        'explorer.css',
        'react.production.min.js',
        'react-dom.production.min.js',
        'graphiql.min.js',
        'explorer.js',
      ].map((name) => `/explorer/${version}/${name}`),
    ]);
    // The only script element without src is the settings' JSON data block, which browsers do not run.
    expect([...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)].map((match) => match[0])).toEqual([
      '<script type="application/json" id="explorer-settings">',
    ]);
  });

  it('gives each page its own style nonce', async () => {
    const nonce = async () => (await browserGet()).headers.get('content-security-policy')!.match(/'nonce-([^']+)'/)![1];
    expect(await nonce()).not.toBe(await nonce());
  });

  it("carries the header editor's token for a browser on this machine that names this machine", async () => {
    expect(await (await browserGet()).text()).toContain(`"Authorization":"Bearer ${TOKEN}"`);
    expect(await getWithHost(`localhost:${new URL(hub.url).port}`)).toContain(TOKEN);
  });

  it('carries no token for a page reached through another name (DNS rebinding)', async () => {
    const html = await getWithHost('attacker.example');
    expect(html).toContain('id="explorer-settings"');
    expect(html).not.toContain(TOKEN);
  });
});

describe('its files', () => {
  it("are the packages' own files from node_modules, immutable, gzipped when asked", async () => {
    const html = await (await browserGet()).text();
    const graphiql = linksOf(html).find((link) => link.endsWith('/graphiql.min.js'))!;
    const response = await fetch(`${hub.url}${graphiql}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const own = readFileSync(join(dirname(require.resolve('graphiql/package.json')), 'graphiql.min.js'));
    expect(Buffer.from(await response.arrayBuffer()).equals(own)).toBe(true);

    for (const link of linksOf(html).filter((href) => href.startsWith('/explorer/'))) {
      const file = await fetch(`${hub.url}${link}`);
      expect([link, file.status]).toEqual([link, 200]);
      expect(file.headers.get('content-type')).toMatch(link.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
  });

  it('answer 404 under another version or name', async () => {
    for (const path of ['/explorer/0000000000000000/graphiql.min.js', '/explorer/', '/explorer/../package.json']) {
      expect([path, (await fetch(`${hub.url}${path}`)).status]).toEqual([path, 404]);
    }
    const version = /\/explorer\/([0-9a-f]{16})\//.exec(await (await browserGet()).text())![1];
    for (const name of ['package.json', 'graphiql.min.js.map', '../graphiql.min.js']) {
      const path = `/explorer/${version}/${name}`;
      expect([path, (await fetch(`${hub.url}${path}`)).status]).toEqual([path, 404]);
    }
  });
});

describe('GraphQL over HTTP, as before the explorer', () => {
  it.each([['application/json'], ['application/graphql-response+json'], ['*/*']])(
    'answers GET /graphql?query=… with Accept %s as GraphQL',
    async (accept) => {
      const response = await fetch(`${hub.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    },
  );

  it('answers a POST as GraphQL whatever its Accept', async () => {
    const response = await fetch(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('EXPLORER=off', () => {
  afterAll(() => hub.restart({ EXPLORER: 'on' }));

  it('leaves a browser GET /graphql to GraphQL over HTTP, and serves no explorer file', async () => {
    const version = /\/explorer\/([0-9a-f]{16})\//.exec(await (await browserGet()).text())![1];
    await hub.restart({ EXPLORER: 'off' });
    const response = await browserGet();
    expect(response.headers.get('content-type')).toMatch(/json/);
    expect(await response.json()).toMatchObject({ errors: [expect.objectContaining({ message: expect.any(String) })] });
    expect((await fetch(`${hub.url}/explorer/${version}/graphiql.min.js`)).status).toBe(404);
  });
});
