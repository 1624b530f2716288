import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { ErrorCode, fail, isDomainError } from '../common/errors';
import type { OpError } from '../common/op-errors';
import { limits } from '../config/limits';
import { queryRows } from '../db/sql';
import { withTransaction } from '../db/with-transaction';
import { CP, ensureAccount } from '../ledger/ledger.repository';
import type { Signer, SignerKey } from '../common/signer';
import type { ContractInput } from './contract';
import type { ContractService } from './contract.service';
import { PARTNER_ID_PATTERN } from './partner-id';
import { PartnerEntity } from '../db/entities';
import { validatePublicJwk, type ValidPublicKey } from './partner-keys';
import { SIGNER_CHANNEL, SignerCache } from './signer-cache';

export interface RegisterPartnerInput {
  id: string;
  name: string;
  publicJwks: unknown[];
  canLinkMembers?: boolean | null;
  /** The first contract; unnamed terms take the defaults (par prices, 24-month lots). */
  contract?: ContractInput | null;
}

/** Registration, keys and status of partners: operator actions, and key look-up for verification. */
export class PartnerService {
  private readonly signers: SignerCache;

  /**
   * With `listenUrl`, signers are kept in memory and dropped on every change this or another hub
   * process commits (src/partners/signer-cache.ts); without it, each look-up reads the database.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly contracts: ContractService,
    options: { listenUrl?: string; logger?: Pick<Logger, 'warn'> } = {},
  ) {
    this.signers = new SignerCache((partnerId) => this.loadSigner(partnerId), options.listenUrl ?? null, options.logger);
  }

  /** Starts listening for changes made by other hub processes (until then, no signer is served from memory). */
  start(): Promise<void> {
    return this.signers.start();
  }

  close(): Promise<void> {
    return this.signers.close();
  }

  /** Calls `listener` whenever a partner's settings may have changed, here or in another hub process (see SignerCache). */
  onChange(listener: (partnerId?: string) => void): void {
    this.signers.onInvalidate(listener);
  }

  /** Tells every hub process (on commit) and this one (now) that a partner's settings changed: see SignerCache. */
  invalidate(partnerId: string): void {
    this.signers.invalidate(partnerId);
  }

  /** Whether signers are served from memory now (the listening connection is up). */
  get signersTrusted(): boolean {
    return this.signers.trusted;
  }

  /** How many times partners were forgotten here (a change made here, or heard of from another process). */
  get signerChanges(): number {
    return this.signers.changes;
  }

  /** The partner and its keys as a signer, for JWS verification: from memory while that is known to be current. */
  async findSigner(partnerId: string): Promise<Signer | null> {
    // An `iss` no partner can have names none: it never reaches the query.
    if (!PARTNER_ID_PATTERN.test(partnerId)) return null;
    return this.signers.get(partnerId);
  }

  private async loadSigner(partnerId: string): Promise<Signer | null> {
    const rows: Array<{
      id: string;
      status: string;
      kid: string | null;
      alg: string;
      key_status: 'active' | 'revoked';
      public_jwk: Record<string, unknown>;
    }> = await this.dataSource.query(
      `SELECT p.id, p.status, k.kid, k.alg, k.status AS key_status, k.public_jwk
         FROM partner p LEFT JOIN partner_key k ON k.partner_id = p.id WHERE p.id = $1`,
      [partnerId],
    );
    const first = rows[0];
    if (!first) return null;
    const keys = new Map<string, SignerKey>();
    for (const row of rows) {
      if (row.kid !== null) keys.set(row.kid, { kid: row.kid, alg: row.alg, status: row.key_status, publicJwk: row.public_jwk });
    }
    return { id: first.id, suspended: first.status === 'suspended', keys };
  }

