import type { GraphqlResponse, TestHub } from '../../helpers/test-hub';

/** POSTs a GraphQL document with exactly this Authorization header (or none), for tests of bad headers. */
export async function graphqlWithAuthorization<T = Record<string, any>>(
  hub: TestHub,
  query: string,
  authorization: string | undefined,
  variables: Record<string, unknown> = {},
): Promise<GraphqlResponse<T>> {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphqlResponse['errors'] };
  return { status: response.status, ...body };
}

/** The `extensions.code` of every error in a response, in order. */
export const errorCodes = (response: GraphqlResponse): unknown[] => (response.errors ?? []).map((error) => error.extensions?.code);
