import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, visit, type DocumentNode } from 'graphql';
import type { RequestContext } from './context';

/**
 * PostgreSQL text and jsonb cannot hold U+0000: a NUL that reached a query would fail there
 * (SQLSTATE 22021) as an internal error. No argument of this API has a use for it, so a NUL in
 * any variable (values and object keys, at any depth) or string literal is refused here, before
 * anything runs, as BAD_USER_INPUT with HTTP 400.
 */
export function inputGuardPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const variable = Object.entries(request.variables ?? {}).find(([, value]) => holdsNul(value));
          if (variable) throw nulRefused(`variable $${variable[0]}`);
          if (literalHoldsNul(document)) throw nulRefused('a string in the query');
        },
      };
    },
  };
}

function nulRefused(where: string): GraphQLError {
  return new GraphQLError(`${where} contains a NUL character (U+0000), which no argument may contain`, {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });
}

/** Depth-first over JSON values; variables come from JSON.parse, so there are no cycles. */
export function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, member]) => key.includes('\u0000') || holdsNul(member));
  }
  return false;
}

function literalHoldsNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    StringValue(node) {
      if (node.value.includes('\u0000')) found = true;
    },
  });
  return found;
}
