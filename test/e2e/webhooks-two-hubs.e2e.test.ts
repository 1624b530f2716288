import pino from 'pino';
import { PartnerClient, signAccessToken } from '@coalition-hub/partner-sdk';
import { startHub, type Hub } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

/**
 * Two hub processes on one database, both running the webhook dispatcher and delivery jobs: every
 * event is turned into exactly one delivery per endpoint and delivered; a repeated POST (at least
 * once) carries the same webhook-id and body.
 */
const ENV = { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_DISPATCH_INTERVAL_MS: '50', WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,0.2,0.2' };

let hub: TestHub;
let second: Hub;
let acme: TestPartner;
let inbox: WebhookReceiver;

beforeAll(async () => {
  hub = await TestHub.start({ env: ENV });
  second = await startHub(
    loadConfig({ PORT: '0', HUB_ID, LOG_LEVEL: 'silent', EXPIRY_INTERVAL_SECONDS: '0', SETTLEMENT_INTERVAL_SECONDS: '0', ...ENV }),
    hub.databaseUrl,
    {
      logger: pino({ level: 'silent' }),
    },
  );
  acme = await hub.registerPartner('ACME');
  inbox = await WebhookReceiver.start();
});

afterAll(async () => {
  await inbox.down();
  await second.close();
  await hub.stop();
});

it('delivers every event, each made into one delivery, when two hub processes dispatch and deliver from one database', async () => {
  const token = await signAccessToken({
    issuer: 'ACME',
    subject: 'ACME',
    scope: 'partner',
    audience: HUB_ID,
    key: acme.key,
    now: hub.clock.now(),
  });
  const created = await hub.graphql(
    `mutation { createWebhookEndpoint(input: { url: "${inbox.url}", eventTypes: ["member.enrolled", "points.issued"] }) { __typename } }`,
    {},
    token,
  );
  expect(created.data?.createWebhookEndpoint).toEqual({ __typename: 'WebhookEndpointWithSecret' });
  // Instructions through both processes at once; the events' order of commit is theirs to decide.
  const viaSecond = new PartnerClient({ baseUrl: second.url, hubId: HUB_ID, partnerId: 'ACME', key: acme.key });
  const members = Array.from({ length: 15 }, (_, i) => `m${i}`);
  await Promise.all(
    members.map(async (member, i) => {
      const client = i % 2 === 0 ? acme.client : viaSecond;
      const enrolled = await client.enrollMember({ member });
      if (!enrolled.ok) throw new Error(JSON.stringify(enrolled));
      const issued = await client.issuePoints({ member, amount: '5' });
      if (!issued.ok) throw new Error(JSON.stringify(issued));
    }),
  );
  const events = await hub.ownerQuery<{ id: string }>(
    `SELECT id FROM event WHERE partner_id = 'ACME' AND type IN ('member.enrolled', 'points.issued')`,
  );
  expect(events).toHaveLength(30);
  const expected = new Set(events.map((event) => event.id));

  await waitFor(
    'every event received',
    () =>
      expected.size === new Set(inbox.events().map((event) => event.id)).size &&
      [...expected].every((id) => inbox.events().some((event) => event.id === id)),
  );
  // A delivery is marked once its answer is in, a moment after the receiver has the request.
  const counts = () =>
    hub.ownerQuery<{ deliveries: number; delivered: number }>(
      `SELECT count(*)::int AS deliveries, count(*) FILTER (WHERE status = 'delivered')::int AS delivered FROM webhook_delivery`,
    );
  await waitFor('every delivery marked delivered', async () => (await counts())[0]!.delivered === 30);
  expect(await counts()).toEqual([{ deliveries: 30, delivered: 30 }]);
  for (const request of inbox.received) {
    const body = JSON.parse(request.body);
    expect(request.headers['webhook-id']).toBe(body.id);
  }
  // A duplicate (at least once) is the same event: same webhook-id, same body.
  const bodies = new Map<string, string>();
  for (const request of inbox.received) {
    const id = String(request.headers['webhook-id']);
    if (bodies.has(id)) expect(request.body).toBe(bodies.get(id));
    bodies.set(id, request.body);
  }
});
