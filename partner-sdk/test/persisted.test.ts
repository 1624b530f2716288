import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BATCH_MUTATION,
  EVENTS_QUERY,
  generatePartnerKey,
  HubRequestError,
  INSTRUCTION_RECEIPT_QUERY,
  MUTATIONS,
  OPS,
  PartnerClient,
  persistedOperationManifest,
  type FetchLike,
} from '../src';
import { BASE_URL, HUB_ID, jsonResponse, PARTNER_ID } from './fake-hub';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('the persisted-operation manifest (operations.json)', () => {
  it('is committed exactly as the SDK builds it from its documents (regenerate: npm run operations -w partner-sdk)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(__dirname, '..', 'operations.json'), 'utf8'));
    expect(committed).toEqual(persistedOperationManifest());
  });

  it('holds every document the SDK sends, each under the SHA-256 of its exact text', () => {
    const manifest = persistedOperationManifest();
    const bodies = [...OPS.map((op) => MUTATIONS[op]), BATCH_MUTATION, INSTRUCTION_RECEIPT_QUERY, EVENTS_QUERY];
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    expect(manifest.version).toBe(1);
    expect(manifest.operations.map((operation) => operation.body)).toEqual(bodies);
    for (const operation of manifest.operations) {
      expect(operation.id).toBe(sha256(operation.body));
      expect(operation.body.startsWith(`${operation.type} ${operation.name}(`)).toBe(true);
    }
    expect(new Set(manifest.operations.map((operation) => operation.name)).size).toBe(bodies.length);
  });
});

describe('PartnerClient with persistedOperations', () => {
  function recordingFetch(answer: unknown) {
    const bodies: Array<Record<string, unknown>> = [];
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/graphql')) bodies.push(JSON.parse(String(init.body)) as Record<string, unknown>);
      return jsonResponse(answer);
    };
    return { fetch, bodies };
  }

  it('sends the id of the document (APQ wire format) and never its text', async () => {
    const { fetch, bodies } = recordingFetch({ data: { instructionReceipt: null } });
    const key = await generatePartnerKey();
    const client = new PartnerClient({ baseUrl: BASE_URL, hubId: HUB_ID, partnerId: PARTNER_ID, key, fetch, persistedOperations: true });
    expect(await client.fetchReceipt('order-1')).toBeNull();
    expect(bodies).toEqual([
      {
        variables: { jti: 'order-1' },
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(INSTRUCTION_RECEIPT_QUERY) } },
      },
    ]);
  });

  it('sends the text by default', async () => {
    const { fetch, bodies } = recordingFetch({ data: { instructionReceipt: null } });
    const client = new PartnerClient({ baseUrl: BASE_URL, hubId: HUB_ID, partnerId: PARTNER_ID, key: await generatePartnerKey(), fetch });
    await client.fetchReceipt('order-1');
    expect(bodies).toEqual([{ query: INSTRUCTION_RECEIPT_QUERY, variables: { jti: 'order-1' } }]);
  });

  it('reports an id the hub does not know as PERSISTED_QUERY_NOT_FOUND, without resending the text', async () => {
    const { fetch, bodies } = recordingFetch({
      errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }],
    });
    const key = await generatePartnerKey();
    const client = new PartnerClient({ baseUrl: BASE_URL, hubId: HUB_ID, partnerId: PARTNER_ID, key, fetch, persistedOperations: true });
    const error = await client.graphql('query Mine { __typename }').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error).toMatchObject({ code: 'PERSISTED_QUERY_NOT_FOUND', retryable: false });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).not.toHaveProperty('query');
  });
});
