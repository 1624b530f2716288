import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { TestHub } from '../helpers/test-hub';
import { expectNothingWritten } from './support/ledger-snapshot';

/**
 * A body over the 64 KiB limit gets a 413 its sender can read: the hub reads the rest of the body
 * (discarding it) before answering, up to a hard cap of 16 MiB, instead of closing the
 * connection mid-upload (which clients see as EPIPE or ECONNRESET, never as the 413).
 */
let hub: TestHub;

beforeAll(async () => {
  hub = await TestHub.start();
});

afterAll(() => hub.stop());

const TEN_MB = 10 * 1024 * 1024;

/** A JSON document of `bytes` bytes, as a client with a big variable would send it. */
function bigBody(bytes: number): Buffer {
  const head = '{"query":"{ __typename }","variables":{"padding":"';
  const tail = '"}}';
  return Buffer.concat([Buffer.from(head), Buffer.alloc(bytes - head.length - tail.length, 'x'), Buffer.from(tail)]);
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => done(text));
    response.on('error', fail);
  });
}

/** Streams `body` in 64 KiB writes, as node:http does for a large upload; resolves with the answer. */
function upload(body: Buffer, agent?: Agent): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  const url = new URL(`${hub.url}/graphql`);
  return new Promise((done, fail) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => readAll(response).then((text) => done({ status: response.statusCode ?? 0, headers: response.headers, text }), fail),
    );
    request.on('error', fail);
    const write = (offset: number): void => {
      if (offset >= body.length) return void request.end();
      const more = request.write(body.subarray(offset, offset + 64 * 1024));
      if (more) setImmediate(() => write(offset + 64 * 1024));
      else request.once('drain', () => write(offset + 64 * 1024));
    };
    write(0);
  });
}

describe('a 10 MB body', () => {
  it('is answered 413 with a JSON error that a streaming node:http client receives', async () => {
    const answer = await expectNothingWritten(hub, () => upload(bigBody(TEN_MB)));
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.text)).toEqual({
      errors: [{ message: 'the body exceeds 65536 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: 65536 } }],
    });
  });

  it('is answered 413 to fetch too', async () => {
    const response = await fetch(`${hub.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bigBody(TEN_MB),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('leaves the connection usable: the next request on it is answered', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await upload(bigBody(TEN_MB), agent)).status).toBe(413);
      const next = await upload(Buffer.from('{"query":"{ __typename }"}'), agent);
      expect({ status: next.status, body: JSON.parse(next.text) }).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    } finally {
      agent.destroy();
    }
  });
});

describe('a body over the 16 MiB hard cap', () => {
  it('declared by its Content-Length is answered 413 at once, and the connection closed', async () => {
    const url = new URL(`${hub.url}/graphql`);
    const answer = await new Promise<{ status: number; connection: string | undefined; text: string }>((done, fail) => {
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': 20 * 1024 * 1024 },
        },
        (response) =>
          readAll(response).then((text) => done({ status: response.statusCode ?? 0, connection: response.headers.connection, text }), fail),
      );
      request.on('error', () => undefined);
      request.flushHeaders();
    });
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('sent without a length is cut off after the cap, and the hub still answers', async () => {
    const url = new URL(`${hub.url}/graphql`);
    const outcome = await new Promise<string>((done) => {
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (response) => {
          response.resume();
          done(`status ${response.statusCode}`);
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => done(`error ${error.code}`));
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const write = (): void => {
        if (sent >= 40) return void request.end();
        sent += 1;
        if (request.write(chunk)) setImmediate(write);
        else request.once('drain', write);
      };
      write();
    });
    // Whichever the client noticed first, the 413 or the cut, it did not hang and the hub lives on.
    expect(outcome).toMatch(/^(status 413|error E[A-Z]+)$/);
    expect((await fetch(`${hub.url}/graphql?query=%7B__typename%7D`)).status).toBe(200);
  });
});
