import { persistedOperationManifest, operationId, type PersistedOperation } from '@coalition-hub/partner-sdk';
import type { DataSource } from 'typeorm';
import { ErrorCode, fail } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { limits } from '../config/limits';
import { PartnerEntity } from '../db/entities';
import { queryRows } from '../db/sql';
import { withTransaction } from '../db/with-transaction';
import { readPageCursors, toConnection, type Connection, type Page } from '../ledger/ledger-query.service';
import { PARTNER_ID_PATTERN } from './partner-id';
import { announce, type PartnerService } from './partner.service';

/** An operation an operator registered for a partner's safelist. */
export interface RegisteredOperation {
  partnerId: string;
  id: string;
  name: string;
  body: string;
  registeredBy: string;
  registeredAt: Date;
}

/**
 * What a document must be to be registered, checked against the schema by the GraphQL layer:
 * the operation's name, or why it cannot be registered.
 */
export type DocumentCheck = (body: string) => { name: string } | { problem: string };

/** Who is safelist-only, and which document ids each of them may run. Read whole: both are small. */
export interface Safelists {
  /** Ids of the partners set to safelist-only. */
  safelistOnly: ReadonlySet<string>;
  /** Whether `partnerId` may run the document with this id: the SDK's, or one registered for it. */
  allows(partnerId: string, id: string): boolean;
  /** The text of a document by id: the SDK's or any registered one (for requests sent by id). */
  documentOf(id: string): string | undefined;
}

const ID_PATTERN = /^[0-9a-f]{64}$/;

/** A page of the operations registered for a partner (by id). */
export interface OperationPageRequest {
  partnerId: string;
  page: Page;
}

/**
 * Persisted operations (docs/security.md, "Persisted operations"): the partner SDK's manifest is
 * a safelist built in; operators register more documents per partner and set partners to
 * safelist-only. The setting and the registrations are kept in memory in every hub process and
 * dropped with the partner signer cache (its LISTEN/NOTIFY), so a change counts from the next
 * request everywhere; while that cache cannot be trusted, every look-up reads the database.
 */
