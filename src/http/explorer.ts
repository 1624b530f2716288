import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { EXPLORER_CLIENT_CSS, EXPLORER_CLIENT_JS } from './explorer-client';

/**
 * The API explorer (docs/operations.md, "Explorer"): a browser's GET /graphql gets GraphiQL, served
 * from the hub's own npm dependencies (graphiql's prebuilt browser bundle and React's UMD builds),
 * so nothing is fetched from the internet. Every other request to /graphql is GraphQL over HTTP as
 * before. Scripts and styles come from /explorer/<version>/ only, under a strict CSP (docs/security.md).
 */

/** The header editor's first contents (the demo: its operator token); asked again on each page load. */
export type ExplorerHeaders = () => Promise<Record<string, string>>;

export const EXPLORER_PATH = '/explorer/';

/** Files under /explorer/<version>/: from a package in node_modules, or the hub's own (explorer-client.ts). */
const ASSETS: ReadonlyArray<{ name: string; contentType: string; from: { package: string; file: string } | { text: string } }> = [
  { name: 'graphiql.min.css', contentType: 'text/css; charset=utf-8', from: { package: 'graphiql', file: 'graphiql.min.css' } },
  { name: 'explorer.css', contentType: 'text/css; charset=utf-8', from: { text: EXPLORER_CLIENT_CSS } },
  {
    name: 'react.production.min.js',
    contentType: 'text/javascript; charset=utf-8',
    from: { package: 'react', file: 'umd/react.production.min.js' },
  },
  {
    name: 'react-dom.production.min.js',
    contentType: 'text/javascript; charset=utf-8',
    from: { package: 'react-dom', file: 'umd/react-dom.production.min.js' },
  },
  { name: 'graphiql.min.js', contentType: 'text/javascript; charset=utf-8', from: { package: 'graphiql', file: 'graphiql.min.js' } },
  { name: 'explorer.js', contentType: 'text/javascript; charset=utf-8', from: { text: EXPLORER_CLIENT_JS } },
];

interface Asset {
  contentType: string;
  body: Buffer;
  gzipped: Buffer;
}

interface LoadedAssets {
  /** A hash of every file: part of their URLs, so a cached copy never outlives an upgrade. */
  version: string;
  byName: Map<string, Asset>;
}

/** Answers to the page's own requests: nothing but the hub itself (no inline script; see policy below). */
const ASSET_HEADERS = {
  'cache-control': 'public, max-age=31536000, immutable',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
};

export class Explorer {
  private readonly sources: ReadonlyArray<{ name: string; contentType: string; read: () => Promise<Buffer> }>;
  private loaded: Promise<LoadedAssets> | undefined;

  /** Throws at start-up when a package it serves is not installed, rather than on the first browser. */
  constructor(private readonly headers: ExplorerHeaders | undefined) {
    this.sources = ASSETS.map(({ name, contentType, from }) => {
      if ('text' in from) return { name, contentType, read: async () => Buffer.from(from.text) };
      const file = join(dirname(require.resolve(`${from.package}/package.json`)), from.file);
      return { name, contentType, read: () => readFile(file) };
    });
  }

  /** A browser navigating to /graphql: a GET that prefers HTML to a GraphQL JSON answer. */
  wantsPage(request: IncomingMessage): boolean {
    return request.method === 'GET' && prefersHtml(request.headers.accept);
  }

