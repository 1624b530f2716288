import { Webhook } from 'standardwebhooks';
import { hubJwks, signAccessToken, verifyWebhook } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

/**
 * Webhooks end to end: partners register endpoints through GraphQL, the hub turns their committed
 * events into signed deliveries on its job queue and POSTs them to a real HTTP receiver, retrying
 * with backoff, dead-lettering, disabling on 410, and logging every attempt.
 */
const RETRY_STEPS = 4;
const FAST = {
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_RETRY_SCHEDULE_SECONDS: Array.from({ length: RETRY_STEPS }, () => '0.2').join(','),
  WEBHOOK_DISPATCH_INTERVAL_MS: '100',
  WEBHOOK_TIMEOUT_SECONDS: '2',
};

let hub: TestHub;
let acme: TestPartner;
let bolt: TestPartner;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  hub = await TestHub.start({ env: FAST });
  acme = await hub.registerPartner('ACME');
  bolt = await hub.registerPartner('BOLT', 'ES256');
});

afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.down()));
  await hub.stop();
});

async function receiver(): Promise<WebhookReceiver> {
  const started = await WebhookReceiver.start();
  receivers.push(started);
  return started;
}

const partnerToken = (partner: TestPartner) =>
  signAccessToken({ issuer: partner.id, subject: partner.id, scope: 'partner', audience: HUB_ID, key: partner.key, now: hub.clock.now() });

