import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { DataSource } from 'typeorm';
import { RECEIPT_TYP } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { withTransaction } from '../db/with-transaction';

/** Serialises the first start of several instances, so that exactly one hub key is made. */
const HUB_KEY_LOCK = 7_301_002;

/**
 * The hub's signing key: receipts (and later statements) are signed with it, and its public
 * half is served at /.well-known/jwks.json. From HUB_SIGNING_JWK when set; otherwise made once
 * and kept in the database so that every instance signs with the same key.
 */
export class HubKeys {
  private constructor(
    readonly hubId: string,
    private readonly kid: string,
    private readonly alg: string,
    private readonly privateKey: CryptoKey | Uint8Array,
    private readonly publicJwks: JWK[],
    private readonly clock: Clock,
  ) {}

  static async load(dataSource: DataSource, hubId: string, clock: Clock, configured?: Record<string, unknown>): Promise<HubKeys> {
    if (configured) {
      const jwk = configured as JWK;
      const alg = jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : 'ES256');
      const { d: _private, ...publicJwk } = jwk;
      // Keys the hub signed with before (kept in the database) stay published: old receipts must verify.
      const earlier: Array<{ public_jwk: JWK }> = await dataSource.query('SELECT public_jwk FROM hub_signing_key WHERE kid <> $1 ORDER BY created_at DESC', [
        String(jwk.kid),
      ]);
      const published = [{ ...publicJwk, alg, use: 'sig' }, ...earlier.map((row) => row.public_jwk)];
      return new HubKeys(hubId, String(jwk.kid), alg, await importJWK(jwk, alg), published, clock);
    }
    const stored = await withTransaction(dataSource, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [HUB_KEY_LOCK]);
      let rows: Array<{ kid: string; alg: string; private_jwk: JWK; public_jwk: JWK }> = await tx.query(
        'SELECT kid, alg, private_jwk, public_jwk FROM hub_signing_key ORDER BY created_at DESC',
      );
      if (rows.length === 0) {
        const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
        const kid = `hub-${newId().slice(0, 8)}`;
        const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
        const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
        await tx.query('INSERT INTO hub_signing_key (kid, alg, private_jwk, public_jwk) VALUES ($1, $2, $3, $4)', [
          kid, 'EdDSA', JSON.stringify(privateJwk), JSON.stringify(publicJwk),
        ]);
        rows = [{ kid, alg: 'EdDSA', private_jwk: privateJwk, public_jwk: publicJwk }];
      }
      return rows;
    });
    const current = stored[0]!;
    return new HubKeys(hubId, current.kid, current.alg, await importJWK(current.private_jwk, current.alg), stored.map((row) => row.public_jwk), clock);
  }

  /** Public keys, newest first; old keys stay so that old receipts keep verifying. */
  jwks(): { keys: JWK[] } {
    return { keys: this.publicJwks };
  }

  async sign(typ: string, audience: string, claims: Record<string, unknown>, subject?: string): Promise<string> {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, kid: this.kid, typ })
      .setIssuer(this.hubId)
      .setAudience(audience)
      .setIssuedAt(Math.floor(this.clock.now().getTime() / 1000));
    if (subject) jwt.setSubject(subject);
    return jwt.sign(this.privateKey);
  }

  /** Verifies a JWS the hub signed itself (an exchange quote), at the hub's time. */
  async verify(jws: string, typ: string, at?: Date): Promise<JWTPayload> {
    const { payload } = await jwtVerify(jws, createLocalJWKSet({ keys: this.publicJwks }), {
      typ,
      issuer: this.hubId,
      algorithms: ['EdDSA', 'ES256'],
      currentDate: at ?? this.clock.now(),
    });
    return payload;
  }

  signReceipt(partnerId: string, claims: Record<string, unknown>): Promise<string> {
    return this.sign(RECEIPT_TYP, partnerId, claims);
  }
}
