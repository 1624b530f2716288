import { signAccessToken } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub } from '../helpers/test-hub';
import { WebhookReceiver, waitFor } from './support/webhook-receiver';

/**
 * An endpoint receives the events committed after it was created (docs/webhooks.md, "Endpoints"),
 * even when the dispatcher reaches the older ones only after the endpoint exists: here the hub runs
 * without its dispatcher while one event is committed, the endpoint is created, a second event is
 * committed, and only then does a restarted hub dispatch both.
 */
let hub: TestHub | undefined;
let inbox: WebhookReceiver | undefined;

afterAll(async () => {
  await inbox?.down();
  await hub?.stop();
});

it('sends a new endpoint the events committed after it was created, not those committed before', async () => {
  hub = await TestHub.start({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_DISPATCH_INTERVAL_MS: '0' } });
  inbox = await WebhookReceiver.start();
  const acme = await hub.registerPartner('ACME');
  const issue = async (member: string) => {
    if (!(await acme.client.enrollMember({ member })).ok) throw new Error('enrolment failed');
    const issued = await acme.client.issuePoints({ member, amount: '10' });
    if (!issued.ok) throw new Error(JSON.stringify(issued));
    return issued.data.entryId;
  };
  const before = await issue('before');

  const token = await signAccessToken({ issuer: 'ACME', subject: 'ACME', scope: 'partner', audience: HUB_ID, key: acme.key });
  const created = await hub.graphql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
       __typename ... on WebhookEndpointWithSecret { endpoint { id } } } }`,
    { input: { url: inbox.url, eventTypes: ['points.issued'] } },
    token,
  );
  expect(created.data?.createWebhookEndpoint.__typename).toBe('WebhookEndpointWithSecret');
  const endpointId = created.data!.createWebhookEndpoint.endpoint.id as string;
  const after = await issue('after');

  // Nothing has been dispatched yet: both events wait behind the cursor.
  expect(inbox.received).toHaveLength(0);
  await hub.restart({ WEBHOOK_DISPATCH_INTERVAL_MS: '100' });
  await waitFor('the delivery of the later event', () => inbox!.events().some((event) => event.data.entryId === after));
  const deliveries = await hub.ownerQuery<{ entry_id: string }>(
    `SELECT e.data->>'entryId' AS entry_id FROM webhook_delivery d JOIN event e ON e.id = d.event_id WHERE d.endpoint_id = $1`,
    [endpointId],
  );
  expect(deliveries).toEqual([{ entry_id: after }]);
  // The dispatcher has passed the earlier event (its cursor is beyond both), and never sent it.
  const [cursor] = await hub.ownerQuery<{ passed: boolean }>(
    `SELECT (c.tx_id, c.seq) >= (e.tx_id, e.seq) AS passed FROM webhook_dispatch_cursor c, event e
     WHERE e.type = 'points.issued' AND e.data->>'entryId' = $1`,
    [before],
  );
  expect(cursor).toEqual({ passed: true });
  expect(inbox.events().some((event) => event.data.entryId === before)).toBe(false);
});
