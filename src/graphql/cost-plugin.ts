import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  valueFromAST,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { RequestContext } from './context';

const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_FACTOR = 1.5;
/**
 * Fields that recompute a settlement period from the ledger cost what that work costs, not 1:
 * at most a handful per request.
 */
const FIELD_COSTS: Record<string, number> = {
  'Statement.document': 300,
  'Statement.lines': 150,
  'Query.reconciliation': 2000,
};

/**
 * The query cost limit, with page sizes as the server will really use them. graphql-armor's cost
 * rule (kept too) runs during validation and sees only page sizes written into the query: a
 * `first` passed as a variable, or left to its default, counted as 1. This plugin runs once the
 * operation and its variables are known, reads each list field's `first` from the literal, the
 * variable or the schema default, and refuses the request (HTTP 400) before anything executes.
 */
export function costPlugin(maxCost: number): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ schema }) {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (!operation) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
          }
          const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
          if (!root) return;
          const cost = new CostWalk(schema, fragments, request.variables ?? {}).selectionSet(operation.selectionSet, root, new Set());
          if (cost > maxCost) {
            throw new GraphQLError(`Query cost ${Math.round(cost)} exceeds the limit of ${maxCost} (page sizes included); ask for fewer or smaller pages`, {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
            });
          }
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
        if (!field || !selection.selectionSet) {
          cost += SCALAR_COST;
          continue;
        }
        const type = getNamedType(field.type);
        if (!isCompositeType(type)) continue;
        let multiplier = 1;
        const firstArg = field.args.find((arg) => arg.name === 'first');
        if (firstArg) {
          const given = selection.arguments?.find((arg) => arg.name.value === 'first');
          const value = given ? valueFromAST(given.value, firstArg.type, this.variables) : firstArg.defaultValue;
          if (typeof value === 'number' && Number.isFinite(value)) multiplier = Math.max(1, value);
        }
        cost += (OBJECT_COST + DEPTH_FACTOR * this.selectionSet(selection.selectionSet, type, seen)) * multiplier;
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
