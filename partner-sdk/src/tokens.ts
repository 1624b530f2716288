/**
 * Access tokens: short-lived bearer JWTs for GraphQL reads. They are self-signed by whoever holds
 * a registered key (a partner, or the operator), so the hub needs no session store.
 */
import { SignJWT } from 'jose';
import { checkReference } from './fields';
import type { SigningKey } from './keys';
import { ACCESS_TOKEN_LIFETIME_SECONDS_DEFAULT, ACCESS_TOKEN_LIFETIME_SECONDS_MAX, ACCESS_TOKEN_TYP, SCOPES, type Scope } from './protocol';
import { checkKey, checkLifetime, epochSeconds } from './signing';

export interface AccessTokenInput {
  /** partnerId for partner/member tokens; the operator issuer (e.g. 'coalition-operator') for operator/finance. */
  issuer: string;
  /** partnerId (scope 'partner'), the partner's member reference ('member'), a person/service name (operator/finance). */
  subject: string;
  scope: Scope;
  /** The hub id. */
  audience: string;
  key: SigningKey;
  /** Default ACCESS_TOKEN_LIFETIME_SECONDS_DEFAULT, at most ACCESS_TOKEN_LIFETIME_SECONDS_MAX. */
  lifetimeSeconds?: number;
  now?: Date;
}

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  scope: Scope;
}

/** Signs an access token; send it as `Authorization: Bearer <token>`. */
export async function signAccessToken(input: AccessTokenInput): Promise<string> {
  const { issuer, subject, scope, audience, key } = input;
  if (!(SCOPES as readonly string[]).includes(scope)) throw new TypeError(`scope must be one of ${SCOPES.join(', ')}`);
  checkReference('issuer', issuer);
  checkReference('subject', subject);
  checkReference('audience', audience);
  // A partner token speaks for the partner itself; any other subject would be a member token in disguise.
  if (scope === 'partner' && subject !== issuer) throw new TypeError('a partner token must have subject = issuer');
  checkKey(key);
  const lifetime = checkLifetime(input.lifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS_DEFAULT, ACCESS_TOKEN_LIFETIME_SECONDS_MAX);
  const iat = epochSeconds(input.now);
  const claims: AccessTokenClaims = { iss: issuer, sub: subject, aud: audience, iat, exp: iat + lifetime, scope };
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP }).sign(key.privateKey);
}
