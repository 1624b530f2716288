import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond';

/**
 * Request bodies with a limit that clients can see. When a body is over the limit, the rest of
 * it is still read (and thrown away) before the 413 is sent: a server that answers and closes
 * while the client is still uploading makes the client fail writing (EPIPE, ECONNRESET) before
 * it ever reads the 413. Draining stops at a hard cap, beyond which the connection is cut.
 */
export class BodyTooLarge extends Error {
  constructor(
    readonly limitBytes: number,
    /** The whole body was read: the connection can carry the answer and stay open. */
    readonly drained: boolean,
  ) {
    super(`the body exceeds ${limitBytes} bytes`);
  }
}

export interface BodyLimits {
  /** Largest body the hub accepts. */
  bytesMax: number;
  /** Largest body read to the end (and discarded) so that its sender sees the 413. */
  drainBytesMax: number;
}

export function readBody(request: IncomingMessage, limits: BodyLimits): Promise<string> {
  return new Promise((done, fail) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.drainBytesMax) {
      fail(new BodyTooLarge(limits.bytesMax, false));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.drainBytesMax) {
        request.off('data', onData);
        request.pause();
        fail(new BodyTooLarge(limits.bytesMax, false));
      } else if (size <= limits.bytesMax) {
        chunks.push(chunk);
      }
    };
    request.on('data', onData);
    request.on('end', () =>
      size > limits.bytesMax ? fail(new BodyTooLarge(limits.bytesMax, true)) : done(Buffer.concat(chunks).toString('utf8')),
    );
    request.on('error', fail);
  });
}

/** The 413: over a connection that stays usable when the body was drained, else cut once it is sent. */
export function sendBodyTooLarge(request: IncomingMessage, response: ServerResponse, error: BodyTooLarge): void {
  sendJson(
    response,
    413,
    { errors: [{ message: error.message, extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: error.limitBytes } }] },
    error.drained ? {} : { connection: 'close' },
  );
  if (!error.drained) response.once('finish', () => request.destroy());
}
