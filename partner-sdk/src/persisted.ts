/**
 * Persisted operations: every GraphQL document this SDK sends, as a manifest in Apollo's
 * persisted-query-manifest format (`operations.json` at the package root is this manifest,
 * committed and checked against these documents by a test). A hub can be told to accept from a
 * partner only the documents on its safelist; this manifest is the hub's built-in safelist. With
 * `PartnerClient({ persistedOperations: true })` the SDK sends each document by its id (the
 * SHA-256 of its exact text) in Apollo's APQ wire format instead of the text.
 */
import { createHash } from 'node:crypto';
import { BATCH_MUTATION, EVENTS_QUERY, INSTRUCTION_RECEIPT_QUERY, MUTATIONS } from './documents';
import { OPS } from './protocol';

export const PERSISTED_QUERY_MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export interface PersistedOperation {
  /** Lower-case hex SHA-256 of `body`, byte for byte: the id a client sends instead of the text. */
  id: string;
  /** The operation's name in the document. */
  name: string;
  type: 'query' | 'mutation';
  /** The exact document text. */
  body: string;
}

export interface PersistedOperationManifest {
  format: typeof PERSISTED_QUERY_MANIFEST_FORMAT;
  version: 1;
  operations: PersistedOperation[];
}

/** The id of a document: lower-case hex SHA-256 of its UTF-8 text (Apollo's `sha256Hash`). */
export function operationId(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

function describe(body: string): PersistedOperation {
  const head = /^(query|mutation) ([A-Za-z_][A-Za-z0-9_]*)/.exec(body);
  if (!head) throw new Error(`SDK document without a named operation: ${body.slice(0, 40)}`);
  return { id: operationId(body), name: head[2]!, type: head[1] as 'query' | 'mutation', body };
}

/** Every document the SDK sends, in a fixed order (the signed mutations in OPS order, the batch, the reads). */
export function persistedOperationManifest(): PersistedOperationManifest {
  const bodies = [...OPS.map((op) => MUTATIONS[op]), BATCH_MUTATION, INSTRUCTION_RECEIPT_QUERY, EVENTS_QUERY];
  return { format: PERSISTED_QUERY_MANIFEST_FORMAT, version: 1, operations: bodies.map(describe) };
}

/** The `extensions` of a request sent by id (Apollo's APQ wire format, version 1). */
export function persistedQueryExtension(body: string): { persistedQuery: { version: 1; sha256Hash: string } } {
  return { persistedQuery: { version: 1, sha256Hash: operationId(body) } };
}
