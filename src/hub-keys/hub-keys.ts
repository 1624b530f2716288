import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { createPrivateKey, sign as signBytes, type KeyObject } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { RECEIPT_TYP } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { queryRows } from '../db/sql';
import { withTransaction } from '../db/with-transaction';

/** Serialises key changes across instances (first start, configured keys, rotation, retirement). */
const HUB_KEY_LOCK = 7_301_002;

/** How long an instance signs with the active key it read before it reads it again. */
export const HUB_KEY_REFRESH_SECONDS_DEFAULT = 5;

/**
 * A rotated key is published at once and signs only this much later, so that verifiers holding
 * a cached JWKS fetch it before any receipt needs it: jose's remote key sets wait 30 s before
 * fetching again for an unknown kid (the partner SDK waits 1 s).
 */
export const ROTATION_ACTIVATION_SECONDS_DEFAULT = 30;
export const ROTATION_ACTIVATION_SECONDS_MAX = 86_400;

export type HubKeyAlgorithm = 'EdDSA' | 'ES256';

/** One recorded hub key, as the operator CLI lists it. */
export interface HubKeyRecord {
  kid: string;
  alg: HubKeyAlgorithm;
  origin: 'generated' | 'configured';
  createdAt: Date;
  activatedAt: Date;
  retiredAt: Date | null;
  active: boolean;
  /** Published, and active once activatedAt has passed (a rotation in progress). */
  pending: boolean;
}

/** A signature made apart from what it signs, with the `kid` of the published key that verifies it. */
export interface DetachedSignature {
  kid: string;
  signature: Uint8Array;
}

interface ActiveKey {
  kid: string;
  alg: string;
  /** node:crypto's key: it signs synchronously, at a fraction of WebCrypto's cost per signature. */
  privateKey: KeyObject;
}

/** A private JWK as a node:crypto key, refused unless it is a key for `alg` (Ed25519 for EdDSA, P-256 for ES256). */
function importPrivateKey(jwk: JWK, alg: string): KeyObject {
  const key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const fits =
    alg === 'EdDSA' ? key.asymmetricKeyType === 'ed25519' : alg === 'ES256' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!fits) throw new Error(`hub key ${jwk.kid ?? ''} is not a private key for ${alg}`);
  return key;
}

/** The signature of `bytes` as JWS puts it: Ed25519's 64 bytes, or ES256's r‖s (not DER). */
function signatureOf(key: ActiveKey, bytes: Buffer): Buffer {
  return key.alg === 'EdDSA'
    ? signBytes(null, bytes, key.privateKey)
    : signBytes('sha256', bytes, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

interface ActiveRow {
  kid: string;
  alg: string;
  private_jwk: JWK | null;
}

/** The newest activated key that is not retired: every instance signs with this one. */
export const ACTIVE_KEY_SQL =
  'SELECT kid, alg, private_jwk FROM hub_signing_key WHERE retired_at IS NULL AND activated_at <= clock_timestamp() ORDER BY activated_at DESC, kid DESC LIMIT 1';
const PUBLISHED_KEYS_SQL = 'SELECT public_jwk FROM hub_signing_key WHERE retired_at IS NULL ORDER BY activated_at DESC, kid DESC';

const algorithmOf = (jwk: JWK): string => jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : 'ES256');

/** Only the public parameters of an OKP or EC key, with what a verifier needs to pick it. */
function publicPart(jwk: JWK, kid: string, alg: string): JWK {
  const pub: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg, use: 'sig' };
  if (jwk.y !== undefined) pub.y = jwk.y;
  return pub;
}

