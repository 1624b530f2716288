import 'reflect-metadata';
import { buildSchemaForPrinting } from '../../src/graphql/schema';
import { serviceSdl } from '../../src/graphql/federation';
import { CompositionFailed, composeSupergraph, type SubgraphDefinition } from '../../src/demo/supergraph';
import { STORE_SUBGRAPH_SDL } from '../../examples/store-subgraph/store-subgraph';

/**
 * CI composes the hub's subgraph SDL (what `_service { sdl }` answers) with the example store
 * subgraph, as a platform team composing their supergraph would (docs/federation.md). Any error
 * fails, and so does any hint: a hint is how composition reports a join it had to guess at.
 */

let hub: SubgraphDefinition;
let composed: ReturnType<typeof composeSupergraph>;
const store = (sdl = STORE_SUBGRAPH_SDL): SubgraphDefinition => ({ name: 'store', url: 'http://store.invalid/graphql', sdl });

beforeAll(async () => {
  hub = { name: 'hub', url: 'http://hub.invalid/graphql', sdl: await serviceSdl(await buildSchemaForPrinting()) };
  composed = composeSupergraph([hub, store()]);
});

describe('the hub and the example store subgraph compose', () => {
  it('without errors or hints', () => {
    expect(composed.hints).toEqual([]);
  });

  it('into a supergraph where Member and Partner are entities of both subgraphs and PageInfo is shared', () => {
    const { supergraphSdl } = composed;
    expect(supergraphSdl).toMatch(/type Member\n(\s+@join__type\(graph: (HUB|STORE), key: "id"\)\n){2}/);
    expect(supergraphSdl).toMatch(/type Partner\n(\s+@join__type\(graph: (HUB|STORE), key: "id".*\)\n){2}/);
    expect(supergraphSdl).toMatch(/favouriteStore: Store @join__field\(graph: STORE\)/);
    expect(supergraphSdl).toMatch(/type PageInfo\n(\s+@join__type\(graph: (HUB|STORE)\)\n){2}/);
  });

  it('the hub alone composes too (its own supergraph)', () => {
    expect(composeSupergraph([hub]).hints).toEqual([]);
  });
});

describe('composition fails on a broken join (so the checks above can fail)', () => {
  const failureCodes = (sdl: string): string[] => {
    try {
      composeSupergraph([hub, store(sdl)]);
    } catch (error) {
      if (error instanceof CompositionFailed) return [...new Set(error.errors.map((e) => e.code))];
      throw error;
    }
    return [];
  };

  it('a PageInfo that is not shareable is INVALID_FIELD_SHARING', () => {
    expect(failureCodes(STORE_SUBGRAPH_SDL.replace('type PageInfo @shareable', 'type PageInfo'))).toEqual(['INVALID_FIELD_SHARING']);
  });

  it('a Member joined on a key the hub cannot resolve is not satisfiable', () => {
    const sdl = STORE_SUBGRAPH_SDL.replace('type Member @key(fields: "id") {\n  id: ID!', 'type Member @key(fields: "ref") {\n  ref: ID!');
    expect(failureCodes(sdl)).toContain('SATISFIABILITY_ERROR');
  });
});
