import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { CLOCK_SKEW_SECONDS_MAX, PARTNER_ALGORITHMS, type PartnerAlgorithm } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { DomainError, ErrorCode, fail } from '../common/errors';
import type { InstructionRejection } from '../common/op-errors';
import { limits } from '../config/limits';
import type { Signer, SignerKey, SignerLookup } from '../common/signer';
import { decodeSegmentText, strictJsonProblem } from './strict-json';

/**
 * Verifies a compact JWS signed by a registered key: partner instructions and partner/member
 * access tokens go through here, operator tokens too (with the operator key set). Every way it
 * can be refused has its own error code, checked in a fixed order:
 * shape (one meaning: no duplicate member names, see strict-json.ts) → unsigned → algorithm → typ → signer and key → signature → time and audience → signer status.
 */
export interface VerifyOptions {
  typ: string;
  audience: string;
  lifetimeSecondsMax: number;
  requiredClaims: string[];
  clock: Clock;
}

export interface Verified {
  signer: Signer;
  kid: string;
  claims: JWTPayload;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Imported keys by JWK content: importing is costly, and a key's content never changes. */
const importedKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();
const IMPORTED_KEYS_MAX = 1000;

function importKey(key: SignerKey): Promise<CryptoKey | Uint8Array> {
  const cacheKey = createHash('sha256')
    .update(`${key.alg}:${JSON.stringify(key.publicJwk)}`)
    .digest('hex');
  let imported = importedKeys.get(cacheKey);
  if (!imported) {
    if (importedKeys.size >= IMPORTED_KEYS_MAX) importedKeys.clear();
    imported = importJWK(key.publicJwk, key.alg);
    importedKeys.set(cacheKey, imported);
  }
  return imported;
}

export const isPartnerAlgorithm = (alg: unknown): alg is PartnerAlgorithm =>
  typeof alg === 'string' && (PARTNER_ALGORITHMS as readonly string[]).includes(alg);

function mapJoseError(error: unknown): DomainError<InstructionRejection> {
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return fail(ErrorCode.INVALID_SIGNATURE, 'the signature does not match the payload and key');
  if (error instanceof errors.JWTExpired) return fail(ErrorCode.INSTRUCTION_EXPIRED, 'the token has expired (exp is in the past)');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return fail(ErrorCode.WRONG_AUDIENCE, 'the token is addressed to another audience');
    if (error.claim === 'nbf' && error.reason === 'check_failed')
      return fail(ErrorCode.INSTRUCTION_NOT_YET_VALID, 'the token is not valid yet (nbf)');
    if (error.claim === 'iat' && error.reason === 'check_failed')
      return fail(ErrorCode.INSTRUCTION_NOT_YET_VALID, 'the token was issued in the future (iat)');
    return fail(ErrorCode.MALFORMED_INSTRUCTION, `claim ${error.claim}: ${error.message}`);
  }
  return fail(ErrorCode.MALFORMED_INSTRUCTION, 'the token is not a valid JWS/JWT');
}

/**
 * Refuses a header or payload that is not exactly one JSON text of plain UTF-8 with unique member
 * names, before anything else reads it: what was signed must have one meaning for every reader.
 */
function ambiguousSegment(jws: string): string | null {
  const [header, payload] = jws.split('.');
  for (const [name, segment] of [
    ['header', header],
    ['payload', payload],
  ] as const) {
    const text = decodeSegmentText(segment ?? '');
    if (typeof text !== 'string') return `the ${name} is ${text.problem}`;
    const problem = strictJsonProblem(text);
    if (problem !== null) return `the ${name} is not strict JSON: ${problem}`;
  }
  return null;
}

export async function verifySigned(
  jws: unknown,
  lookup: SignerLookup,
  options: VerifyOptions,
): Promise<Verified | DomainError<InstructionRejection>> {
  if (typeof jws !== 'string' || jws.length > limits.instructionBytesMax || !COMPACT_JWS.test(jws)) {
    return fail(ErrorCode.MALFORMED_INSTRUCTION, `expected a compact JWS of at most ${limits.instructionBytesMax} bytes`);
  }
  const ambiguous = ambiguousSegment(jws);
  if (ambiguous) return fail(ErrorCode.MALFORMED_INSTRUCTION, ambiguous);
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(jws);
    unverified = decodeJwt(jws);
  } catch {
    return fail(ErrorCode.MALFORMED_INSTRUCTION, 'the header or payload is not base64url JSON');
  }
  if (header.alg !== undefined && typeof header.alg !== 'string')
    return fail(ErrorCode.MALFORMED_INSTRUCTION, 'header alg must be a string');
  if (header.alg === undefined || header.alg.toLowerCase() === 'none' || jws.endsWith('.')) {
    return fail(ErrorCode.UNSIGNED_INSTRUCTION, 'the token carries no signature');
  }
  if (!isPartnerAlgorithm(header.alg)) {
    return fail(ErrorCode.ALGORITHM_NOT_ALLOWED, `algorithm ${header.alg} is not allowed; use one of ${PARTNER_ALGORITHMS.join(', ')}`);
  }
  if (header.typ !== options.typ) return fail(ErrorCode.MALFORMED_INSTRUCTION, `header typ must be ${options.typ}`);
  if (typeof unverified.iss !== 'string' || unverified.iss.length === 0)
    return fail(ErrorCode.MALFORMED_INSTRUCTION, 'claim iss is missing');

  const signer = await lookup(unverified.iss);
  if (!signer) return fail(ErrorCode.UNKNOWN_PARTNER, `no partner ${unverified.iss} is registered`);
  const key = typeof header.kid === 'string' ? signer.keys.get(header.kid) : undefined;
  if (!key) return fail(ErrorCode.UNKNOWN_SIGNING_KEY, `no key ${String(header.kid)} is registered for ${signer.id}`);
  if (key.status === 'revoked') return fail(ErrorCode.SIGNING_KEY_REVOKED, `key ${key.kid} was revoked`);
  if (key.alg !== header.alg) return fail(ErrorCode.ALGORITHM_NOT_ALLOWED, `key ${key.kid} is registered for ${key.alg}`);

  let claims: JWTPayload;
  try {
    const verified = await jwtVerify(jws, await importKey(key), {
      algorithms: [key.alg],
      typ: options.typ,
      issuer: signer.id,
      audience: options.audience,
      clockTolerance: CLOCK_SKEW_SECONDS_MAX,
      currentDate: options.clock.now(),
      requiredClaims: options.requiredClaims,
    });
    claims = verified.payload;
  } catch (error) {
    return mapJoseError(error);
  }
  const nowSeconds = Math.floor(options.clock.now().getTime() / 1000);
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number')
    return fail(ErrorCode.MALFORMED_INSTRUCTION, 'claims iat and exp are required');
  if (claims.iat > nowSeconds + CLOCK_SKEW_SECONDS_MAX)
    return fail(ErrorCode.INSTRUCTION_NOT_YET_VALID, 'the token was issued in the future (iat)');
  if (claims.exp - claims.iat > options.lifetimeSecondsMax) {
    return fail(ErrorCode.MALFORMED_INSTRUCTION, `exp may be at most ${options.lifetimeSecondsMax} s after iat`);
  }
  if (signer.suspended) return fail(ErrorCode.PARTNER_SUSPENDED, `partner ${signer.id} is suspended`);
  return { signer, kid: key.kid, claims };
}
