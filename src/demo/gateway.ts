import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';

interface GatewayContext {
  /** The caller's Authorization header, passed on to every subgraph the query plan calls. */
  authorization?: string;
}

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/**
 * A local federated gateway (@apollo/gateway) serving a composed supergraph (docs/federation.md).
 * It holds no authority of its own: each subgraph call carries the caller's Authorization header,
 * so the hub answers `_entities` and its root fields for that caller exactly as it would directly.
 */
export async function startGateway(supergraphSdl: string, port = 0): Promise<RunningGateway> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set('authorization', context.authorization);
        },
      }),
  });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    plugins: [ApolloServerPluginLandingPageDisabled()],
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { url, stop: () => server.stop() };
}
