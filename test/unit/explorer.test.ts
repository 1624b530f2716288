/**
 * The explorer's decisions without a server (docs/security.md, "Explorer"): which requests get the
 * page, which get the demo's token, and when the explorer is on at all.
 */
import type { IncomingMessage } from 'node:http';
import { loadConfig } from '../../src/config/config';
import { acceptsGzip, isLocalRequest, prefersHtml } from '../../src/http/explorer';

describe('prefersHtml: only a browser navigating to /graphql gets the page', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true],
    ['text/html', true],
    ['text/*, application/json;q=0.5', true],
  ])('prefers HTML for %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });

  it.each([
    [undefined, 'no Accept header'],
    ['*/*', "curl's default: a tie stays GraphQL"],
    ['application/json', 'a GraphQL client'],
    ['application/graphql-response+json, application/json;q=0.9', 'a GraphQL-over-HTTP client'],
    ['text/html, application/json', 'HTML and JSON ranked alike'],
    ['text/html;q=0.5, application/json', 'JSON ranked higher'],
    ['text/html;q=0, */*', 'HTML refused'],
    ['', 'an empty header'],
    ['garbage', 'a header with no media range'],
  ])('keeps GraphQL for %s (%s)', (accept, _why) => {
    expect(prefersHtml(accept)).toBe(false);
  });
});

describe('isLocalRequest: the demo token goes only to this machine, named as this machine', () => {
  const request = (remoteAddress: string, host: string | undefined) =>
    ({ headers: host === undefined ? {} : { host }, socket: { remoteAddress } }) as unknown as IncomingMessage;

  it.each([
    ['127.0.0.1', '127.0.0.1:4000'],
    ['127.0.0.1', 'localhost:4000'],
    ['::1', '[::1]:4000'],
    ['::ffff:127.0.0.1', 'localhost'],
  ])('is local from %s to Host %s', (remote, host) => {
    expect(isLocalRequest(request(remote, host))).toBe(true);
  });

  it.each([
    ['192.168.1.20', '127.0.0.1:4000', 'another machine'],
    ['10.0.0.5', 'localhost:4000', 'another machine naming localhost'],
    ['127.0.0.1', 'attacker.example:4000', 'a DNS-rebinding page on this machine'],
    ['127.0.0.1', '192.168.1.20:4000', "this machine's network address"],
    ['127.0.0.1', undefined, 'no Host header'],
    ['127.0.0.1', 'bad host:x', 'a Host that is no host'],
  ])('is not local from %s to Host %s (%s)', (remote, host, _who) => {
    expect(isLocalRequest(request(remote, host))).toBe(false);
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8', true],
    ['*', true],
    [undefined, false],
    ['identity', false],
    ['gzip;q=0', false],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
  ])('for %s: %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('EXPLORER', () => {
  it('is on by default, and off by default when NODE_ENV=production', () => {
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).explorer).toBe(false);
  });

  it('is what EXPLORER says when set, production or not', () => {
    expect(loadConfig({ NODE_ENV: 'production', EXPLORER: 'on' }).explorer).toBe(true);
    expect(loadConfig({ EXPLORER: 'off' }).explorer).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', EXPLORER: '' }).explorer).toBe(false);
  });

  it('refuses any other value, naming the variable', () => {
    expect(() => loadConfig({ EXPLORER: 'true' })).toThrow(/EXPLORER/);
  });
});
