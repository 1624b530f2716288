import { processTime } from '../common/clock';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EVENT_TYPES,
  hubJwks,
  verifyWebhook,
  WebhookVerificationError,
  type EventEnvelope,
  type PartnerClient,
} from '@coalition-hub/partner-sdk';

/** What the demo's receiver got: the verified event, or why it was refused. */
export interface DemoDelivery {
  event?: EventEnvelope;
  refused?: string;
  signatures: string;
}

/**
 * The demo partner's webhook receiver: a small HTTP server on 127.0.0.1 that checks every
 * delivery with the SDK's verifyWebhook (the hub's Ed25519 key from its JWKS and the endpoint's
 * HMAC secret), answers 200 when it verifies and 400 when not, and keeps what it got. It does not
 * keep the process alive.
 */
export class DemoWebhookReceiver {
  readonly deliveries: DemoDelivery[] = [];
  secret: string | undefined;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(hubUrl: string): Promise<DemoWebhookReceiver> {
    const jwks = hubJwks(hubUrl);
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    server.unref();
    const receiver = new DemoWebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme/hub-events`);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const signatures = String(request.headers['webhook-signature'] ?? '')
          .split(' ')
          .map((entry) => entry.split(',')[0])
          .join('+');
        verifyWebhook(request.headers, body, { jwks, ...(receiver.secret ? { secret: receiver.secret } : {}) }).then(
          (event) => {
            // A redelivery (same webhook-id) is acknowledged and not kept twice.
            if (!receiver.deliveries.some((kept) => kept.event?.id === event.id)) receiver.deliveries.push({ event, signatures });
            response.writeHead(200).end();
          },
          (error: unknown) => {
            receiver.deliveries.push({ refused: error instanceof WebhookVerificationError ? error.reason : String(error), signatures });
            response.writeHead(error instanceof WebhookVerificationError ? 400 : 503).end();
          },
        );
      });
    });
    return receiver;
  }

  /** Registers the receiver as `partner`'s endpoint for every event type, with an HMAC secret too. */
  async register(hubUrl: string, partner: PartnerClient): Promise<string> {
    const response = await fetch(`${hubUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await partner.accessToken()}` },
      body: JSON.stringify({
        query: `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
          __typename ... on WebhookEndpointWithSecret { secret endpoint { id } } ... on ErrorResult { message } } }`,
        variables: { input: { url: this.url, eventTypes: [...EVENT_TYPES], withHmacSecret: true } },
      }),
    });
    const { data } = (await response.json()) as {
      data?: { createWebhookEndpoint?: { __typename: string; secret?: string; endpoint?: { id: string } } };
    };
    const created = data?.createWebhookEndpoint;
    if (created?.__typename !== 'WebhookEndpointWithSecret' || !created.secret)
      throw new Error(`demo: webhook endpoint: ${JSON.stringify(data)}`);
    this.secret = created.secret;
    return created.endpoint!.id;
  }

  /** Waits until `count` deliveries arrived or `timeoutMs` passed. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = processTime.ms() + timeoutMs;
    while (this.deliveries.length < count && processTime.ms() < deadline) await new Promise((done) => setTimeout(done, 200));
  }
}
