import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { acceptsGzip } from './explorer';

/**
 * The consoles (docs/consoles.md): one web app for members, finance and operators, built by Vite
 * from console/ into dist/console/ (`npm run build`) and served here. Pages are /console/,
 * /console/member, /console/finance and /console/operator (the same page; the app picks the console
 * by its path); its files are /console/assets/<name>-<hash>.<ext>. The app talks to POST /graphql
 * with the bearer token it read from the URL fragment: the hub never sees a token in a URL, and
 * sets no cookie. Scripts and styles come from the hub only, under a strict CSP (docs/security.md).
 */

export const CONSOLE_PATH = '/console';
const ASSETS_PATH = `${CONSOLE_PATH}/assets/`;
const PAGES = new Set(['', '/', '/member', '/finance', '/operator', '/operator/kpis']);

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

interface Asset {
  contentType: string;
  body: Buffer;
  gzipped: Buffer;
}

interface LoadedConsole {
  page: Buffer;
  assets: Map<string, Asset>;
}

/** The page: no inline script or style at all; requests go to the hub only; never framed. */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export class ConsoleSite {
  private loaded: Promise<LoadedConsole | undefined> | undefined;

  /** `folder`: the built app (dist/console). Missing, the pages answer 503 with what to run. */
  constructor(private readonly folder: string) {}

  /** Whether this path belongs to the console (so the router gives it to handle()). */
  owns(pathname: string): boolean {
    return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);
  }

  async handle(request: IncomingMessage, pathname: string, response: ServerResponse): Promise<void> {
    const site = await this.site();
    const rest = pathname.slice(CONSOLE_PATH.length);
    if (PAGES.has(rest)) {
      if (site === undefined) {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        response.end('The console is not built: run `npm run build` (it builds the console into dist/console/).\n');
        return;
      }
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': PAGE_POLICY,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        // The fragment never leaves the browser, and no Referer carries the page's address elsewhere.
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
      });
      response.end(site.page);
      return;
    }
    const asset = pathname.startsWith(ASSETS_PATH) ? site?.assets.get(pathname.slice(ASSETS_PATH.length)) : undefined;
    if (asset === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found\n');
      return;
    }
    const gzipped = acceptsGzip(request.headers['accept-encoding']);
    response.writeHead(200, {
      'content-type': asset.contentType,
      // Their names carry a hash of their contents (Vite): a cached copy never outlives a change.
      'cache-control': 'public, max-age=31536000, immutable',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
      vary: 'accept-encoding',
      ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(gzipped ? asset.gzipped : asset.body);
  }

  /** Read once, on the first request; a missing build is looked for again on the next one. */
  private site(): Promise<LoadedConsole | undefined> {
    this.loaded ??= this.load().then(
      (site) => {
        if (site === undefined) this.loaded = undefined;
        return site;
      },
      (error: unknown) => {
        this.loaded = undefined;
        throw error;
      },
    );
    return this.loaded;
  }

  private async load(): Promise<LoadedConsole | undefined> {
    let page: Buffer;
    try {
      page = await readFile(join(this.folder, 'index.html'));
    } catch {
      return undefined;
    }
    const assets = new Map<string, Asset>();
    const names = await readdir(join(this.folder, 'assets')).catch(() => [] as string[]);
    for (const name of names) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType === undefined) continue;
      const body = await readFile(join(this.folder, 'assets', name));
      assets.set(name, { contentType, body, gzipped: await promisify(gzip)(body) });
    }
    return { page, assets };
  }
}
