import { Client } from 'pg';
import type { Logger } from 'pino';
import type { Signer } from '../common/signer';

/** The channel on which a change to a partner's keys or status is announced, with the partner id as payload. */
export const SIGNER_CHANNEL = 'partner_signer_changed';

const SIGNERS_MAX = 10_000;
const RECONNECT_MS = 1000;

/**
 * Partners' keys and status as signers, kept in memory so that verifying a token or an
 * instruction costs no query (docs/architecture.md, "Partner keys"). A revocation, a suspension
 * or a new key must still count from the very next request, so:
 * - this process drops a partner the moment its own change commits (`invalidate`);
 * - every change also sends a NOTIFY in its transaction, which each hub process's listening
 *   connection receives on commit and drops the partner too;
 * - while that connection is not listening (not yet, or lost), nothing is served from memory:
 *   every look-up reads the database until it listens again.
 * A look-up that started before an invalidation is not stored after it (a generation count).
 */
export class SignerCache {
  private readonly signers = new Map<string, Signer>();
  private generation = 0;
  private listener: Client | null = null;
  private listening = false;
  private closed = false;
  private reconnect: NodeJS.Timeout | undefined;
  private readonly dropped: Array<(partnerId?: string) => void> = [];

  constructor(
    private readonly load: (partnerId: string) => Promise<Signer | null>,
    private readonly connectionString: string | null,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  /** Starts listening; resolves once it listens (a first failure is logged, and it keeps trying). */
  async start(): Promise<void> {
    if (this.connectionString !== null) await this.connect();
  }

  /** True while changes made by other processes reach this one, so the memory may be trusted. */
  get trusted(): boolean {
    return this.listening;
  }

  /** How many invalidations this memory has had (each drop, local or announced). */
  get changes(): number {
    return this.generation;
  }

  async get(partnerId: string): Promise<Signer | null> {
    if (this.listening) {
      const cached = this.signers.get(partnerId);
      if (cached) return cached;
    }
    const generation = this.generation;
    const signer = await this.load(partnerId);
    // Unknown partners are not kept: registering one then needs no announcement, and unknown ids cannot fill the memory.
    if (signer && this.listening && generation === this.generation) {
      if (this.signers.size >= SIGNERS_MAX) this.signers.clear();
      this.signers.set(partnerId, signer);
    }
    return signer;
  }

  /** Forgets a partner (or every partner): its next look-up reads the database. */
  invalidate(partnerId?: string): void {
    this.generation += 1;
    if (partnerId === undefined) this.signers.clear();
    else this.signers.delete(partnerId);
    for (const listener of this.dropped) listener(partnerId);
  }

  /**
   * Calls `listener` whenever a partner (or, without an id, every partner) is forgotten: other
   * memories of partner settings follow this one (e.g. the safelists, persisted-operations.service.ts).
   */
  onInvalidate(listener: (partnerId?: string) => void): void {
    this.dropped.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    this.distrust();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private distrust(): void {
    this.listening = false;
    this.invalidate();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.connectionString!, keepAlive: true, application_name: 'hub-signer-cache' });
    const lost = (error?: Error) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.distrust();
      if (!this.closed) {
        this.logger?.warn(
          { err: error },
          'partner key cache: the listening connection was lost; reading keys from the database until it is back',
        );
        this.scheduleReconnect();
      }
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === SIGNER_CHANNEL) this.invalidate(message.payload || undefined);
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNER_CHANNEL}`);
    } catch (error) {
      lost(error as Error);
      return;
    }
    if (this.listener !== client) return;
    // Whatever changed while nobody listened was never announced here: start from nothing.
    this.invalidate();
    this.listening = true;
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.reconnect.unref();
  }
}
