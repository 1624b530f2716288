import { createPublicKey, type JsonWebKey } from 'node:crypto';
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
 * Encodings of the Ed25519 points of small order (libsodium's blocklist; the sign bit is
 * ignored). A "public key" among them verifies signatures nobody made, so a partner registering
 * one could later deny what it signed.
 */
const SMALL_ORDER_ED25519 = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function isWeakEd25519(x: unknown): boolean {
  if (typeof x !== 'string') return true;
  const bytes = Buffer.from(x, 'base64url');
  if (bytes.length !== 32) return true;
  bytes[31] = bytes[31]! & 0x7f;
  return SMALL_ORDER_ED25519.includes(bytes.toString('hex'));
}

/**
 * Accepts an Ed25519 (EdDSA) or P-256 (ES256) public JWK with a kid, and keeps only its
 * public members. A JWK with private material is refused: it must never reach the hub.
 */
export async function validatePublicJwk(input: unknown): Promise<ValidPublicKey | DomainError<ErrorCode.INVALID_PARTNER_KEY>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'a key must be a JWK object');
  const jwk = input as Record<string, unknown>;
  if ('d' in jwk || 'p' in jwk || 'k' in jwk)
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK holds private or symmetric key material; send the public key only');
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid) || jwk.kid.length > limits.referenceLengthMax) {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK needs a kid of 1 to 128 printable characters');
  }
  let alg: PartnerAlgorithm;
  let publicJwk: Record<string, unknown>;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    if (isWeakEd25519(jwk.x))
      return fail(ErrorCode.INVALID_PARTNER_KEY, 'the Ed25519 key is a point of small order, which cannot prove who signed');
    alg = 'EdDSA';
    publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    alg = 'ES256';
    publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  } else {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'only Ed25519 (EdDSA) and P-256 (ES256) keys are accepted');
  }
  if (jwk.use !== undefined && jwk.use !== 'sig')
    return fail(ErrorCode.INVALID_PARTNER_KEY, `a signing key has use "sig", not ${JSON.stringify(jwk.use)}`);
  if (jwk.alg !== undefined && jwk.alg !== alg)
    return fail(ErrorCode.INVALID_PARTNER_KEY, `a ${String(jwk.crv)} key is used with ${alg}, not ${String(jwk.alg)}`);
  // The key the verifier will use (src/instructions/verify-signed.ts imports it the same way).
  try {
    createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
  } catch {
    return fail(ErrorCode.INVALID_PARTNER_KEY, 'the JWK is not a valid public key');
  }
  return { kid: jwk.kid, alg, publicJwk: { ...publicJwk, kid: jwk.kid, alg, use: 'sig' } };
}