  async register(input: RegisterPartnerInput): Promise<PartnerEntity | OpError<'partner'>> {
    if (!PARTNER_ID_PATTERN.test(input.id))
      return fail(ErrorCode.INVALID_INPUT, 'a partner id is 2 to 32 of A-Z, 0-9 and _, starting with a letter');
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) return fail(ErrorCode.INVALID_INPUT, 'a partner name is 1 to 200 characters');
    const badContract = this.contracts.validateInitial(input.contract ?? {});
    if (badContract) return badContract;
    if (input.publicJwks.length === 0 || input.publicJwks.length > limits.partnerKeysMax) {
      return fail(ErrorCode.INVALID_PARTNER_KEY, `register 1 to ${limits.partnerKeysMax} public keys`);
    }
    const keys: ValidPublicKey[] = [];
    for (const jwk of input.publicJwks) {
      const key = await validatePublicJwk(jwk);
      if (isDomainError(key)) return key;
      keys.push(key);
    }
    if (new Set(keys.map((key) => key.kid)).size !== keys.length) return fail(ErrorCode.INVALID_PARTNER_KEY, 'two keys share a kid');
    return withTransaction(this.dataSource, async (tx) => {
      const inserted: unknown[] = await tx.query(
        `INSERT INTO partner (id, name, can_link_members) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [input.id, name, input.canLinkMembers ?? false],
      );
      if (inserted.length === 0) return fail(ErrorCode.PARTNER_ALREADY_EXISTS, `partner ${input.id} already exists`);
      for (const key of keys) {
        await tx.query('INSERT INTO partner_key (partner_id, kid, alg, public_jwk) VALUES ($1, $2, $3, $4)', [
          input.id,
          key.kid,
          key.alg,
          JSON.stringify(key.publicJwk),
        ]);
      }
      await ensureAccount(tx, 'partner', input.id, CP, 'issuance');
      await ensureAccount(tx, 'partner', input.id, CP, 'redemption');
      const contract = await this.contracts.insertInitial(tx, input.id, input.contract ?? {});
      if (isDomainError(contract)) return contract;
      return this.findOrThrow(tx, input.id);
    });
  }

  async addKey(partnerId: string, jwk: unknown): Promise<PartnerEntity | OpError<'partner'>> {
    const key = await validatePublicJwk(jwk);
    if (isDomainError(key)) return key;
    return withTransaction(this.dataSource, async (tx) => {
      const partner = await this.lockOrNull(tx, partnerId);
      if (!partner) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      const [{ count }] = await tx.query('SELECT count(*)::int AS count FROM partner_key WHERE partner_id = $1 AND status = $2', [
        partnerId,
        'active',
      ]);
      if (count >= limits.partnerKeysMax)
        return fail(ErrorCode.INVALID_PARTNER_KEY, `a partner holds at most ${limits.partnerKeysMax} active keys`);
      const inserted: unknown[] = await tx.query(
        `INSERT INTO partner_key (partner_id, kid, alg, public_jwk) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING kid`,
        [partnerId, key.kid, key.alg, JSON.stringify(key.publicJwk)],
      );
      if (inserted.length === 0) return fail(ErrorCode.INVALID_PARTNER_KEY, `key ${key.kid} is already registered; rotate with a new kid`);
      await announce(tx, partnerId);
      return partner;
    }).finally(() => this.signers.invalidate(partnerId));
  }

  /** Revocation takes effect for the next request, in this hub process and in every other (see SignerCache). */
  async revokeKey(partnerId: string, kid: string): Promise<PartnerEntity | OpError<'partner'>> {
    return withTransaction(this.dataSource, async (tx) => {
      const partner = await this.lockOrNull(tx, partnerId);
      if (!partner) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      const revoked = await queryRows(
        tx,
        `UPDATE partner_key SET status = 'revoked', revoked_at = now() WHERE partner_id = $1 AND kid = $2 AND status = 'active' RETURNING kid`,
        [partnerId, kid],
      );
      if (revoked.length === 0) return fail(ErrorCode.NOT_FOUND, `partner ${partnerId} has no active key ${kid}`);
      await announce(tx, partnerId);
      return partner;
    }).finally(() => this.signers.invalidate(partnerId));
  }

  async setStatus(partnerId: string, status: 'active' | 'suspended'): Promise<PartnerEntity | OpError<'partner'>> {
    return withTransaction(this.dataSource, async (tx) => {
      const updated = await queryRows(tx, 'UPDATE partner SET status = $2 WHERE id = $1 RETURNING id', [partnerId, status]);
      if (updated.length === 0) return fail(ErrorCode.NOT_FOUND, `no partner ${partnerId}`);
      await announce(tx, partnerId);
      return this.findOrThrow(tx, partnerId);
    }).finally(() => this.signers.invalidate(partnerId));
  }

  private async lockOrNull(tx: EntityManager, partnerId: string): Promise<PartnerEntity | null> {
    return tx
      .getRepository(PartnerEntity)
      .createQueryBuilder('p')
      .setLock('pessimistic_write')
      .where('p.id = :partnerId', { partnerId })
      .getOne();
  }

  private async findOrThrow(tx: EntityManager, partnerId: string): Promise<PartnerEntity> {
    return tx.getRepository(PartnerEntity).findOneByOrFail({ id: partnerId });
  }
}

/** Tells every hub process, when the transaction commits, that the partner's keys, status or settings changed. */
export async function announce(tx: EntityManager, partnerId: string): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [SIGNER_CHANNEL, partnerId]);
}
