/** Request ids: which incoming ids are honoured, and that log lines written inside a request carry it. */
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { requestAwareLogger, requestIdOf, withRequestId } from '../../src/http/request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const withHeader = (value?: string | string[]) =>
  ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as unknown as IncomingMessage;

describe('requestIdOf', () => {
  it('honours a printable id of at most 128 characters', () => {
    expect(requestIdOf(withHeader('abc-123_XYZ.42:/+='))).toBe('abc-123_XYZ.42:/+=');
    expect(requestIdOf(withHeader('x'.repeat(128)))).toBe('x'.repeat(128));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['with a space', 'two words'],
    ['with a newline', 'line\nbreak'],
    ['with a control character', 'a\u0007b'],
    ['not ASCII', 'café'],
    ['repeated', ['a', 'b']],
  ])('makes a new UUID when the incoming one is %s', (_case, value) => {
    expect(requestIdOf(withHeader(value))).toMatch(UUID);
  });

  it('makes a different id for each request without one', () => {
    expect(requestIdOf(withHeader())).not.toBe(requestIdOf(withHeader()));
  });
});

describe('requestAwareLogger', () => {
  it('puts the request id on every line written inside the request, across awaits, and on none outside', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = requestAwareLogger(pino({ level: 'info' }, sink));
    logger.info('before');
    await withRequestId('req-1', async () => {
      logger.info('first');
      await new Promise((done) => setTimeout(done, 5));
      logger.child({ component: 'service' }).warn({ detail: 1 }, 'second');
    });
    await withRequestId('req-2', async () => logger.info('other'));
    logger.info('after');
    await new Promise((done) => setImmediate(done));
    expect(lines.map((line) => [line.msg, line.reqId])).toEqual([
      ['before', undefined],
      ['first', 'req-1'],
      ['second', 'req-1'],
      ['other', 'req-2'],
      ['after', undefined],
    ]);
  });
});
