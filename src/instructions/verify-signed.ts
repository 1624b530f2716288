import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
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
 * The signature is checked with node:crypto's synchronous verify (Ed25519, or P-256 with the JWS
 * signature encoding r‖s); the claims as a JWT library checks them (docs/architecture.md, "Verification").
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
const importedKeys = new Map<string, KeyObject | Error>();
const IMPORTED_KEYS_MAX = 1000;

function importKey(key: SignerKey): KeyObject | Error {
  const cacheKey = createHash('sha256')
    .update(`${key.alg}:${JSON.stringify(key.publicJwk)}`)
    .digest('hex');
  let imported = importedKeys.get(cacheKey);
  if (!imported) {
    if (importedKeys.size >= IMPORTED_KEYS_MAX) importedKeys.clear();
    imported = toKeyObject(key);
    importedKeys.set(cacheKey, imported);
  }
  return imported;
}

/** The public key of a JWK, for the algorithm it is registered with (an Ed25519 key for EdDSA, a P-256 key for ES256). */
function toKeyObject(key: SignerKey): KeyObject | Error {
  const { kty, crv, x, y } = key.publicJwk as { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown };
  const expected = key.alg === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519' } : key.alg === 'ES256' ? { kty: 'EC', crv: 'P-256' } : null;
  if (!expected || kty !== expected.kty || crv !== expected.crv) return new Error(`key ${key.kid} is not a ${key.alg} key`);
  try {
    const jwk = kty === 'OKP' ? { kty, crv, x } : { kty, crv, x, y };
    return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    return error as Error;
  }
}

/** True when the signature is the key's over the signing input; false for any signature that is not (wrong length too). */
function signatureMatches(alg: string, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  try {
    const data = Buffer.from(signingInput, 'ascii');
    if (alg === 'EdDSA') return verifySignature(null, data, key, signature);
    return verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** A JWT claim check that failed, as the claim and why. */
class ClaimError extends Error {
  constructor(
    readonly claim: string,
    readonly reason: 'missing' | 'invalid' | 'check_failed' | 'expired',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The registered claims, checked as RFC 7519 and the JWT library the hub used before have them checked, in the
 * same order: presence (iss, aud, then the required ones last to first), issuer, audience, then the dates.
 */
function checkClaims(claims: JWTPayload, issuer: string, options: VerifyOptions): ClaimError | null {
  const presence = [...new Set([...options.requiredClaims, 'aud', 'iss'].reverse())];
  for (const claim of presence) {
    if (!Object.hasOwn(claims, claim)) return new ClaimError(claim, 'missing', `missing required "${claim}" claim`);
  }
  if (claims.iss !== issuer) return new ClaimError('iss', 'check_failed', 'unexpected "iss" claim value');
  const aud = claims.aud as unknown;
  if (!(typeof aud === 'string' ? aud === options.audience : Array.isArray(aud) ? aud.includes(options.audience) : false)) {
    return new ClaimError('aud', 'check_failed', 'unexpected "aud" claim value');
  }
  const now = Math.floor(options.clock.now().getTime() / 1000);
  for (const claim of ['iat', 'nbf'] as const) {
    if (claims[claim] !== undefined && typeof claims[claim] !== 'number')
      return new ClaimError(claim, 'invalid', `"${claim}" claim must be a number`);
  }
  if (claims.nbf !== undefined && claims.nbf > now + CLOCK_SKEW_SECONDS_MAX)
    return new ClaimError('nbf', 'check_failed', '"nbf" claim timestamp check failed');
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') return new ClaimError('exp', 'invalid', '"exp" claim must be a number');
    if (claims.exp <= now - CLOCK_SKEW_SECONDS_MAX) return new ClaimError('exp', 'expired', '"exp" claim timestamp check failed');
  }
  return null;
}

function claimRefusal(error: ClaimError): DomainError<InstructionRejection> {
  if (error.reason === 'expired') return fail(ErrorCode.INSTRUCTION_EXPIRED, 'the token has expired (exp is in the past)');
  if (error.claim === 'aud') return fail(ErrorCode.WRONG_AUDIENCE, 'the token is addressed to another audience');
  if (error.claim === 'nbf' && error.reason === 'check_failed')
    return fail(ErrorCode.INSTRUCTION_NOT_YET_VALID, 'the token is not valid yet (nbf)');
  return fail(ErrorCode.MALFORMED_INSTRUCTION, `claim ${error.claim}: ${error.message}`);
}

const NOT_A_JWS = 'the token is not a valid JWS/JWT';

/**
 * The "crit" header as JWS has it: absent, or naming only extensions the hub knows (just "b64") that the protected
 * header carries. Returns whether the payload is base64url-encoded (b64), or null when the header is not acceptable.
 */
function payloadEncoded(header: Record<string, unknown>): boolean | null {
  const crit = header.crit;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== 'string' || name.length === 0)) return null;
  if (new Set(crit).size !== crit.length) return null;
  for (const name of crit) if (name !== 'b64' || header.b64 === undefined) return null;
  return typeof header.b64 === 'boolean' ? header.b64 : null;
}

export const isPartnerAlgorithm = (alg: unknown): alg is PartnerAlgorithm =>
  typeof alg === 'string' && (PARTNER_ALGORITHMS as readonly string[]).includes(alg);

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

  const imported = importKey(key);
  if (imported instanceof Error) return fail(ErrorCode.MALFORMED_INSTRUCTION, NOT_A_JWS);
  const encoded = payloadEncoded(header as Record<string, unknown>);
  if (encoded === null) return fail(ErrorCode.MALFORMED_INSTRUCTION, NOT_A_JWS);
  const [headerSegment, payloadSegment, signatureSegment] = jws.split('.') as [string, string, string];
  // base64url of a whole number of bytes never leaves one character over.
  if (signatureSegment.length % 4 === 1) return fail(ErrorCode.MALFORMED_INSTRUCTION, NOT_A_JWS);
  if (!signatureMatches(key.alg, imported, `${headerSegment}.${payloadSegment}`, Buffer.from(signatureSegment, 'base64url'))) {
    return fail(ErrorCode.INVALID_SIGNATURE, 'the signature does not match the payload and key');
  }
  // A signed payload that is not base64url (b64: false) is a JWS but never a JWT.
  if (!encoded) return fail(ErrorCode.MALFORMED_INSTRUCTION, NOT_A_JWS);
  const claims = unverified;
  const claimProblem = checkClaims(claims, signer.id, options);
  if (claimProblem) return claimRefusal(claimProblem);
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
