import type { Server, ServerResponse } from 'node:http';
import { settlesWithin } from '../common/deadline';

/**
 * Lets a server finish what it is doing before it stops: once draining, it accepts no new
 * connection, answers the requests in flight with `connection: close`, closes each keep-alive
 * connection as soon as it is idle, and after the grace period cuts whatever is left.
 */
export class HttpDrain {
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;

  constructor(private readonly server: Server) {
    // Before the application's own listener, so the header is set before anything is written.
    server.prependListener('request', (_request, response) => {
      this.inFlight.add(response);
      if (this.draining) response.setHeader('connection', 'close');
      response.once('close', () => {
        this.inFlight.delete(response);
        if (this.draining) this.server.closeIdleConnections();
      });
    });
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  /** Resolves when every connection is closed; `cut` counts the requests still running at the deadline. */
  async drain(graceMs: number): Promise<{ cut: number }> {
    this.draining = true;
    // Requests already running: their connection closes once they are answered.
    for (const response of this.inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
    const closed = new Promise<void>((done) => this.server.close(() => done()));
    this.server.closeIdleConnections();
    if (await settlesWithin(closed, graceMs)) return { cut: 0 };
    const cut = this.inFlight.size;
    this.server.closeAllConnections();
    await closed;
    return { cut };
  }
}
