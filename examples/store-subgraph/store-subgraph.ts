import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLSchema } from 'graphql';

/**
 * A partner's own "store" subgraph, as a platform team would write it next to the Coalition Hub
 * (docs/federation.md): it owns `Store`, joins `favouriteStore` onto the hub's `Member` by id and
 * points each store at the hub's `Partner` by id. The hub resolves everything else about members
 * and partners, with the caller's token. CI composes it with the hub (test/unit/federation-composition.test.ts).
 */
export const STORE_SUBGRAPH_SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

"""A shop of one of the coalition's partners."""
type Store @key(fields: "id") {
  id: ID!
  name: String!
  city: String!
  """
  The partner that runs it; the hub answers its other fields, for the caller's token only (null where
  the hub refuses them).
  """
  partner: Partner
}

# The hub's member: this subgraph adds the member's favourite store.
type Member @key(fields: "id") {
  id: ID!
  favouriteStore: Store
}

# The hub's partner, referenced by id: this subgraph adds no field to it and resolves none.
type Partner @key(fields: "id", resolvable: false) {
  id: ID!
}

# Shared with the hub and every other subgraph (Relay's page info).
type PageInfo @shareable {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type StoreEdge {
  cursor: String!
  node: Store!
}

type StoreConnection {
  edges: [StoreEdge!]!
  pageInfo: PageInfo!
}

type Query {
  """The stores, in id order."""
  stores(first: Int! = 20, after: String): StoreConnection!
}
`;

export interface Store {
  id: string;
  name: string;
  city: string;
  partnerId: string;
}

/** The subgraph's own data: its stores and each member's favourite (in memory, as befits an example). */
export class StoreData {
  private readonly favourites = new Map<string, string>();

  constructor(readonly stores: readonly Store[]) {}

  setFavourite(memberId: string, storeId: string): void {
    if (!this.stores.some((store) => store.id === storeId)) throw new Error(`no store ${storeId}`);
    this.favourites.set(memberId, storeId);
  }

  favouriteOf(memberId: string): Store | null {
    const storeId = this.favourites.get(memberId);
    return this.stores.find((store) => store.id === storeId) ?? null;
  }
}

const PAGE_SIZE_MAX = 100;

export function buildStoreSchema(data: StoreData): GraphQLSchema {
  const resolvers = {
    Query: {
      stores: (_: unknown, { first, after }: { first: number; after?: string | null }) => {
        const size = Math.min(Math.max(first, 1), PAGE_SIZE_MAX);
        const start = after ? data.stores.findIndex((store) => store.id === after) + 1 : 0;
        const page = data.stores.slice(start, start + size);
        return {
          edges: page.map((store) => ({ cursor: store.id, node: store })),
          pageInfo: {
            hasNextPage: start + size < data.stores.length,
            hasPreviousPage: start > 0,
            startCursor: page[0]?.id ?? null,
            endCursor: page[page.length - 1]?.id ?? null,
          },
        };
      },
    },
    Store: {
      __resolveReference: ({ id }: { id: string }) => data.stores.find((store) => store.id === id) ?? null,
      partner: (store: Store) => ({ __typename: 'Partner', id: store.partnerId }),
    },
    Member: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      favouriteStore: ({ id }: { id: string }) => data.favouriteOf(id),
    },
  };
  return buildSubgraphSchema({ typeDefs: parse(STORE_SUBGRAPH_SDL), resolvers });
}

export interface RunningStoreSubgraph {
  url: string;
  data: StoreData;
  stop(): Promise<void>;
}

/** Serves the store subgraph on 127.0.0.1 (`port` 0: any free port). */
export async function startStoreSubgraph(stores: readonly Store[], port = 0): Promise<RunningStoreSubgraph> {
  const data = new StoreData(stores);
  const server = new ApolloServer({
    schema: buildStoreSchema(data),
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  return { url, data, stop: () => server.stop() };
}
