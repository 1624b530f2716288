import { createLocalJWKSet } from 'jose';
import type { DataSource } from 'typeorm';
import { verifyWebhook, WebhookVerificationError, type JwksGetter } from '@coalition-hub/partner-sdk';
import { systemClock } from '../../src/common/clock';
import { createDataSource } from '../../src/db/data-source';
import { newWebhookSecret, signWebhook } from '../../src/events/webhook-signature';
import { HubKeys } from '../../src/hub-keys/hub-keys';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';

/**
 * Webhooks are signed by the hub's own key (HubKeys.signDetached, the private key never leaves
 * it) and verify with the partner SDK against the JWKS the hub publishes, across a rotation.
 */
let database: { name: string; url: string };
let dataSource: DataSource;
let keys: HubKeys;

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = createDataSource(database.url, 2);
  await dataSource.initialize();
  keys = await HubKeys.load(dataSource, 'coalition-hub-test', systemClock, undefined, { refreshSeconds: 3600 });
});

afterAll(async () => {
  keys?.close();
  await dataSource?.destroy();
  await dropTestDatabase(database.name);
});

const published = async (): Promise<JwksGetter> => createLocalJWKSet(await keys.jwks()) as unknown as JwksGetter;

async function delivery(id: string, secret?: string) {
  const body = JSON.stringify({
    id,
    type: 'member.enrolled',
    version: 1,
    occurredAt: new Date().toISOString(),
    partnerId: 'ACME',
    memberId: '2b1c0d6e-9f8a-4b7c-8d6e-5f4a3b2c1d0e',
    data: {},
  });
  const headers = await signWebhook({
    id,
    timestampSeconds: Math.floor(Date.now() / 1000),
    body,
    signer: keys,
    ...(secret ? { secret } : {}),
  });
  return { headers, body };
}

it('signs with the active hub key: the SDK verifies the v1a signature against the published JWKS, by the kid in webhook-key-id', async () => {
  const [active] = (await keys.list()).filter((key) => key.active);
  const { headers, body } = await delivery('evt_first');
  expect(headers['webhook-key-id']).toBe(active!.kid);
  await expect(verifyWebhook(headers, body, { jwks: await published() })).resolves.toMatchObject({
    id: 'evt_first',
    type: 'member.enrolled',
  });
});

it('after a rotation signs with the new key, and a delivery signed before it still verifies', async () => {
  const before = await delivery('evt_before');
  const rotated = await keys.rotate('EdDSA', 0);
  const after = await delivery('evt_after');
  expect(after.headers['webhook-key-id']).toBe(rotated.kid);
  expect(before.headers['webhook-key-id']).not.toBe(rotated.kid);
  const jwks = await published();
  await expect(verifyWebhook(before.headers, before.body, { jwks })).resolves.toMatchObject({ id: 'evt_before' });
  await expect(verifyWebhook(after.headers, after.body, { jwks })).resolves.toMatchObject({ id: 'evt_after' });
});

it('a delivery signed by the hub key of another database does not verify against this hub', async () => {
  const other = await createTestDatabase();
  const otherSource = createDataSource(other.url, 2);
  await otherSource.initialize();
  const otherKeys = await HubKeys.load(otherSource, 'coalition-hub-other', systemClock, undefined, { refreshSeconds: 3600 });
  try {
    const body = '{}';
    const headers = await signWebhook({ id: 'evt_x', timestampSeconds: Math.floor(Date.now() / 1000), body, signer: otherKeys });
    await expect(verifyWebhook(headers, body, { jwks: await published() })).rejects.toMatchObject({
      constructor: WebhookVerificationError,
      reason: 'unknown-key',
    });
  } finally {
    otherKeys.close();
    await otherSource.destroy();
    await dropTestDatabase(other.name);
  }
});

it('refuses to sign a webhook while the active hub key is ES256 (v1a is Ed25519 only)', async () => {
  await keys.rotate('ES256', 0);
  await expect(delivery('evt_es256', newWebhookSecret())).rejects.toThrow(/not Ed25519/);
  await keys.rotate('EdDSA', 0);
  await expect(delivery('evt_back')).resolves.toBeDefined();
});
