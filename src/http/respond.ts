import type { ServerResponse } from 'node:http';

/** Answers with a JSON body: the one way the HTTP layer writes its own (non-GraphQL) answers. */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}