  async sendPage(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { version } = await this.assets();
    // The token goes only to a browser on this machine that named this machine: never to another
    // host, nor to a page that reached the hub through a name resolving to it (DNS rebinding).
    const headers = this.headers !== undefined && isLocalRequest(request) ? await this.headers() : {};
    const styleNonce = randomBytes(16).toString('base64');
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // It may carry a token: never kept by a browser or a proxy.
      'cache-control': 'no-store',
      'content-security-policy': pagePolicy(styleNonce),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      vary: 'accept',
    });
    response.end(explorerPage(`${EXPLORER_PATH}${version}/`, { endpoint: '/graphql', headers, styleNonce }));
  }

  /** Serves /explorer/<version>/<file>; false for any other path (so the caller answers 404). */
  async sendAsset(request: IncomingMessage, pathname: string, response: ServerResponse): Promise<boolean> {
    if (!pathname.startsWith(EXPLORER_PATH)) return false;
    const { version, byName } = await this.assets();
    const [given, name, ...rest] = pathname.slice(EXPLORER_PATH.length).split('/');
    const asset = given === version && rest.length === 0 && name !== undefined ? byName.get(name) : undefined;
    if (asset === undefined) return false;
    const gzipped = acceptsGzip(request.headers['accept-encoding']);
    response.writeHead(200, {
      ...ASSET_HEADERS,
      'content-type': asset.contentType,
      vary: 'accept-encoding',
      ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(gzipped ? asset.gzipped : asset.body);
    return true;
  }

  /** Read and compressed once, on the first request: a hub nobody browses never loads them. */
  private assets(): Promise<LoadedAssets> {
    // A failed read is tried again by the next request rather than remembered.
    this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  private async load(): Promise<LoadedAssets> {
    const byName = new Map<string, Asset>();
    const hash = createHash('sha256');
    for (const source of this.sources) {
      const body = await source.read();
      hash.update(source.name).update(body);
      byName.set(source.name, { contentType: source.contentType, body, gzipped: await promisify(gzip)(body) });
    }
    return { version: hash.digest('hex').slice(0, 16), byName };
  }
}

/**
 * The page's policy: scripts and styles from the hub only, no inline script at all; the one inline
 * exception is the style elements GraphiQL's dialogs add, which carry this response's nonce. Fonts
 * and icons are data: URLs inside graphiql's stylesheet. Requests go to the hub only.
 */
function pagePolicy(styleNonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${styleNonce}'`,
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

interface PageSettings {
  endpoint: string;
  headers: Record<string, string>;
  styleNonce: string;
}

function explorerPage(base: string, settings: PageSettings): string {
  // A JSON data block is not executed (the CSP allows it); `<` is escaped so no value can close it.
  const data = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coalition Hub · GraphQL explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}graphiql.min.css">
<link rel="stylesheet" href="${base}explorer.css">
</head>
<body>
<div id="explorer"></div>
<script type="application/json" id="explorer-settings">${data}</script>
<script src="${base}react.production.min.js"></script>
<script src="${base}react-dom.production.min.js"></script>
<script src="${base}graphiql.min.js"></script>
<script src="${base}explorer.js"></script>
</body>
</html>
`;
}

/**
 * Whether an Accept header prefers HTML to a GraphQL answer: text/html must rank strictly higher
 * than application/json and application/graphql-response+json, each taking the quality of its most
 * specific matching range. A tie (a bare wildcard, curl's default) stays GraphQL, as it was before the explorer.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const ranges = accept.split(',').flatMap((part) => {
    const [range = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    return range.includes('/') && Number.isFinite(quality) ? [{ range, quality }] : [];
  });
  const qualityOf = (type: string): number => {
    const [major] = type.split('/');
    const match =
      ranges.find((entry) => entry.range === type) ??
      ranges.find((entry) => entry.range === `${major}/*`) ??
      ranges.find((entry) => entry.range === '*/*');
    return match?.quality ?? 0;
  };
  const html = qualityOf('text/html');
  return html > 0 && html > Math.max(qualityOf('application/json'), qualityOf('application/graphql-response+json'));
}

/** Whether an Accept-Encoding header takes gzip (named, or through `*`, with a quality above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  const codings = (header ?? '').split(',').map((part) => {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return { coding, quality: q === undefined ? 1 : Number(q.slice(2)) };
  });
  const gzip = codings.find((entry) => entry.coding === 'gzip') ?? codings.find((entry) => entry.coding === '*');
  return gzip !== undefined && gzip.quality > 0;
}

/** A loopback address (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6). */
function isLoopback(address: string): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  return (isIP(plain) === 4 && plain.startsWith('127.')) || plain === '::1';
}

/** Sent from this machine, to a Host that names this machine (localhost or a loopback address). */
export function isLocalRequest(request: IncomingMessage): boolean {
  let hostname: string;
  try {
    hostname = new URL(`http://${request.headers.host ?? ''}`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return false;
  }
  return isLoopback(request.socket.remoteAddress ?? '') && (hostname === 'localhost' || isLoopback(hostname));
}
