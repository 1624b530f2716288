import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { DatabaseOutage, isDatabaseUnavailable } from '../../src/db/availability';

/** Which failures mean "the database cannot be reached" (a retryable 503), and which are something else. */
const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a server shutting down (57P01 admin_shutdown)', pgError('57P01', 'terminating connection due to administrator command')],
    ['a crashed server (57P02)', pgError('57P02')],
    ['a server starting up (57P03 cannot_connect_now)', pgError('57P03', 'the database system is starting up')],
    ['a connection failure (08006)', pgError('08006')],
    ['too many connections (53300)', pgError('53300')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'a refused connection on every address',
      new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], 'connect failed'),
    ],
    ['a connection that died', new Error('Connection terminated unexpectedly')],
    ['a pool with no connection to give in time', new Error('timeout exceeded when trying to connect')],
    ['a TypeORM QueryFailedError around it', Object.assign(new Error('query failed'), { driverError: pgError('57P01') })],
    ['a GraphQL error around it', new GraphQLError('wrapped', { originalError: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })],
  ])('is true for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', pgError('23505')],
    ['a NUL in text (22021)', pgError('22021')],
    ['a serialization failure (40001), retried inside the hub', pgError('40001')],
    ['a statement timeout (57014)', pgError('57014')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error at all', 'oops'],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('DatabaseOutage', () => {
  it('logs the first failure, counts every one, and logs the end once with duration and count', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info' },
      new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }),
    );
    let now = 1_000;
    let counted = 0;
    const outage = new DatabaseOutage(
      logger,
      () => (counted += 1),
      () => now,
    );
    outage.recovered();
    expect(lines).toHaveLength(0);
    for (let failure = 0; failure < 50; failure += 1) outage.failed(pgError('57P01'));
    expect(outage.ongoing).toBe(true);
    now += 4_500;
    outage.recovered();
    outage.recovered();
    expect(counted).toBe(50);
    expect(lines.map((line) => line.msg)).toEqual([
      'database unavailable: requests are answered 503 SERVICE_UNAVAILABLE until it is back',
      'database available again',
    ]);
    expect(lines[1]).toMatchObject({ outageMs: 4_500, failedRequests: 50 });
    outage.failed(pgError('08006'));
    expect(lines).toHaveLength(3);
  });
});
