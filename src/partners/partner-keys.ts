import { importJWK } from 'jose';
import { DomainError, ErrorCode, fail } from '../common/errors';
import { limits } from '../config/limits';
import type { PartnerAlgorithm } from '@coalition-hub/partner-sdk';

export interface ValidPublicKey {
  kid: string;
  alg: PartnerAlgorithm;
  publicJwk: Record<string, unknown>;
}

const KID = /^[\x21-\x7E]{1,128}$/;

/**
 * Accepts an Ed25519 (EdDSA) or P-256 (ES256) public JWK with a kid, and keeps only its
 * public members. A JWK with private material is refused: it must never reach the hub.
 */
export async function validatePublicJwk(input: unknown): Promise<ValidPublicKey | DomainError> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail(ErrorCode.INVALID_PARTNER_KEY, 'a key must be a JWK object');
  const jwk = input as Record<string, unknown>;
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK holds private or symmetric key material; send the public key only');
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid) || jwk.kid.length > limits.referenceLengthMax) {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK needs a kid of 1 to 128 printable characters');
  }
  let alg: PartnerAlgorithm;
  let publicJwk: Record<string, unknown>;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    alg = 'EdDSA';
    publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    alg = 'ES256';
    publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  } else {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'only Ed25519 (EdDSA) and P-256 (ES256) keys are accepted');
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) return fail(ErrorCode.INVALID_PARTNER_KEY, `a ${String(jwk.crv)} key is used with ${alg}, not ${String(jwk.alg)}`);
  try {
    await importJWK(publicJwk, alg);
  } catch {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK is not a valid public key');
  }
  return { kid: jwk.kid, alg, publicJwk: { ...publicJwk, kid: jwk.kid, alg, use: 'sig' } };
}
