import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

/** One subgraph of a supergraph: its name, where the gateway reaches it, and its SDL (what `_service { sdl }` answers). */
export interface SubgraphDefinition {
  name: string;
  url: string;
  sdl: string;
}

export interface Supergraph {
  supergraphSdl: string;
  /** Composition hints (docs/federation.md): none is expected for the hub and the example store subgraph. */
  hints: Array<{ code: string; message: string }>;
}

/** Composition failed: every error, one per line. */
export class CompositionFailed extends Error {
  constructor(readonly errors: Array<{ code: string; message: string }>) {
    super(`the subgraphs do not compose:\n${errors.map((error) => `  ${error.code}: ${error.message}`).join('\n')}`);
  }
}

/** Composes subgraphs into a supergraph with @apollo/composition, as `rover supergraph compose` would. */
export function composeSupergraph(subgraphs: readonly SubgraphDefinition[]): Supergraph {
  const result = composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
  if (result.errors)
    throw new CompositionFailed(
      result.errors.map((error) => ({ code: String(error.extensions.code ?? 'UNKNOWN'), message: error.message })),
    );
  return {
    supergraphSdl: result.supergraphSdl,
    hints: result.hints.map((hint) => ({ code: hint.definition.code, message: hint.message })),
  };
}

/** A subgraph's SDL, asked of the running subgraph (`_service { sdl }`), with a bearer token if it needs one. */
export async function fetchSubgraphSdl(url: string, token?: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = (await response.json()) as { data?: { _service?: { sdl?: string } }; errors?: unknown[] };
  const sdl = body.data?._service?.sdl;
  if (typeof sdl !== 'string') throw new Error(`${url} did not answer _service { sdl }: ${JSON.stringify(body.errors ?? body)}`);
  return sdl;
}
