import { TestHub, type GraphqlResponse, type TestPartner } from '../helpers/test-hub';
import { errorCodes } from './support/http';
import { startStoreSubgraph, type RunningStoreSubgraph } from '../../examples/store-subgraph/store-subgraph';
import { composeSupergraph, fetchSubgraphSdl } from '../../src/demo/supergraph';
import { startGateway, type RunningGateway } from '../../src/demo/gateway';

/**
 * A real federated graph on free ports (docs/federation.md): the hub, the example store subgraph
 * and an @apollo/gateway serving their composed supergraph. The caller's token goes through the
 * gateway to the hub, which answers root fields and `_entities` for that caller alone.
 */

let hub: TestHub;
let store: RunningStoreSubgraph;
let gateway: RunningGateway;
let acme: TestPartner;
let annId: string;
let bobId: string;

async function viaGateway(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GraphqlResponse> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphqlResponse, 'status'>) };
}

const ME = '{ me { id balance combinedBalance { totalCp } favouriteStore { name city partner { id } } } }';
const STORES = '{ stores { edges { node { id partner { id name } } } } }';

beforeAll(async () => {
  hub = await TestHub.start({ env: { INTROSPECTION: 'false' } });
  acme = await hub.registerPartner('ACME');
  const bolt = await hub.registerPartner('BOLT');
  const ann = await acme.client.enrollMember({ member: 'ann' });
  const bob = await bolt.client.enrollMember({ member: 'bob' });
  const issued = await acme.client.issuePoints({ member: 'ann', amount: '75' });
  if (!ann.ok || !bob.ok || !issued.ok) throw new Error('fixture set-up failed');
  annId = ann.data.memberId;
  bobId = bob.data.memberId;

  store = await startStoreSubgraph([
    { id: 'acme-mitte', name: 'ACME Mitte', city: 'Berlin', partnerId: 'ACME' },
    { id: 'bolt-altona', name: 'BOLT Altona', city: 'Hamburg', partnerId: 'BOLT' },
  ]);
  store.data.setFavourite(annId, 'acme-mitte');
  store.data.setFavourite(bobId, 'bolt-altona');
  // With introspection off, the hub tells its SDL to operators only: the operator composes the supergraph.
  const { supergraphSdl } = composeSupergraph([
    { name: 'hub', url: `${hub.url}/graphql`, sdl: await fetchSubgraphSdl(`${hub.url}/graphql`, await hub.operatorToken()) },
    { name: 'store', url: store.url, sdl: await fetchSubgraphSdl(store.url) },
  ]);
  gateway = await startGateway(supergraphSdl);
});

afterAll(async () => {
  await gateway?.stop();
  await store?.stop();
  await hub?.stop();
});

describe('one query across the hub and the store subgraph, through the gateway', () => {
  it("answers a member's combined balance (hub) with its favourite store (store subgraph)", async () => {
    const response = await viaGateway(ME, {}, await hub.memberToken(acme, 'ann'));
    expect(response.errors).toBeUndefined();
    expect(response.data?.me).toEqual({
      id: annId,
      balance: '75',
      combinedBalance: { totalCp: '75' },
      favouriteStore: { name: 'ACME Mitte', city: 'Berlin', partner: { id: 'ACME' } },
    });
  });

  it("gives a partner its own member joined with the store, and FORBIDDEN for another partner's", async () => {
    const token = await acme.client.accessToken();
    const MEMBER = 'query($id: ID!) { member(id: $id) { balance favouriteStore { name } } }';
    const own = await viaGateway(MEMBER, { id: annId }, token);
    expect(own.data?.member).toEqual({ balance: '75', favouriteStore: { name: 'ACME Mitte' } });
    expect(errorCodes(await viaGateway(MEMBER, { id: bobId }, token))).toEqual(['FORBIDDEN']);
  });

  it("resolves the partners of the store subgraph's stores through the hub's _entities, for the caller alone", async () => {
    const response = await viaGateway(STORES, {}, await acme.client.accessToken());
    const nodes = response.data?.stores.edges.map((edge: { node: unknown }) => edge.node);
    // The store subgraph lists both stores; the hub tells ACME about ACME only.
    expect(nodes).toEqual([
      { id: 'acme-mitte', partner: { id: 'ACME', name: 'ACME Ltd' } },
      { id: 'bolt-altona', partner: null },
    ]);
    expect(errorCodes(response)).toEqual(['FORBIDDEN']);
  });

  it('gives operators everything', async () => {
    const response = await viaGateway(STORES, {}, await hub.operatorToken());
    expect(response.errors).toBeUndefined();
    expect(response.data?.stores.edges.map((edge: { node: { partner: { name: string } } }) => edge.node.partner.name)).toEqual([
      'ACME Ltd',
      'BOLT Ltd',
    ]);
  });
});

describe('without a token, the gateway gets nothing from the hub', () => {
  it('refuses the root fields of the hub as UNAUTHENTICATED', async () => {
    const response = await viaGateway(ME);
    expect(response.data?.me ?? null).toBeNull();
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it("refuses the hub's _entities: the store subgraph's own data stays, the hub's partners do not", async () => {
    const response = await viaGateway(STORES);
    expect(response.data?.stores.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
      { id: 'acme-mitte', partner: null },
      { id: 'bolt-altona', partner: null },
    ]);
    expect(new Set(errorCodes(response))).toEqual(new Set(['UNAUTHENTICATED']));
  });
});

describe('shutdown', () => {
  it('stops the gateway, the store subgraph and the hub, each closing its port', async () => {
    const urls = [gateway.url, store.url, `${hub.url}/graphql`];
    await gateway.stop();
    await store.stop();
    await hub.stop();
    const refused = await Promise.all(
      urls.map((url) =>
        fetch(url, { method: 'POST' }).then(
          () => false,
          () => true,
        ),
      ),
    );
    expect(refused).toEqual([true, true, true]);
    // afterAll must not stop them twice.
    gateway = undefined as unknown as RunningGateway;
    store = undefined as unknown as RunningStoreSubgraph;
    hub = undefined as unknown as TestHub;
  });
});
