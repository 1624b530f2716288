/**
 * Partner signing keys. The private half stays with the partner; the public JWK is handed to
 * the hub operator once, who registers it under the partner's id and `kid`.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { PARTNER_ALGORITHMS, type PartnerAlgorithm } from './protocol';

/** What signing needs: the header's `kid`/`alg` and the private key. Operator keys have this shape too. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: PartnerAlgorithm;
  readonly privateKey: CryptoKey;
}

export interface PartnerKey extends SigningKey {
  /** Public JWK with `kid`, `alg` and `use: 'sig'`: this is what the operator registers. */
  readonly publicJwk: JWK;
}

/** The curve each algorithm is pinned to, so that an imported JWK cannot smuggle in another one. */
const KEY_SHAPE: Record<PartnerAlgorithm, { kty: string; crv: string; publicParams: readonly string[] }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', publicParams: ['kty', 'crv', 'x'] },
  ES256: { kty: 'EC', crv: 'P-256', publicParams: ['kty', 'crv', 'x', 'y'] },
};

export function isPartnerAlgorithm(alg: unknown): alg is PartnerAlgorithm {
  return typeof alg === 'string' && (PARTNER_ALGORITHMS as readonly string[]).includes(alg);
}

function assertKid(kid: unknown): asserts kid is string {
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) {
    throw new TypeError('kid must be a string of 1..128 characters');
  }
}

/** Copies only the public parameters, so that no private member (`d`) can leak into `publicJwk`. */
function publicJwkOf(jwk: JWK, alg: PartnerAlgorithm, kid: string): JWK {
  const pub: JWK = {};
  for (const param of KEY_SHAPE[alg].publicParams) {
    const value = (jwk as Record<string, unknown>)[param];
    if (typeof value !== 'string') throw new TypeError(`JWK lacks "${param}"`);
    (pub as Record<string, unknown>)[param] = value;
  }
  return { ...pub, kid, alg, use: 'sig' };
}

/** Generates a fresh key. The private key is extractable so that it can be stored with exportPrivateJwk. */
export async function generatePartnerKey(alg: PartnerAlgorithm = 'EdDSA', kid?: string): Promise<PartnerKey> {
  if (!isPartnerAlgorithm(alg)) throw new TypeError(`alg must be one of ${PARTNER_ALGORITHMS.join(', ')}`);
  const keyId = kid ?? `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
  assertKid(keyId);
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid: keyId, alg, privateKey, publicJwk: publicJwkOf(await exportJWK(publicKey), alg, keyId) };
}

/** The private JWK (with `kid`, `alg`, `use`) for storage in a secret manager. Treat it as a secret. */
export async function exportPrivateJwk(key: SigningKey): Promise<JWK> {
  if (!key.privateKey.extractable) throw new TypeError('private key is not extractable');
  const jwk = await exportJWK(key.privateKey);
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

/** Inverse of exportPrivateJwk. Rejects keys for any algorithm outside PARTNER_ALGORITHMS. */
export async function importPartnerKey(privateJwk: JWK): Promise<PartnerKey> {
  const { alg, kid } = privateJwk;
  if (!isPartnerAlgorithm(alg)) throw new TypeError(`JWK alg must be one of ${PARTNER_ALGORITHMS.join(', ')}`);
  assertKid(kid);
  const shape = KEY_SHAPE[alg];
  if (privateJwk.kty !== shape.kty || privateJwk.crv !== shape.crv) {
    throw new TypeError(`an ${alg} key must be kty ${shape.kty}, crv ${shape.crv}`);
  }
  if (typeof privateJwk.d !== 'string') throw new TypeError('JWK is not a private key (no "d")');
  if (privateJwk.use !== undefined && privateJwk.use !== 'sig') throw new TypeError('JWK use must be "sig"');
  // Extractable so that an imported key can be exported again (e.g. to move it to another store).
  const privateKey = await importJWK(privateJwk, alg, { extractable: true });
  if (privateKey instanceof Uint8Array) throw new TypeError('JWK is a symmetric key');
  return { kid, alg, privateKey, publicJwk: publicJwkOf(privateJwk, alg, kid) };
}
