import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';

/**
 * Settlement statements (docs/settlement.md in the hub's repository): the hub signs, per partner and period, a JWS whose
 * `digest` claim is the SHA-256 (hex) of the statement's canonical form: the RFC 8785 JSON of
 * the header, of every line in order and of the totals, each followed by a newline. The digest
 * is computed incrementally, so a statement of a million lines never has to be held at once.
 */
export const STATEMENT_TYP = 'coalition-statement+jwt';

export interface StatementHeader {
  format: 'coalition-statement/1';
  statementId: string;
  hub: string;
  partner: string;
  period: string;
  periodStart: string;
  cutoff: string;
  currency: string;
}

export interface StatementLine {
  /** 1-based position in the statement. */
  line: string;
  entry: string;
  seq: string;
  recordedAt: string;
  kind: string;
  points: string;
  /** Money (minor units) per CP the line used; null for adjustments. */
  price: string | null;
  /** Positive: the partner owes the hub; negative: the hub owes the partner. */
  moneyMinor: string;
  orderRef: string | null;
  /** The reversed entry, or the dispute an adjustment resolves. */
  reference: string | null;
}

export interface StatementKindTotal {
  lines: string;
  points: string;
  moneyMinor: string;
}

export interface StatementTotals {
  lines: string;
  byKind: Record<string, StatementKindTotal>;
  netMinor: string;
}

export interface StatementDocument {
  header: StatementHeader;
  lines: StatementLine[];
  totals: StatementTotals;
}

export interface StatementClaims extends JWTPayload {
  statementId: string;
  partner: string;
  period: string;
  currency: string;
  lines: string;
  netMinor: string;
  digest: string;
}

function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('not JSON');
  return `${text}\n`;
}

/** Feed the header, then each line in order, then the totals; `digest()` gives the hex SHA-256. */
export class StatementDigest {
  private readonly hash = createHash('sha256');
  header(header: StatementHeader): this {
    this.hash.update(canonical(header));
    return this;
  }
  line(line: StatementLine): this {
    this.hash.update(canonical(line));
    return this;
  }
  totals(totals: StatementTotals): this {
    this.hash.update(canonical(totals));
    return this;
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export function statementDigest(document: StatementDocument): string {
  const digest = new StatementDigest().header(document.header);
  for (const line of document.lines) digest.line(line);
  return digest.totals(document.totals).digest();
}

export interface VerifyStatementOptions {
  /** The hub's public keys (from /.well-known/jwks.json, see hubJwks). */
  jwks: { keys: JWK[] };
  /** The hub id (`iss`). */
  hubId: string;
  /** Your partner id (`aud`); omit to accept a statement for anyone (finance). */
  partnerId?: string;
}

/**
 * Checks the hub's signature on a statement and that the document is exactly what was signed:
 * same digest, same partner, period, line count and net. Throws on any difference.
 */
export async function verifyStatement(document: StatementDocument, jws: string, options: VerifyStatementOptions): Promise<StatementClaims> {
  const { payload } = await jwtVerify(jws, createLocalJWKSet(options.jwks), {
    typ: STATEMENT_TYP,
    issuer: options.hubId,
    audience: options.partnerId,
    algorithms: ['EdDSA', 'ES256'],
  });
  const claims = payload as StatementClaims;
  const computed = statementDigest(document);
  const problems: string[] = [];
  if (claims.digest !== computed) problems.push(`digest ${computed} is not the signed ${claims.digest}`);
  if (claims.statementId !== document.header.statementId) problems.push('statement id differs');
  if (claims.partner !== document.header.partner) problems.push('partner differs');
  if (claims.period !== document.header.period) problems.push('period differs');
  if (claims.lines !== String(document.lines.length)) problems.push('line count differs');
  if (claims.netMinor !== document.totals.netMinor) problems.push('net differs');
  if (problems.length > 0) throw new Error(`statement does not match its signature: ${problems.join('; ')}`);
  return claims;
}
