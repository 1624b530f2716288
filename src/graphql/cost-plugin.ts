import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { RequestContext } from './context';

/**
 * The cost model, in one sentence: every object field costs 1, a page multiplies what it holds by
 * its page size (written in the query, passed as a variable, or left to the schema's default),
 * scalar fields are free, and the fields below cost what their work costs on top. So a flat page
 * of 20 items costs about 60, and nesting pages multiplies their sizes. A federated `_entities`
 * call counts as a page of as many items as it has representations.
 */
const OBJECT_COST = 1;
/**
 * Fields that recompute a settlement period or render a whole statement cost their work, not 1:
 * a default page of statements with their documents fits the limit; a page of 100 does not, and
 * neither do three reconciliations.
 */
const FIELD_COSTS: Record<string, number> = {
  'Statement.document': 40,
  'Statement.lines': 20,
  'Query.reconciliation': 400,
};

/** The one refusal of an over-expensive query, whatever the query: clients can match on it. */
export function queryCostError(cost: number, maxCost: number): GraphQLError {
  return new GraphQLError(
    `Query cost ${Math.ceil(cost)} exceeds the limit of ${maxCost} (page sizes included); ask for fewer or smaller pages`,
    {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_COST', cost: Math.ceil(cost), limit: maxCost, http: { status: 400 } },
    },
  );
}

/** The cost of an operation as the server will run it (see the model above). */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;
  return new CostWalk(schema, fragments, variables).selectionSet(operation.selectionSet, root, new Set());
}

/**
 * The hub's only query cost limit, with page sizes as the server will really use them. It runs
 * once the operation and its variables are known (a validation rule sees neither a `first` passed
 * as a variable nor the schema default) and refuses the request (HTTP 400) before anything executes.
 */
export function costPlugin(maxCost: number): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ schema }) {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (!operation) return;
          const cost = operationCost(schema, document, operation, request.variables ?? {});
          if (cost > maxCost) throw queryCostError(cost, maxCost);
        },
      };
    },
  };
}

class CostWalk {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  selectionSet(set: SelectionSetNode, parent: GraphQLCompositeType, seen: Set<string>): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
        cost += FIELD_COSTS[`${parent.name}.${name}`] ?? 0;
        if (!field || !selection.selectionSet) continue;
        const type = getNamedType(field.type);
        if (!isCompositeType(type)) continue;
        let multiplier = 1;
        const firstArg = field.args.find((arg) => arg.name === 'first');
        if (firstArg) {
          const given = selection.arguments?.find((arg) => arg.name.value === 'first');
          const value = given ? valueFromAST(given.value, firstArg.type, this.variables) : firstArg.defaultValue;
          if (typeof value === 'number' && Number.isFinite(value)) multiplier = Math.max(1, value);
        }
        // Federation's _entities (docs/federation.md) is a page too: one selection per representation.
        if (parent === this.schema.getQueryType() && name === '_entities') {
          const given = selection.arguments?.find((arg) => arg.name.value === 'representations');
          const argType = field.args.find((arg) => arg.name === 'representations')?.type;
          const value = given && argType ? valueFromAST(given.value, argType, this.variables) : undefined;
          if (Array.isArray(value)) multiplier = Math.max(1, value.length);
        }
        cost += (OBJECT_COST + this.selectionSet(selection.selectionSet, type, seen)) * multiplier;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        if (condition && isCompositeType(condition)) cost += this.selectionSet(selection.selectionSet, condition, seen);
      } else {
        const name = selection.name.value;
        const fragment = this.fragments.get(name);
        if (!fragment || seen.has(name)) continue;
        const condition = this.schema.getType(fragment.typeCondition.name.value);
        if (condition && isCompositeType(condition)) cost += this.selectionSet(fragment.selectionSet, condition, new Set([...seen, name]));
      }
    }
    return cost;
  }
}
