import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { TestHub } from '../helpers/test-hub';

/**
 * Idle keep-alive connections stay open for HTTP_KEEP_ALIVE_SECONDS (docs/operations.md,
 * "Keep-alive connections"), not Node's 5 s: a client that sends on a connection the server is
 * closing gets a reset, which it cannot safely retry for a mutation.
 */
function probe(url: string, agent: Agent): Promise<{ keepAlive: string | undefined; socket: Socket }> {
  return new Promise((done, fail) => {
    const call = request(`${url}/livez`, { agent }, (response) => {
      response.resume();
      response.on('end', () => done({ keepAlive: response.headers['keep-alive'] as string | undefined, socket: call.socket as Socket }));
      response.on('error', fail);
    });
    call.on('error', fail);
    call.end();
  });
}

const closedWithin = (socket: Socket, ms: number): Promise<boolean> =>
  new Promise((done) => {
    if (socket.destroyed) return done(true);
    const timer = setTimeout(() => done(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      done(true);
    });
  });

test('keeps an idle connection open well past Node’s 5 s by default, and says how long', async () => {
  const hub = await TestHub.start();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { keepAlive, socket } = await probe(hub.url, agent);
    expect(keepAlive).toBe('timeout=65');
    expect(await closedWithin(socket, 6_000)).toBe(false);
    // The same connection serves the next request.
    expect((await probe(hub.url, agent)).socket).toBe(socket);
  } finally {
    agent.destroy();
    await hub.stop();
  }
});

test('closes an idle connection after HTTP_KEEP_ALIVE_SECONDS', async () => {
  const hub = await TestHub.start({ env: { HTTP_KEEP_ALIVE_SECONDS: '1' } });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { keepAlive, socket } = await probe(hub.url, agent);
    expect(keepAlive).toBe('timeout=1');
    expect(await closedWithin(socket, 3_000)).toBe(true);
  } finally {
    agent.destroy();
    await hub.stop();
  }
});