async function generateHubKey(tx: EntityManager, alg: HubKeyAlgorithm, activateInSeconds = 0): Promise<string> {
  const { privateKey, publicKey } =
    alg === 'EdDSA'
      ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
      : await generateKeyPair('ES256', { extractable: true });
  const kid = `hub-${newId().slice(0, 8)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  const publicJwk = publicPart(await exportJWK(publicKey), kid, alg);
  // clock_timestamp(): later than any key activated before, even within one transaction.
  await tx.query(
    `INSERT INTO hub_signing_key (kid, alg, private_jwk, public_jwk, origin, created_at, activated_at)
     VALUES ($1, $2, $3, $4, 'generated', clock_timestamp(), clock_timestamp() + make_interval(secs => $5))`,
    [kid, alg, JSON.stringify(privateJwk), JSON.stringify(publicJwk), activateInSeconds],
  );
  return kid;
}

/**
 * The hub's signing keys: receipts and statements are signed with the active key, and every key
 * not retired is published at /.well-known/jwks.json, so that what was signed before a rotation
 * keeps verifying. Keys live in the database (see the hub-key-rotation migration): a key from
 * HUB_SIGNING_JWK is recorded there (public half only) and becomes active the first time it is
 * seen; without one, a key is generated once. `hub-key rotate` makes a new key active in the
 * database, published at once and active after a delay (default 30 s); each instance reads the
 * active key again every HUB_KEY_REFRESH_SECONDS (in the background), and the JWKS is read from the
 * database on every request, so a receipt signed by any instance after a rotation verifies
 * against the JWKS served by every other instance, and against a verifier's cached JWKS.
 */
export class HubKeys {
  private active: ActiveKey | undefined;
  private timer: NodeJS.Timeout | undefined;
  private published: { keys: JWK[] } | undefined;
  private reading: Promise<{ keys: JWK[] }> | undefined;

  private constructor(
    readonly hubId: string,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly configured: ActiveKey | undefined,
    private readonly refreshMs: number,
  ) {}

  static async load(
    dataSource: DataSource,
    hubId: string,
    clock: Clock,
    configured?: Record<string, unknown>,
    options: { refreshSeconds?: number; replaceConfigured?: boolean; onRefreshError?: (error: unknown) => void } = {},
  ): Promise<HubKeys> {
    let configuredKey: ActiveKey | undefined;
    if (configured) {
      const jwk = configured as JWK;
      const kid = String(jwk.kid);
      const alg = algorithmOf(jwk);
      configuredKey = { kid, alg, privateKey: importPrivateKey(jwk, alg) };
      await recordConfiguredKey(dataSource, kid, alg, publicPart(jwk, kid, alg));
    }
    const keys = new HubKeys(hubId, dataSource, clock, configuredKey, (options.refreshSeconds ?? HUB_KEY_REFRESH_SECONDS_DEFAULT) * 1000);
    const first = await withTransaction(dataSource, async (tx) => {
      const [row]: ActiveRow[] = await tx.query(ACTIVE_KEY_SQL);
      if (row && (row.private_jwk || row.kid === configuredKey?.kid)) return row;
      // No key yet, or (HUB_SIGNING_JWK removed) only configured keys: make one, once.
      await tx.query('SELECT pg_advisory_xact_lock($1)', [HUB_KEY_LOCK]);
      const [again]: ActiveRow[] = await tx.query(ACTIVE_KEY_SQL);
      if (again && (again.private_jwk || again.kid === configuredKey?.kid)) return again;
      if (again && configuredKey) return again; // another instance's configured key: importActive says what to do
      // A configured key this process was not given is replaced only by the hub itself (HUB_SIGNING_JWK
      // removed); a tool (the settlement CLI) must not swap the coalition's key on its own.
      if (again && options.replaceConfigured === false) {
        throw new Error(
          `the active hub key ${again.kid} came from HUB_SIGNING_JWK, which this process was not given: set the same HUB_SIGNING_JWK`,
        );
      }
      await generateHubKey(tx, 'EdDSA');
      const [made]: ActiveRow[] = await tx.query(ACTIVE_KEY_SQL);
      return made!;
    });
    keys.active = await keys.importActive(first);
    await keys.jwks();
    keys.startRefreshing(options.onRefreshError ?? (() => undefined));
    return keys;
  }

  private async importActive(row: ActiveRow): Promise<ActiveKey> {
    if (this.active?.kid === row.kid) return this.active;
    if (row.private_jwk) return { kid: row.kid, alg: row.alg, privateKey: importPrivateKey(row.private_jwk, row.alg) };
    if (this.configured?.kid === row.kid) return this.configured;
    throw new Error(
      `the active hub key ${row.kid} came from another instance's HUB_SIGNING_JWK, which this instance was not given: configure the same key, or run hub-key rotate`,
    );
  }

  /**
   * Reads the active key again every refresh interval, in the background: signing happens inside
   * database transactions and must never wait for a pool connection of its own.
   */
  private startRefreshing(onError: (error: unknown) => void): void {
    // A failed refresh keeps the key it had (a rotation is picked up at the next success), and says so.
    this.timer = setInterval(() => void this.refresh().catch(onError), this.refreshMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const [row]: ActiveRow[] = await this.dataSource.query(ACTIVE_KEY_SQL);
    if (row) this.active = await this.importActive(row);
  }

  /** Every recorded key, newest first. */
  list(): Promise<HubKeyRecord[]> {
    return listHubKeys(this.dataSource);
  }

  /** `hub-key rotate` through this instance; like every instance, it signs with the new key once that is active. */
  async rotate(alg: HubKeyAlgorithm = 'EdDSA', activateInSeconds = ROTATION_ACTIVATION_SECONDS_DEFAULT): Promise<HubKeyRecord> {
    const kid = await rotateHubKey(this.dataSource, alg, activateInSeconds);
    await this.refresh();
    const rotated = (await this.list()).find((key) => key.kid === kid);
    if (!rotated) throw new Error(`hub key ${kid} vanished`);
    return rotated;
  }

  /** Stops the background refresh (the hub is closing). */
  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Public keys not retired, newest first; read from the database so that every instance publishes
   * every key. Requests that arrive while a read is under way share it: a flood of JWKS requests
   * (the endpoint needs no authentication) holds at most one pool connection.
   */
  jwks(): Promise<{ keys: JWK[] }> {
    this.reading ??= this.readPublished().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readPublished(): Promise<{ keys: JWK[] }> {
    try {
      const rows: Array<{ public_jwk: JWK }> = await this.dataSource.query(PUBLISHED_KEYS_SQL);
      this.published = { keys: rows.map((row) => row.public_jwk) };
    } catch (error) {
      // The database is unreachable: what was published last still verifies what was signed.
      if (!this.published) throw error;
    }
    return this.published;
  }

  /**
   * A compact JWS (a JWT with `typ`), signed synchronously with node:crypto: the header names the
   * key's alg and kid, the payload carries the claims with the hub as issuer and `audience`.
   */
  async sign(typ: string, audience: string, claims: Record<string, unknown>, subject?: string): Promise<string> {
    return this.signNow(typ, audience, claims, subject);
  }

  private signNow(typ: string, audience: string, claims: Record<string, unknown>, subject?: string, issuedAt?: Date): string {
    const key = this.active!;
    const payload: Record<string, unknown> = {
      ...claims,
      iss: this.hubId,
      aud: audience,
      iat: Math.floor((issuedAt ?? this.clock.now()).getTime() / 1000),
    };
    if (subject) payload.sub = subject;
    const input = `${base64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ }))}.${base64url(JSON.stringify(payload))}`;
    return `${input}.${base64url(signatureOf(key, Buffer.from(input)))}`;
  }

  /** Verifies a JWS the hub signed itself (an exchange quote), at the hub's time, against the published keys. */
  async verify(jws: string, typ: string, at?: Date): Promise<JWTPayload> {
    const { payload } = await jwtVerify(jws, createLocalJWKSet(await this.jwks()), {
      typ,
      issuer: this.hubId,
      algorithms: ['EdDSA', 'ES256'],
      currentDate: at ?? this.clock.now(),
    });
    return payload;
  }

  /**
   * Signs bytes with the active key and says which key it was; the private key never leaves
   * HubKeys. Webhooks (docs/webhooks.md) use this for their `v1a` Ed25519 signature, so it
   * refuses when the active key is not an Ed25519 one.
   */
  async signDetached(bytes: Uint8Array): Promise<DetachedSignature> {
    const key = this.active!;
    if (key.alg !== 'EdDSA' || key.privateKey.asymmetricKeyType !== 'ed25519') {
      throw new Error(`the active hub key ${key.kid} is ${key.alg}, not Ed25519: rotate to an EdDSA key to sign webhooks`);
    }
    const signature = new Uint8Array(signBytes(null, bytes, key.privateKey));
    return { kid: key.kid, signature };
  }

  /**
   * Signed synchronously (node:crypto); a promise only so that callers keep one signature for signing.
   * `issuedAt` (default now) is the receipt's iat: a receipt signed again for the same instruction (its
   * first copy not stored yet) then carries the same claims, and with Ed25519 the same signature.
   */
  async signReceipt(partnerId: string, claims: Record<string, unknown>, issuedAt?: Date): Promise<string> {
    return this.signNow(RECEIPT_TYP, partnerId, claims, undefined, issuedAt);
  }
}

/**
 * Records a key from HUB_SIGNING_JWK (public half only). A kid seen for the first time becomes
 * the active key; a kid already recorded keeps its place (a rotation since then stands), and a
 * kid recorded for another key is refused rather than published twice.
 */
async function recordConfiguredKey(dataSource: DataSource, kid: string, alg: string, publicJwk: JWK): Promise<void> {
  await withTransaction(dataSource, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [HUB_KEY_LOCK]);
    const [known]: Array<{ public_jwk: JWK }> = await tx.query('SELECT public_jwk FROM hub_signing_key WHERE kid = $1', [kid]);
    if (known) {
      if (known.public_jwk.x !== publicJwk.x || known.public_jwk.y !== publicJwk.y || known.public_jwk.crv !== publicJwk.crv) {
        throw new Error(`HUB_SIGNING_JWK: kid ${kid} is already recorded for another key; give a new key a new kid`);
      }
      return;
    }
    await tx.query(
      `INSERT INTO hub_signing_key (kid, alg, private_jwk, public_jwk, origin, created_at, activated_at)
       VALUES ($1, $2, NULL, $3, 'configured', clock_timestamp(), clock_timestamp())`,
      [kid, alg, JSON.stringify(publicJwk)],
    );
  });
}

