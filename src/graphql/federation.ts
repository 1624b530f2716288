import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { execute, GraphQLError, isObjectType, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { createResolversMap } from 'type-graphql';
import { assert } from '../common/assert';
import { roleOf } from '../common/viewer';
import { badInput, forbidden, unauthenticated } from '../common/auth-errors';
import { limits } from '../config/limits';
import type { RequestContext } from './context';

/**
 * The hub is an Apollo Federation 2 subgraph (docs/federation.md): the schema type-graphql builds
 * is printed with its directives (`@key`, `@shareable`), linked to the federation spec, and built
 * again by @apollo/subgraph, which adds `_service` and `_entities`. The resolvers are
 * type-graphql's own (auth checker and validation included), taken from its schema.
 */
export const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';

/**
 * How each entity (a type with `@key`) is found from a reference another subgraph sends: with the
 * same authorization as the direct query for it. Every entity must have one: without it
 * @apollo/subgraph would answer the reference itself, and the entity's fields would run for anyone.
 */
export type ReferenceResolvers = Record<string, (reference: { id?: unknown }, context: RequestContext) => Promise<unknown>>;

export interface SubgraphOptions {
  /**
   * Whether `_service { sdl }` answers everyone (as introspection does when it is on) or only
   * operator and finance tokens: with introspection off the SDL is no more public than `__schema`.
   */
  publicSdl: boolean;
}

/** The refusal of an `_entities` call with more representations than a page may hold. */
export function tooManyRepresentations(count: number): GraphQLError {
  return new GraphQLError(`_entities takes at most ${limits.entityRepresentationsMax} representations, got ${count}: split the call`, {
    extensions: {
      code: 'BAD_USER_INPUT',
      reason: 'TOO_MANY_REPRESENTATIONS',
      limit: limits.entityRepresentationsMax,
      http: { status: 400 },
    },
  });
}

/** The subgraph schema around a schema built by type-graphql. */
export function toSubgraphSchema(schema: GraphQLSchema, references: ReferenceResolvers, options: SubgraphOptions): GraphQLSchema {
  const typeDefs = parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as Record<string, object>;
  for (const [typeName, resolve] of Object.entries(references)) {
    const type = schema.getType(typeName);
    assert(isObjectType(type), `a reference resolver for ${typeName}, which is no object type of the schema`);
    resolvers[typeName] = { ...resolvers[typeName], __resolveReference: resolve };
  }
  const subgraph = buildSubgraphSchema({ typeDefs, resolvers: resolvers as never });
  guardFederationFields(subgraph, references, options);
  return subgraph;
}

/** A representation of one of the entities (`{ __typename, id }`); anything else is refused before any is resolved. */
function isReferenceTo(representation: unknown, references: ReferenceResolvers): boolean {
  if (typeof representation !== 'object' || representation === null) return false;
  const { __typename: typename } = representation as { __typename?: unknown };
  return typeof typename === 'string' && Object.hasOwn(references, typename);
}

/** `_entities` needs a token and a bounded list; `_service` follows introspection (SubgraphOptions). */
function guardFederationFields(subgraph: GraphQLSchema, references: ReferenceResolvers, options: SubgraphOptions): void {
  const query = subgraph.getQueryType();
  assert(query !== null && query !== undefined, 'a subgraph has a Query type');
  const fields = query.getFields();
  const entities = fields._entities;
  const service = fields._service;
  assert(entities?.resolve !== undefined && service?.resolve !== undefined, '@apollo/subgraph adds _entities and _service');
  const entityType = subgraph.getType('_Entity');
  for (const member of entityType && 'getTypes' in entityType ? entityType.getTypes() : [])
    assert(member.name in references, `entity ${member.name} has @key but no reference resolver`);

  const resolveEntities = entities.resolve as GraphQLFieldResolver<unknown, RequestContext, { representations: unknown[] }>;
  entities.resolve = (source, args: { representations: unknown[] }, context: RequestContext, info) => {
    if (roleOf(context.viewer) === null) throw unauthenticated('_entities needs a bearer token', 'NO_TOKEN');
    if (args.representations.length > limits.entityRepresentationsMax) throw tooManyRepresentations(args.representations.length);
    const stranger = args.representations.find((representation) => !isReferenceTo(representation, references));
    if (stranger !== undefined)
      throw badInput(
        `every representation needs __typename ${Object.keys(references).join(' or ')} and its key: ${JSON.stringify(stranger).slice(0, 80)}`,
      );
    return resolveEntities(source, args, context, info);
  };
  const resolveService = service.resolve as GraphQLFieldResolver<unknown, RequestContext>;
  service.resolve = (source, args, context, info) => {
    if (!options.publicSdl && context.viewer.kind !== 'operator') {
      if (roleOf(context.viewer) === null)
        throw unauthenticated('_service needs an operator or finance token while introspection is off', 'NO_TOKEN');
      throw forbidden('_service is for operator and finance tokens while introspection is off: the SDL is in schema/schema.graphql');
    }
    return resolveService(source, args, context, info);
  };
}

/** What `_service { sdl }` answers for this schema: the subgraph SDL a supergraph is composed from (schema/schema.graphql). */
export async function serviceSdl(subgraph: GraphQLSchema): Promise<string> {
  const viewer = { kind: 'operator', role: 'operator', subject: 'schema-print' } as const;
  const result = await execute({ schema: subgraph, document: parse('{ _service { sdl } }'), contextValue: { viewer } });
  const sdl = (result.data?._service as { sdl?: unknown } | undefined)?.sdl;
  assert(typeof sdl === 'string' && result.errors === undefined, '_service answers its SDL to an operator');
  return sdl;
}
