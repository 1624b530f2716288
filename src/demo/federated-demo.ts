import { signAccessToken } from '@coalition-hub/partner-sdk';
import type { Hub } from '../app';
import type { Config } from '../config/config';
import { startStoreSubgraph, type Store } from '../../examples/store-subgraph/store-subgraph';
import type { DemoOperator } from './demo';
import { startGateway } from './gateway';
import { composeSupergraph, fetchSubgraphSdl } from './supergraph';

/** The example store subgraph's stores in the demo: one per demo partner. */
const DEMO_STORES: Store[] = [
  { id: 'acme-mitte', name: 'ACME Mitte', city: 'Berlin', partnerId: 'ACME' },
  { id: 'bolt-altona', name: 'BOLT Altona', city: 'Hamburg', partnerId: 'BOLT' },
  { id: 'cafe-schwabing', name: 'CAFE Schwabing', city: 'Munich', partnerId: 'CAFE' },
];

/** One query, three hops: members and balances (hub) → favourite stores (store subgraph) → their partners (hub's _entities). */
const CROSS_SUBGRAPH_QUERY = `{ members(first: 3) { edges { node {
  id balance combinedBalance { totalCp } favouriteStore { name city partner { name } } } } } }`;

export interface FederatedDemo {
  gatewayUrl: string;
  /** Stops the gateway, then the store subgraph. */
  stop(): Promise<void>;
}

const line = (text = '') => console.error(text);

/** A member as the cross-subgraph query answers it. */
interface JoinedMember {
  id: string;
  balance: string;
  combinedBalance: { totalCp: string };
  favouriteStore: { name: string; city: string; partner: { name: string } | null } | null;
}

/**
 * `npm start -- --gateway` (docs/federation.md): the example store subgraph on a free port, the
 * supergraph composed from both subgraphs' `_service { sdl }`, a local @apollo/gateway on
 * `gatewayPort`, and one query through it that crosses both subgraphs with the operator's token.
 */
export async function startFederatedDemo(hub: Hub, config: Config, operator: DemoOperator, gatewayPort: number): Promise<FederatedDemo> {
  const token = await signAccessToken({
    issuer: config.operatorIssuer,
    subject: 'demo-gateway',
    scope: 'operator',
    audience: config.hubId,
    key: operator.key,
    lifetimeSeconds: 3600,
  });
  const store = await startStoreSubgraph(DEMO_STORES);
  try {
    const hubUrl = `${hub.url}/graphql`;
    const { supergraphSdl } = composeSupergraph([
      { name: 'hub', url: hubUrl, sdl: await fetchSubgraphSdl(hubUrl, token) },
      { name: 'store', url: store.url, sdl: await fetchSubgraphSdl(store.url) },
    ]);
    const gateway = await startGateway(supergraphSdl, gatewayPort);
    const stop = async () => {
      await gateway.stop();
      await store.stop();
    };
    try {
      await showCrossSubgraphQuery(gateway.url, store.url, token, store.data);
    } catch (error) {
      await stop();
      throw error;
    }
    return { gatewayUrl: gateway.url, stop };
  } catch (error) {
    await store.stop().catch(() => undefined);
    throw error;
  }
}

async function showCrossSubgraphQuery(
  gatewayUrl: string,
  storeUrl: string,
  token: string,
  stores: { setFavourite(memberId: string, storeId: string): void },
): Promise<void> {
  const ask = async () => {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CROSS_SUBGRAPH_QUERY }),
    });
    const body = (await response.json()) as { data?: { members: { edges: Array<{ node: JoinedMember }> } }; errors?: unknown[] };
    if (body.errors !== undefined || !body.data) throw new Error(`demo: the query through the gateway failed: ${JSON.stringify(body)}`);
    return body.data.members.edges.map((edge) => edge.node);
  };
  // The store subgraph's own data: each member listed gets a favourite store (its partner's own records, in a real graph).
  (await ask()).forEach((member, index) => stores.setFavourite(member.id, DEMO_STORES[index % DEMO_STORES.length]!.id));
  line(`\nFederation: the hub and a partner's store subgraph (examples/store-subgraph, ${storeUrl}),`);
  line(`composed by @apollo/composition and served by @apollo/gateway at ${gatewayUrl}`);
  line("   one query through the gateway, the operator's token passed on to both subgraphs:");
  for (const member of await ask()) {
    const store = member.favouriteStore;
    line(
      `   member ${member.id.slice(0, 8)}  balance ${member.balance} CP, combined ${member.combinedBalance.totalCp} CP  favourite store: ${store ? `${store.name} (${store.city}), run by ${store.partner?.name ?? '?'}` : 'none'}`,
    );
  }
}
