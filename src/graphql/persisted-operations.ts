import type { ApolloServerPlugin } from '@apollo/server';
import { INSTRUCTION_TYP } from '@coalition-hub/partner-sdk';
import { createHash } from 'node:crypto';
import { GraphQLError, Kind, parse, specifiedRules, validate, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { HubMetrics } from '../common/metrics';
import type { Viewer } from '../common/viewer';
import { limits } from '../config/limits';
import type { DocumentCheck, PersistedOperationService } from '../partners/persisted-operations.service';
import type { DatabaseOutage } from '../db/availability';
import type { RequestContext } from './context';
import { orUnavailable } from './errors-plugin';
import { supportedOperationRule } from './validation-rules';

/**
 * Persisted operations and safelists (docs/security.md, "Persisted operations").
 *
 * By id: a request may name its document by `extensions.persistedQuery.sha256Hash` (Apollo's APQ
 * wire format); Apollo looks the id up in `persistedOperationStore`, which knows the partner SDK's
 * documents and those the operator registered, and nothing else: the hub does not learn documents
 * from requests (Apollo's automatic registration is a no-op here), so an unknown id is always
 * PERSISTED_QUERY_NOT_FOUND.
 *
 * Safelist-only partners: `safelistPlugin` refuses, before any resolver runs, a request whose
 * document (sent as text or by id) is not on the safelist of a safelist-only partner it is
 * attributed to: the partner of a partner-scope bearer token, and the issuer of every signed
 * instruction it carries, wherever in the arguments or variables.
 */

/** Apollo's persisted-query cache (it prefixes keys with `apq:`): read-only, from the safelists. */
export function persistedOperationStore(operations: PersistedOperationService) {
  return {
    async get(key: string): Promise<string | undefined> {
      const id = key.startsWith('apq:') ? key.slice(4) : key;
      return operations.builtInDocument(id) ?? (await operations.safelists()).documentOf(id);
    },
    async set(): Promise<void> {},
    async delete(): Promise<boolean> {
      return false;
    },
  };
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The `iss` of a string that reads as a signed instruction (typ coalition-tx+jwt), unverified; else undefined. */
export function instructionIssuer(value: string): string | undefined {
  if (value.length > limits.requestBodyBytesMax || !COMPACT_JWS.test(value)) return undefined;
  const [header, payload] = value.split('.');
  try {
    const typ = (JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as { typ?: unknown }).typ;
    if (typ !== INSTRUCTION_TYP) return undefined;
    const iss = (JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The partners a request speaks for: the partner of a partner token, and the issuer of every
 * instruction in it. An instruction's issuer is read before its signature is checked: naming a
 * safelist-only partner only ever gets the request refused, and an instruction naming another
 * partner fails its signature check when it runs.
 */
export function attributedPartners(viewer: Viewer, document: DocumentNode, variables: Record<string, unknown> | undefined): Set<string> {
  const partners = new Set<string>();
  if (viewer.kind === 'partner') partners.add(viewer.partnerId);
  const add = (value: string) => {
    const issuer = instructionIssuer(value);
    if (issuer !== undefined) partners.add(issuer);
  };
  visit(document, { StringValue: (node) => add(node.value) });
  const walk = (value: unknown): void => {
    if (typeof value === 'string') add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(variables);
  return partners;
}

export function notInSafelist(partnerId: string, operationId: string): GraphQLError {
  return new GraphQLError(
    `partner ${partnerId} may run only operations on its safelist, and this document (id ${operationId}) is not on it: send the partner SDK's documents unchanged, or have the operator register this one`,
    { extensions: { code: 'OPERATION_NOT_IN_SAFELIST', partnerId, operationId, http: { status: 403 } } },
  );
}

export function safelistPlugin(
  operations: PersistedOperationService,
  metrics: HubMetrics,
  outage: DatabaseOutage,
): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        // Refuses before the cost plugin: a safelist-only partner's ad-hoc document gets this refusal, whatever it costs.
        async didResolveOperation({ document, source, request, contextValue, operationName }) {
          // From memory (no await) on the hot path, so that this refusal comes before the other plugins'.
          const known = operations.current();
          if (known?.safelistOnly.size === 0) return;
          const partners = attributedPartners(contextValue.viewer, document, request.variables);
          if (partners.size === 0) return;
          // Not in memory (e.g. while the hub cannot hear about changes): from the database, or 503 while it is down.
          const safelists = known ?? (await orUnavailable(() => operations.safelists(), outage));
          const id = createHash('sha256').update(source, 'utf8').digest('hex');
          for (const partnerId of partners) {
            if (!safelists.safelistOnly.has(partnerId) || safelists.allows(partnerId, id)) continue;
            metrics.operationRefused('OPERATION_NOT_IN_SAFELIST');
            contextValue.logger.warn(
              { partnerId, operationId: id, operationName: operationName ?? null, reason: 'OPERATION_NOT_IN_SAFELIST' },
              'refused: the document is not on the safelist of a safelist-only partner',
            );
            throw notInSafelist(partnerId, id);
          }
        },
        async didEncounterErrors({ errors, contextValue, request }) {
          if (!errors.some((error) => error.extensions.code === 'PERSISTED_QUERY_NOT_FOUND')) return;
          metrics.operationRefused('PERSISTED_QUERY_NOT_FOUND');
          const viewer: Viewer | undefined = contextValue.viewer;
          const sha256Hash = (request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
          contextValue.logger.info(
            { partnerId: viewer?.kind === 'partner' ? viewer.partnerId : null, operationId: String(sha256Hash).slice(0, 64) },
            'refused: no persisted operation has this id',
          );
        },
      };
    },
  };
}

/** What a document must be to go on a safelist: one named operation, valid against the schema. */
export function documentCheck(schema: GraphQLSchema): DocumentCheck {
  return (body) => {
    let document: DocumentNode;
    try {
      document = parse(body, { maxTokens: limits.queryTokensMax });
    } catch (error) {
      return { problem: (error as Error).message };
    }
    const errors = validate(schema, document, [...specifiedRules, supportedOperationRule]);
    if (errors.length > 0) return { problem: errors.map((error) => error.message).join('; ') };
    const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    const name = operations.length === 1 ? operations[0]!.name?.value : undefined;
    return name === undefined ? { problem: 'a persisted document holds exactly one operation, and it is named' } : { name };
  };
}
