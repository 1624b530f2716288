import { decodeJwt } from 'jose';
import { ACCESS_TOKEN_LIFETIME_SECONDS_MAX, ACCESS_TOKEN_TYP, REFERENCE_PATTERN } from '@coalition-hub/partner-sdk';
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

/**
 * Bearer tokens for reads. Operators and finance present a JWT signed by an operator key from
 * config; partners and their logged-in members present one signed by the partner's own key.
 */
export class AuthService {
  private readonly operatorSigner: Signer;

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
    if (operator) {
      if (scope === 'operator' || scope === 'finance') return { kind: 'operator', role: scope, subject: sub };
    } else if (scope === 'partner' && sub === verified.signer.id) {
      return { kind: 'partner', partnerId: verified.signer.id };
    } else if (scope === 'member') {
      return { kind: 'member', partnerId: verified.signer.id, memberRef: sub };
    }
    throw unauthenticated(`scope ${JSON.stringify(scope)} is not allowed for this issuer`, 'WRONG_SCOPE');
  }
}