export class PersistedOperationService {
  private readonly builtIn: ReadonlyMap<string, PersistedOperation>;
  private cached: Safelists | null = null;
  private loading: Promise<Safelists> | null = null;
  private generation = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly partners: PartnerService,
  ) {
    this.builtIn = new Map(persistedOperationManifest().operations.map((operation) => [operation.id, operation]));
    partners.onChange(() => {
      this.generation += 1;
      this.cached = null;
      this.loading = null;
    });
  }

  /** The SDK's document with this id, if it is one: no database needed. */
  builtInDocument(id: string): string | undefined {
    return this.builtIn.get(id)?.body;
  }

  /** The safelists in memory, or null when they must be read (not loaded yet, dropped, or not trusted). */
  current(): Safelists | null {
    return this.partners.signersTrusted ? this.cached : null;
  }

  /** The safelists: from memory when current, else read from the database (and kept while trusted). */
  async safelists(): Promise<Safelists> {
    const current = this.current();
    if (current) return current;
    if (this.loading && this.partners.signersTrusted) return this.loading;
    const generation = this.generation;
    const loading = this.load().then((safelists) => {
      if (generation === this.generation && this.partners.signersTrusted) this.cached = safelists;
      return safelists;
    });
    this.loading = loading;
    return loading.finally(() => {
      if (this.loading === loading) this.loading = null;
    });
  }

  private async load(): Promise<Safelists> {
    const partners: Array<{ id: string }> = await this.dataSource.query('SELECT id FROM partner WHERE safelist_only');
    const rows: Array<{ partner_id: string; id: string; body: string }> = await this.dataSource.query(
      'SELECT partner_id, id, body FROM partner_operation',
    );
    const registered = new Map<string, Set<string>>();
    const documents = new Map<string, string>();
    for (const row of rows) {
      // The database checks the hash too; a row that does not match its id is never served.
      if (operationId(row.body) !== row.id) continue;
      documents.set(row.id, row.body);
      const ids = registered.get(row.partner_id) ?? new Set<string>();
      ids.add(row.id);
      registered.set(row.partner_id, ids);
    }
    const builtIn = this.builtIn;
    return {
      safelistOnly: new Set(partners.map((partner) => partner.id)),
      allows: (partnerId, id) => builtIn.has(id) || (registered.get(partnerId)?.has(id) ?? false),
      documentOf: (id) => builtIn.get(id)?.body ?? documents.get(id),
    };
  }

  /** Turns safelist-only on or off for a partner; recorded with who did it, and announced to every hub process. */
  async setSafelistOnly(partnerId: string, enabled: boolean, changedBy: string): Promise<PartnerEntity | OpError<'partner'>> {
    return withTransaction(this.dataSource, async (tx) => {
      const updated = await queryRows(tx, 'UPDATE partner SET safelist_only = $2 WHERE id = $1 RETURNING id', [partnerId, enabled]);
      if (updated.length === 0) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      await tx.query('INSERT INTO partner_safelist_change (partner_id, safelist_only, changed_by) VALUES ($1, $2, $3)', [
        partnerId,
        enabled,
        changedBy,
      ]);
      await announce(tx, partnerId);
      return tx.getRepository(PartnerEntity).findOneByOrFail({ id: partnerId });
    }).finally(() => this.partners.invalidate(partnerId));
  }

  /**
   * Adds a document to a partner's safelist under the SHA-256 of its exact text. `id`, when
   * given, must be that hash (what the partner's build computed). Registering the same document
   * again answers the first registration.
   */
  async register(
    partnerId: string,
    body: string,
    id: string | null | undefined,
    registeredBy: string,
    check: DocumentCheck,
  ): Promise<RegisteredOperation | OpError<'setting'>> {
    const invalid = this.invalidRegistration(partnerId, body, id);
    if (invalid) return invalid;
    const checked = check(body);
    if ('problem' in checked) return fail(ErrorCode.INVALID_INPUT, `the document cannot be registered: ${checked.problem}`);
    const hash = operationId(body);
    return withTransaction(this.dataSource, async (tx) => {
      const partner = await queryRows(tx, 'SELECT id FROM partner WHERE id = $1 FOR UPDATE', [partnerId]);
      if (partner.length === 0) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      const select =
        'SELECT partner_id, id, name, body, registered_by, registered_at FROM partner_operation WHERE partner_id = $1 AND id = $2';
      const [existing] = await queryRows<RegisteredOperationRow>(tx, select, [partnerId, hash]);
      if (existing) return toRegistered(existing);
      const [{ count }] = await tx.query('SELECT count(*)::int AS count FROM partner_operation WHERE partner_id = $1', [partnerId]);
      if (count >= limits.persistedOperationsPerPartnerMax)
        return fail(ErrorCode.INVALID_INPUT, `a partner holds at most ${limits.persistedOperationsPerPartnerMax} registered operations`);
      const [row] = await queryRows<RegisteredOperationRow>(
        tx,
        `INSERT INTO partner_operation (partner_id, id, name, body, registered_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING partner_id, id, name, body, registered_by, registered_at`,
        [partnerId, hash, checked.name, body, registeredBy],
      );
      await announce(tx, partnerId);
      return toRegistered(row!);
    }).finally(() => this.partners.invalidate(partnerId));
  }

  /** Pages of the operations registered for each partner, by id, in one statement for all of them. */
  async operationPages(requests: readonly OperationPageRequest[]): Promise<Array<Connection<RegisteredOperation> | Error>> {
    const { cursors, valid: pages } = readPageCursors(requests, ID_PATTERN);
    const valid = pages.map(({ index, request, after }) => ({ index, partnerId: request.partnerId, after, limit: request.page.first + 1 }));
    const rows: Array<RegisteredOperationRow & { request: number }> = await this.dataSource.query(
      `SELECT k.request, o.* FROM unnest($1::int[], $2::text[], $3::text[], $4::int[]) AS k(request, partner_id, after_id, page_limit)
       CROSS JOIN LATERAL (
         SELECT partner_id, id, name, body, registered_by, registered_at FROM partner_operation
         WHERE partner_id = k.partner_id AND (k.after_id IS NULL OR id > k.after_id)
         ORDER BY id LIMIT k.page_limit
       ) o
       ORDER BY k.request, o.id`,
      [valid.map((v) => v.index), valid.map((v) => v.partnerId), valid.map((v) => v.after), valid.map((v) => v.limit)],
    );
    const byRequest = new Map<number, RegisteredOperation[]>();
    for (const row of rows) byRequest.set(row.request, [...(byRequest.get(row.request) ?? []), toRegistered(row)]);
    return requests.map((request, index) => {
      const cursor = cursors[index]!;
      if (cursor instanceof Error) return cursor;
      return toConnection(byRequest.get(index) ?? [], request.page, (operation) => operation.id);
    });
  }

  private invalidRegistration(partnerId: string, body: string, id: string | null | undefined): OpError<'setting'> | null {
    if (!PARTNER_ID_PATTERN.test(partnerId)) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
    if (Buffer.byteLength(body) > limits.requestBodyBytesMax)
      return fail(ErrorCode.INVALID_INPUT, `a document is at most ${limits.requestBodyBytesMax} bytes`);
    if (id !== null && id !== undefined && !ID_PATTERN.test(id))
      return fail(ErrorCode.INVALID_INPUT, 'an operation id is the lower-case hex SHA-256 of the document (64 characters)');
    if (id !== null && id !== undefined && id !== operationId(body))
      return fail(ErrorCode.INVALID_INPUT, 'the id is not the SHA-256 of this document: the document differs from the one hashed');
    return null;
  }
}

interface RegisteredOperationRow {
  partner_id: string;
  id: string;
  name: string;
  body: string;
  registered_by: string;
  registered_at: Date;
}

const toRegistered = (row: RegisteredOperationRow): RegisteredOperation => ({
  partnerId: row.partner_id,
  id: row.id,
  name: row.name,
  body: row.body,
  registeredBy: row.registered_by,
  registeredAt: row.registered_at,
});
