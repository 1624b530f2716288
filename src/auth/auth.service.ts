import { decodeJwt } from 'jose';
import { ACCESS_TOKEN_LIFETIME_SECONDS_MAX, ACCESS_TOKEN_TYP, CLOCK_SKEW_SECONDS_MAX, REFERENCE_PATTERN } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { ErrorCode, isDomainError } from '../common/errors';
import type { Config } from '../config/config';
import type { PartnerService } from '../partners/partner.service';
import type { Signer, SignerKey } from '../common/signer';
import { isPartnerAlgorithm, verifySigned } from '../instructions/verify-signed';
import { unauthenticated } from '../common/auth-errors';
import type { Viewer } from '../common/viewer';

/** Verification speaks of instructions; a refused bearer token gets the same reason in token words. */
const TOKEN_REASONS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.MALFORMED_INSTRUCTION]: 'MALFORMED_TOKEN',
  [ErrorCode.UNSIGNED_INSTRUCTION]: 'UNSIGNED_TOKEN',
  [ErrorCode.INSTRUCTION_EXPIRED]: 'TOKEN_EXPIRED',
  [ErrorCode.INSTRUCTION_NOT_YET_VALID]: 'TOKEN_NOT_YET_VALID',
};

/** Who an operator or finance token names (recorded with what they do): no control characters. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point of this pattern
const STAFF_SUBJECT = /^[^\u0000-\u001f\u007f]{1,128}$/;

/** Tokens remembered as verified (see AuthService): at most this many, the oldest forgotten first. */
export const VERIFIED_TOKENS_MAX = 10_000;

/** A token that passed verification, with what its verification depended on besides its own text. */
interface VerifiedToken {
  viewer: Viewer;
  /** The signer's id, the operator key set's too. */
  issuer: string;
  /** The registered key it was verified with: the very object the signer look-up answered then. */
  key: SignerKey;
  iat: number;
  nbf: number | undefined;
  exp: number;
}

/**
 * Bearer tokens for reads. Operators and finance present a JWT signed by an operator key from
 * config; partners and their logged-in members present one signed by the partner's own key.
 *
 * An app sends the same token with every request until it expires, so a token that passed
 * verification is remembered by its exact text: the same text again skips the signature check (whose
 * outcome depends on that text and the key only) and everything else is checked again — the signer
 * look-up must answer the same key object, still active, of a signer not suspended (the partner key
 * cache answers a new object after any change to the partner, src/partners/signer-cache.ts), and the
 * token's times must still hold at the hub's now. Anything else sends the token through full
 * verification again, which then refuses it with its reason.
 */
export class AuthService {
  private readonly operatorSigner: Signer;
  private readonly verifiedTokens = new Map<string, VerifiedToken>();

  constructor(
    private readonly config: Config,
    private readonly partners: PartnerService,
    private readonly clock: Clock,
  ) {
    const keys = new Map<string, SignerKey>();
    for (const jwk of config.operatorJwks.keys) {
      const alg = typeof jwk.alg === 'string' ? jwk.alg : jwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
      if (isPartnerAlgorithm(alg)) keys.set(String(jwk.kid), { kid: String(jwk.kid), alg, status: 'active', publicJwk: jwk });
    }
    this.operatorSigner = { id: config.operatorIssuer, suspended: false, keys };
  }

  async authenticate(authorization: string | undefined): Promise<Viewer> {
    if (authorization === undefined || authorization === '') return { kind: 'anonymous' };
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <token>"', 'MALFORMED_TOKEN');
    const token = match[1];
    const remembered = this.verifiedTokens.get(token);
    if (remembered) {
      if (await this.stillValid(remembered)) return remembered.viewer;
      this.verifiedTokens.delete(token);
    }
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw unauthenticated('the bearer token is not a JWT', 'MALFORMED_TOKEN');
    }
    const operator = issuer === this.config.operatorIssuer;
    const verified = await verifySigned(token, (iss) => (operator ? Promise.resolve(this.operatorSigner) : this.partners.findSigner(iss)), {
      typ: ACCESS_TOKEN_TYP,
      audience: this.config.hubId,
      lifetimeSecondsMax: ACCESS_TOKEN_LIFETIME_SECONDS_MAX,
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'sub'],
      clock: this.clock,
    });
    if (isDomainError(verified))
      throw unauthenticated(`bearer token refused: ${verified.message}`, TOKEN_REASONS[verified.code] ?? verified.code);
    const { scope, sub } = verified.claims as { scope?: unknown; sub?: unknown };
    if (typeof sub !== 'string' || sub.length === 0) throw unauthenticated('the token has no subject', 'MALFORMED_TOKEN');
    // The subject is stored and compared in queries: it must be what such a subject can be.
    if (!(operator ? STAFF_SUBJECT : REFERENCE_PATTERN).test(sub)) {
      throw unauthenticated(
        `the token subject is not ${operator ? 'a staff name (1 to 128 characters, no control characters)' : 'a member reference (1 to 128 printable ASCII characters)'}`,
        'MALFORMED_TOKEN',
      );
    }
    const viewer = viewerOf(operator, scope, sub, verified.signer.id);
    const key = verified.signer.keys.get(verified.kid);
    const { iat, nbf, exp } = verified.claims;
    if (key && typeof iat === 'number' && typeof exp === 'number' && (nbf === undefined || typeof nbf === 'number')) {
      if (this.verifiedTokens.size >= VERIFIED_TOKENS_MAX) this.verifiedTokens.delete(this.verifiedTokens.keys().next().value!);
      this.verifiedTokens.set(token, { viewer, issuer: verified.signer.id, key, iat, nbf, exp });
    }
    return viewer;
  }

  /** Whether a remembered token would pass verification now: same key object, still active, signer not suspended, times hold. */
  private async stillValid({ issuer, key, iat, nbf, exp }: VerifiedToken): Promise<boolean> {
    const signer = issuer === this.config.operatorIssuer ? this.operatorSigner : await this.partners.findSigner(issuer);
    if (!signer || signer.suspended || signer.keys.get(key.kid) !== key || key.status !== 'active') return false;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return (
      exp > now - CLOCK_SKEW_SECONDS_MAX &&
      iat <= now + CLOCK_SKEW_SECONDS_MAX &&
      (nbf === undefined || nbf <= now + CLOCK_SKEW_SECONDS_MAX)
    );
  }
}

/** Who a verified token names, by its issuer, scope and subject; frozen, as it may serve several requests. */
function viewerOf(operator: boolean, scope: unknown, sub: string, signerId: string): Viewer {
  if (operator) {
    if (scope === 'operator' || scope === 'finance') return Object.freeze({ kind: 'operator', role: scope, subject: sub });
  } else if (scope === 'partner' && sub === signerId) {
    return Object.freeze({ kind: 'partner', partnerId: signerId });
  } else if (scope === 'member') {
    return Object.freeze({ kind: 'member', partnerId: signerId, memberRef: sub });
  }
  throw unauthenticated(`scope ${JSON.stringify(scope)} is not allowed for this issuer`, 'WRONG_SCOPE');
}