/** Every recorded key, newest first. */
export async function listHubKeys(dataSource: DataSource): Promise<HubKeyRecord[]> {
  const rows: Array<{
    kid: string;
    alg: HubKeyAlgorithm;
    origin: 'generated' | 'configured';
    created_at: Date;
    activated_at: Date;
    retired_at: Date | null;
    pending: boolean;
  }> = await dataSource.query(
    'SELECT kid, alg, origin, created_at, activated_at, retired_at, activated_at > clock_timestamp() AS pending FROM hub_signing_key ORDER BY activated_at DESC, kid DESC',
  );
  const [active]: Array<{ kid: string }> = await dataSource.query(ACTIVE_KEY_SQL);
  return rows.map((row) => ({
    kid: row.kid,
    alg: row.alg,
    origin: row.origin,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    active: row.kid === active?.kid,
    pending: row.pending && row.retired_at === null,
  }));
}

/**
 * Generates a key, published at once and active after `activateInSeconds`; the previous keys
 * stay published. Returns the new kid.
 */
export function rotateHubKey(
  dataSource: DataSource,
  alg: HubKeyAlgorithm = 'EdDSA',
  activateInSeconds = ROTATION_ACTIVATION_SECONDS_DEFAULT,
): Promise<string> {
  if (!Number.isInteger(activateInSeconds) || activateInSeconds < 0 || activateInSeconds > ROTATION_ACTIVATION_SECONDS_MAX) {
    throw new RangeError(`activation delay must be a whole number of seconds from 0 to ${ROTATION_ACTIVATION_SECONDS_MAX}`);
  }
  return withTransaction(dataSource, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [HUB_KEY_LOCK]);
    return generateHubKey(tx, alg, activateInSeconds);
  });
}

export type RetireOutcome = { outcome: 'retired' | 'already-retired'; retiredAt: Date } | { outcome: 'unknown' } | { outcome: 'active' };

/** Takes a key out of the JWKS for good. The active key cannot be retired: rotate first. */
export function retireHubKey(dataSource: DataSource, kid: string): Promise<RetireOutcome> {
  return withTransaction(dataSource, async (tx): Promise<RetireOutcome> => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [HUB_KEY_LOCK]);
    const [row]: Array<{ retired_at: Date | null }> = await tx.query('SELECT retired_at FROM hub_signing_key WHERE kid = $1', [kid]);
    if (!row) return { outcome: 'unknown' };
    if (row.retired_at) return { outcome: 'already-retired', retiredAt: row.retired_at };
    const [active]: Array<{ kid: string }> = await tx.query(ACTIVE_KEY_SQL);
    if (active?.kid === kid) return { outcome: 'active' };
    const [retired] = await queryRows<{ retired_at: Date }>(
      tx,
      'UPDATE hub_signing_key SET retired_at = clock_timestamp() WHERE kid = $1 RETURNING retired_at',
      [kid],
    );
    return { outcome: 'retired', retiredAt: retired!.retired_at };
  });
}
