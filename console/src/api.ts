/**
 * The consoles' one way to the hub: POST /graphql with the signed-in token as a bearer header.
 * Sign-in links carry the token in the URL fragment (#token=…), which the browser never sends to a
 * server; the app moves it into sessionStorage (gone when the tab closes) and removes it from the
 * address bar. No cookie is ever set, so no request is made on a person's behalf without this code.
 */

export type ConsoleKind = 'member' | 'finance' | 'operator';

const storageKey = (kind: ConsoleKind) => `coalition-console-token:${kind}`;

/** Takes a token from the fragment into sessionStorage (and out of the address bar); returns the token kept for `kind`. */
export function signInFromFragment(kind: ConsoleKind): string | undefined {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const given = fragment.get('token');
  if (given !== null && given.trim() !== '') {
    window.sessionStorage.setItem(storageKey(kind), given.trim());
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return window.sessionStorage.getItem(storageKey(kind)) ?? undefined;
}

export function signIn(kind: ConsoleKind, token: string): void {
  window.sessionStorage.setItem(storageKey(kind), token.trim());
}

export function signOut(kind: ConsoleKind): void {
  window.sessionStorage.removeItem(storageKey(kind));
}

/** A request the hub refused as a whole (no or bad token, a GraphQL error): shown to the person as is. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface GraphqlClient {
  <T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** A client for one token; `onSignedOut` is called when the hub refuses the token (expired, revoked). */
export function graphqlClient(token: string, onSignedOut: () => void): GraphqlClient {
  return async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
      cache: 'no-store',
    });
    let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new ApiError(`the hub answered ${response.status} without a GraphQL result`, undefined);
    }
    const first = body.errors?.[0];
    if (first !== undefined) {
      const code = first.extensions?.code;
      if (code === 'UNAUTHENTICATED') onSignedOut();
      throw new ApiError(first.message, code);
    }
    if (body.data === undefined) throw new ApiError(`the hub answered ${response.status} without data`, undefined);
    return body.data;
  };
}

/** A typed refusal inside a result union (`... on ErrorResult { errorCode message }`). */
export interface Refusal {
  __typename: string;
  errorCode?: string;
  message?: string;
}

export const REFUSAL = '__typename ... on ErrorResult { errorCode message }';

/** A mutation's or query's result union: what was asked for, or a typed refusal. */
export type Result<T> = ({ __typename: string; errorCode?: undefined } & T) | { __typename: string; errorCode: string; message: string };

export function isRefusal<T>(result: Result<T>): result is { __typename: string; errorCode: string; message: string } {
  return typeof result.errorCode === 'string';
}

/** Every node of a connection. */
export function nodes<T>(connection: { edges: Array<{ node: T }> } | null | undefined): T[] {
  return connection?.edges.map((edge) => edge.node) ?? [];
}