async function asPartner(partner: TestPartner, query: string, variables: Record<string, unknown> = {}) {
  const response = await hub.graphql(query, variables, await partnerToken(partner));
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!;
}

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  __typename
  ... on WebhookEndpointWithSecret { secret endpoint { id partnerId url eventTypes active hasSecret } }
  ... on ErrorResult { errorCode message }
  ... on InvalidWebhookUrl { reason }
  ... on UnknownEventType { eventType }
} }`;

async function createEndpoint(partner: TestPartner, url: string, eventTypes: string[], withHmacSecret = false) {
  const { createWebhookEndpoint: created } = await asPartner(partner, CREATE, { input: { url, eventTypes, withHmacSecret } });
  if (created.__typename !== 'WebhookEndpointWithSecret') throw new Error(JSON.stringify(created));
  return { id: created.endpoint.id as string, secret: created.secret as string | null };
}

const DELIVERIES = `query($id: ID!, $status: WebhookDeliveryStatus) { webhookEndpoint(id: $id) {
  active disabledReason
  deliveries(first: 10, status: $status) { edges { node {
    id eventId eventType status attemptCount lastStatusCode lastLatencyMs lastError deliveredAt nextAttemptAt
    attempts(first: 10) { edges { node { attemptedAt statusCode latencyMs error } } }
  } } }
} }`;

async function deliveriesOf(partner: TestPartner, endpointId: string, status?: string) {
  const { webhookEndpoint } = await asPartner(partner, DELIVERIES, { id: endpointId, status });
  const deliveries = webhookEndpoint.deliveries.edges.map((edge: any) => ({
    ...edge.node,
    attempts: edge.node.attempts.edges.map((attempt: any) => attempt.node),
  }));
  return { ...webhookEndpoint, deliveries: deliveries as any[] };
}

let memberCount = 0;
async function issue(partner: TestPartner, amount = '10'): Promise<string> {
  const member = `member-${(memberCount += 1)}`;
  const enrolled = await partner.client.enrollMember({ member });
  if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
  const issued = await partner.client.issuePoints({ member, amount });
  if (!issued.ok) throw new Error(JSON.stringify(issued));
  return issued.data.entryId;
}

const issuedEntry = (entryId: string) => (event: { type: string; data: Record<string, unknown> }) =>
  event.type === 'points.issued' && event.data.entryId === entryId;

describe('delivery and signatures', () => {
  it('POSTs a committed event to the endpoint, signed so that the SDK (v1a and v1) and the standardwebhooks library (v1) verify it', async () => {
    const inbox = await receiver();
    const { id, secret } = await createEndpoint(acme, inbox.url, ['points.issued'], true);
    expect(secret).toMatch(/^whsec_/);
    const entryId = await issue(acme, '150');

    const got = await waitFor('the delivery', () => inbox.received.find((request) => issuedEntry(entryId)(JSON.parse(request.body))));
    const viaJwks = await verifyWebhook(got.headers, got.body, { jwks: hubJwks(hub.url) });
    expect(viaJwks).toMatchObject({ type: 'points.issued', partnerId: 'ACME', data: { amount: '150', entryId } });
    expect(got.headers['webhook-id']).toBe(viaJwks.id);
    await expect(verifyWebhook(got.headers, got.body, { secret: secret! })).resolves.toMatchObject({ id: viaJwks.id });
    const reference = new Webhook(secret!);
    expect(reference.verify(got.body, got.headers as Record<string, string>)).toMatchObject({ id: viaJwks.id, type: 'points.issued' });
    // The endpoint listed only points.issued: the member.enrolled event of the same member was not sent.
    expect(inbox.events().map((event) => event.type)).toEqual(['points.issued']);

    await waitFor('delivered status', async () => (await deliveriesOf(acme, id)).deliveries[0]?.status === 'delivered');
    const { deliveries } = await deliveriesOf(acme, id);
    expect(deliveries).toEqual([
      expect.objectContaining({
        eventId: viaJwks.id,
        eventType: 'points.issued',
        status: 'delivered',
        attemptCount: 1,
        lastStatusCode: 200,
      }),
    ]);
    expect(deliveries[0].attempts).toEqual([
      { attemptedAt: expect.any(String), statusCode: 200, latencyMs: expect.any(Number), error: null },
    ]);

    // Deleted: no longer listed, nothing more sent to it.
    const deleted = await asPartner(acme, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }`, { id });
    expect(deleted.deleteWebhookEndpoint).toEqual({ __typename: 'WebhookEndpointDeleted' });
    expect((await asPartner(acme, `query($id: ID!) { webhookEndpoint(id: $id) { id } }`, { id })).webhookEndpoint).toBeNull();
    const before = inbox.received.length;
    await issue(acme);
    await new Promise((done) => setTimeout(done, 1000));
    expect(inbox.received).toHaveLength(before);
  });

  it('does not hold up the instruction: the issue is answered while the receiver is still waiting to answer', async () => {
    const inbox = await receiver();
    inbox.delayMs = 1500;
    const { id } = await createEndpoint(acme, inbox.url, ['points.issued']);
    const started = Date.now();
    const entryId = await issue(acme);
    expect(Date.now() - started).toBeLessThan(1500);
    await waitFor('the slow delivery', async () => (await deliveriesOf(acme, id)).deliveries[0]?.status === 'delivered');
    expect(inbox.events().filter(issuedEntry(entryId))).toHaveLength(1);
    await asPartner(acme, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }`, { id });
  });
});

describe('failures', () => {
  /** Restarts the hub with `env` on top of FAST (a new port: the partners' clients follow it). */
  async function restartWith(env: Record<string, string>): Promise<void> {
    await hub.restart({ ...FAST, ...env });
    acme = { ...acme, client: hub.clientFor(acme.id, acme.key) };
    bolt = { ...bolt, client: hub.clientFor(bolt.id, bolt.key) };
  }

  it('retries while the receiver is down and delivers once it is back: nothing is lost, and the log shows each failed attempt', async () => {
    // A second attempt soon, the third 5 s later: the failed state is seen before retries run out, however slow the machine.
    await restartWith({ WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,5,5,5' });
    try {
      await retriesWhileDown();
    } finally {
      await restartWith({});
    }
  });

  async function retriesWhileDown(): Promise<void> {
    const inbox = await receiver();
    const { id } = await createEndpoint(acme, inbox.url, ['points.issued']);
    await inbox.down();
    const entries = [await issue(acme), await issue(acme)];
    const failing = await waitFor('failed attempts', async () => {
      const { deliveries } = await deliveriesOf(acme, id);
      return deliveries.length === 2 && deliveries.every((d: any) => d.attemptCount >= 2) ? deliveries : undefined;
    });
    expect(failing).toHaveLength(2);
    for (const delivery of failing) {
      expect(delivery.status).toBe('failed');
      expect(delivery.lastStatusCode).toBeNull();
      expect(delivery.lastError).toMatch(/ECONNREFUSED/);
      expect(delivery.attempts.every((attempt: any) => attempt.statusCode === null && /ECONNREFUSED/.test(attempt.error))).toBe(true);
    }
    await inbox.up();
    await waitFor('both delivered', async () => (await deliveriesOf(acme, id, 'delivered')).deliveries.length === 2);
    for (const entryId of entries) expect(inbox.events().filter(issuedEntry(entryId))).toHaveLength(1);
    const delivered = (await deliveriesOf(acme, id)).deliveries;
    for (const delivery of delivered) {
      expect(delivery.attempts[0]).toMatchObject({ statusCode: 200, error: null });
      expect(delivery.attempts.slice(1).every((attempt: any) => attempt.statusCode === null)).toBe(true);
    }
  }

  it('dead-letters a delivery whose retries are used up, and a manual redelivery sends it again with the same webhook-id', async () => {
    const inbox = await receiver();
    inbox.answer = 500;
    const { id } = await createEndpoint(acme, inbox.url, ['points.issued']);
    const entryId = await issue(acme);
    const dead = await waitFor('a dead delivery', async () => (await deliveriesOf(acme, id, 'dead')).deliveries[0]);
    expect(dead).toMatchObject({ attemptCount: RETRY_STEPS + 1, lastStatusCode: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect(dead.attempts.map((attempt: any) => attempt.statusCode)).toEqual(Array.from({ length: RETRY_STEPS + 1 }, () => 500));
    // The attempt log is paginated, newest first: two pages of two and one of one, the same attempts.
    const ATTEMPTS = `query($id: ID!, $after: String) { webhookEndpoint(id: $id) { deliveries(first: 1) { edges { node {
      attempts(first: 2, after: $after) { edges { node { attemptedAt statusCode } } pageInfo { hasNextPage endCursor } } } } } } }`;
    const pages: any[] = [];
    for (let after: string | null = null; pages.length === 0 || pages[pages.length - 1].pageInfo.hasNextPage;) {
      const { webhookEndpoint } = await asPartner(acme, ATTEMPTS, { id, after });
      const page = webhookEndpoint.deliveries.edges[0].node.attempts;
      pages.push(page);
      after = page.pageInfo.endCursor;
    }
    expect(pages.map((page) => page.edges.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((page) => page.edges.map((edge: any) => edge.node))).toEqual(
      dead.attempts.map((attempt: any) => ({ attemptedAt: attempt.attemptedAt, statusCode: attempt.statusCode })),
    );
    const firstIds = new Set(inbox.received.map((request) => request.headers['webhook-id']));
    expect(firstIds).toEqual(new Set([dead.eventId]));

    inbox.answer = 204;
    const { redeliverWebhook } = await asPartner(
      acme,
      `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { __typename ... on WebhookDelivery { status } } }`,
      {
        id: dead.id,
      },
    );
    expect(redeliverWebhook).toEqual({ __typename: 'WebhookDelivery', status: 'pending' });
    await waitFor('redelivered', async () => (await deliveriesOf(acme, id)).deliveries[0].status === 'delivered');
    const last = inbox.received[inbox.received.length - 1]!;
    expect(last.headers['webhook-id']).toBe(dead.eventId);
    expect(inbox.events().filter(issuedEntry(entryId))).toHaveLength(RETRY_STEPS + 2);
  });

  it('switches the endpoint off when the receiver answers 410 Gone, and sends it nothing more', async () => {
    const inbox = await receiver();
    inbox.answer = 410;
    const { id } = await createEndpoint(acme, inbox.url, ['points.issued']);
    await issue(acme);
    const gone = await waitFor('the endpoint disabled', async () => {
      const endpoint = await deliveriesOf(acme, id);
      return endpoint.active === false ? endpoint : undefined;
    });
    expect(gone.disabledReason).toMatch(/410/);
    expect(gone.deliveries).toEqual([expect.objectContaining({ status: 'dead', attemptCount: 1, lastStatusCode: 410 })]);
    const before = inbox.received.length;
    await issue(acme);
    await new Promise((done) => setTimeout(done, 1500));
    expect(inbox.received).toHaveLength(before);
    expect((await deliveriesOf(acme, id)).deliveries).toHaveLength(1);
  });
});

describe('endpoints', () => {
  it("are a partner's own: another partner neither sees nor changes them, and never receives that partner's events", async () => {
    const acmeInbox = await receiver();
    const boltInbox = await receiver();
    const acmeEndpoint = await createEndpoint(acme, acmeInbox.url, ['points.issued', 'member.enrolled']);
    const boltEndpoint = await createEndpoint(bolt, boltInbox.url, ['points.issued', 'member.enrolled']);

    const listed = await asPartner(bolt, `{ webhookEndpoints(first: 50) { edges { node { id partnerId } } } }`);
    expect(listed.webhookEndpoints.edges.map((edge: any) => edge.node)).toEqual([{ id: boltEndpoint.id, partnerId: 'BOLT' }]);
    expect(
      (await asPartner(bolt, `query($id: ID!) { webhookEndpoint(id: $id) { id } }`, { id: acmeEndpoint.id })).webhookEndpoint,
    ).toBeNull();
    for (const mutation of [
      `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, active: false }) { __typename } }`,
      `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }`,
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { __typename } }`,
    ]) {
      const result = await asPartner(bolt, mutation, { id: acmeEndpoint.id });
      expect(Object.values(result)[0]).toEqual({ __typename: 'NotFound' });
    }
    const acmeDelivery = (await deliveriesOf(acme, acmeEndpoint.id)).deliveries;
    const entryId = await issue(acme);
    await waitFor('ACME delivery', () => acmeInbox.events().some(issuedEntry(entryId)));
    const [delivery] = (await deliveriesOf(acme, acmeEndpoint.id)).deliveries;
    expect(acmeDelivery).toHaveLength(0);
    const stolen = await asPartner(bolt, `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { __typename } }`, { id: delivery.id });
    expect(stolen.redeliverWebhook).toEqual({ __typename: 'NotFound' });

    const boltEntry = await issue(bolt);
    await waitFor('BOLT delivery', () => boltInbox.events().some(issuedEntry(boltEntry)));
    expect(boltInbox.events().every((event) => event.partnerId === 'BOLT')).toBe(true);
    expect(acmeInbox.events().every((event) => event.partnerId === 'ACME')).toBe(true);

    // Operators see every partner's endpoints.
    const all = await hub.asStaff(`{ webhookEndpoints(first: 50) { edges { node { partnerId } } } }`, {}, 'operator');
    expect(new Set(all.webhookEndpoints.edges.map((edge: any) => edge.node.partnerId))).toEqual(new Set(['ACME', 'BOLT']));
  });

  it('refuse URLs that are not http(s) or carry credentials, and unknown or missing event types, with typed errors', async () => {
    const refused = async (url: string, eventTypes: string[]) =>
      (await asPartner(acme, CREATE, { input: { url, eventTypes, withHmacSecret: false } })).createWebhookEndpoint;
    expect(await refused('ftp://example.com/hooks', ['points.issued'])).toMatchObject({
      __typename: 'InvalidWebhookUrl',
      reason: 'scheme',
    });
    expect(await refused('https://user:pw@example.com/hooks', ['points.issued'])).toMatchObject({
      __typename: 'InvalidWebhookUrl',
      reason: 'credentials',
    });
    expect(await refused('not a url', ['points.issued'])).toMatchObject({ __typename: 'InvalidWebhookUrl', reason: 'malformed' });
    expect(await refused('https://example.com/hooks', ['points.minted'])).toMatchObject({
      __typename: 'UnknownEventType',
      errorCode: 'UNKNOWN_EVENT_TYPE',
      eventType: 'points.minted',
    });
    expect(await refused('https://example.com/hooks', [])).toMatchObject({ __typename: 'InvalidInput' });
  });

  it('change URL, types and state, and rotate the HMAC secret: deliveries then verify with the new secret only', async () => {
    const inbox = await receiver();
    const { id, secret } = await createEndpoint(acme, 'https://example.com/hooks', ['member.enrolled'], true);
    const updated = await asPartner(
      acme,
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { __typename ... on WebhookEndpoint { url eventTypes active } } }`,
      { input: { id, url: inbox.url, eventTypes: ['points.issued'] } },
    );
    expect(updated.updateWebhookEndpoint).toEqual({
      __typename: 'WebhookEndpoint',
      url: inbox.url,
      eventTypes: ['points.issued'],
      active: true,
    });
    const rotated = await asPartner(
      acme,
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { ... on WebhookEndpointWithSecret { secret } } }`,
      { id },
    );
    const newSecret = rotated.rotateWebhookSecret.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(secret);
    const entryId = await issue(acme);
    const got = await waitFor('the delivery', () => inbox.received.find((request) => issuedEntry(entryId)(JSON.parse(request.body))));
    await expect(verifyWebhook(got.headers, got.body, { secret: newSecret })).resolves.toMatchObject({ type: 'points.issued' });
    await expect(verifyWebhook(got.headers, got.body, { secret: secret! })).rejects.toThrow();
  });
});

describe('metrics', () => {
  it('count attempts by outcome and time them', async () => {
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    expect(text).toMatch(/coalition_webhook_attempts_total\{outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/coalition_webhook_attempts_total\{outcome="dead"\} [1-9]/);
    expect(text).toMatch(/coalition_webhook_attempts_total\{outcome="disabled"\} [1-9]/);
    expect(text).toMatch(/coalition_webhook_attempt_duration_seconds_count [1-9]/);
    expect(text).toMatch(/coalition_webhook_queue_lag_seconds_count [1-9]/);
  });
});
