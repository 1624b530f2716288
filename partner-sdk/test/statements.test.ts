import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { claimsFields } from '../src/fields';
import { STATEMENT_TYP, StatementDigest, statementDigest, verifyStatement, type StatementDocument } from '../src';

const document: StatementDocument = {
  header: {
    format: 'coalition-statement/1',
    statementId: '3f0c2a56-7d1e-4b8a-9c61-0e2f4d5a6b7c',
    hub: 'hub-1',
    partner: 'ACME',
    period: '7',
    periodStart: '2026-11-22T00:00:00.000Z',
    cutoff: '2026-11-23T00:00:00.000Z',
    currency: 'EUR',
  },
  lines: [
    {
      line: '1',
      entry: 'e1',
      seq: '10',
      recordedAt: '2026-11-22T10:00:00.000Z',
      kind: 'issue',
      points: '100',
      price: '1.25',
      moneyMinor: '125',
      orderRef: 'o-1',
      reference: null,
    },
    {
      line: '2',
      entry: 'e2',
      seq: '11',
      recordedAt: '2026-11-22T11:00:00.000Z',
      kind: 'redeem',
      points: '40',
      price: '0.8',
      moneyMinor: '-32',
      orderRef: null,
      reference: null,
    },
  ],
  totals: {
    lines: '2',
    byKind: { issue: { lines: '1', points: '100', moneyMinor: '125' }, redeem: { lines: '1', points: '40', moneyMinor: '-32' } },
    netMinor: '93',
  },
};

async function signedBy(claims: Record<string, unknown>) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'hub-key', alg: 'EdDSA' }] };
  const jws = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'hub-key', typ: STATEMENT_TYP })
    .setIssuer('hub-1')
    .setAudience('ACME')
    .setIssuedAt()
    .sign(privateKey);
  return { jws, jwks };
}

const claimsFor = (doc: StatementDocument) => ({
  statementId: doc.header.statementId,
  partner: 'ACME',
  period: '7',
  currency: 'EUR',
  lines: '2',
  netMinor: '93',
  digest: statementDigest(doc),
});

describe('statement digests', () => {
  it('hash the canonical form incrementally, the same as all at once, and change with any figure or key order', () => {
    const incremental = new StatementDigest().header(document.header);
    for (const line of document.lines) incremental.line(line);
    expect(incremental.totals(document.totals).digest()).toBe(statementDigest(document));
    expect(statementDigest(document)).toMatch(/^[0-9a-f]{64}$/);
    // Key order does not matter (RFC 8785), values do.
    const reordered = { ...document, header: Object.fromEntries(Object.entries(document.header).reverse()) as StatementDocument['header'] };
    expect(statementDigest(reordered)).toBe(statementDigest(document));
    const changed = structuredClone(document);
    changed.lines[1]!.moneyMinor = '-33';
    expect(statementDigest(changed)).not.toBe(statementDigest(document));
    const swapped = { ...document, lines: [document.lines[1]!, document.lines[0]!] };
    expect(statementDigest(swapped)).not.toBe(statementDigest(document));
  });

  it('verifyStatement accepts the signed document and refuses a tampered one, another audience or a wrong count', async () => {
    const { jws, jwks } = await signedBy(claimsFor(document));
    await expect(verifyStatement(document, jws, { jwks, hubId: 'hub-1', partnerId: 'ACME' })).resolves.toMatchObject({ netMinor: '93' });
    const tampered = structuredClone(document);
    tampered.totals.netMinor = '94';
    await expect(verifyStatement(tampered, jws, { jwks, hubId: 'hub-1', partnerId: 'ACME' })).rejects.toThrow(/digest/);
    await expect(verifyStatement(document, jws, { jwks, hubId: 'hub-1', partnerId: 'BOLT' })).rejects.toThrow();
    await expect(verifyStatement(document, jws, { jwks, hubId: 'another-hub', partnerId: 'ACME' })).rejects.toThrow();
    const dropped = { ...document, lines: document.lines.slice(0, 1) };
    const { jws: jwsDropped, jwks: jwksDropped } = await signedBy({ ...claimsFor(dropped), lines: '2' });
    await expect(verifyStatement(dropped, jwsDropped, { jwks: jwksDropped, hubId: 'hub-1', partnerId: 'ACME' })).rejects.toThrow(
      /line count/,
    );
  });
});

describe('acknowledge and dispute fields', () => {
  const statement = document.header.statementId;
  const digest = statementDigest(document);

  it('normalise dispute lines (distinct, ascending, strings) and keep the reason', () => {
    expect(claimsFields('dispute', { statement, digest, lines: [3, '1', 3n], reason: 'wrong price' })).toEqual({
      statement,
      digest,
      lines: ['1', '3'],
      reason: 'wrong price',
    });
    expect(claimsFields('acknowledge', { statement, digest })).toEqual({ statement, digest });
  });

  it('refuse what the hub would refuse, before signing', () => {
    expect(() => claimsFields('acknowledge', { statement: 'not-a-uuid', digest })).toThrow(/statement/);
    expect(() => claimsFields('acknowledge', { statement, digest: 'ABC' })).toThrow(/digest/);
    expect(() => claimsFields('dispute', { statement, digest, lines: [], reason: 'x' })).toThrow(/lines/);
    expect(() => claimsFields('dispute', { statement, digest, lines: [0], reason: 'x' })).toThrow(/line number/);
    expect(() => claimsFields('dispute', { statement, digest, lines: [1.5], reason: 'x' })).toThrow(/line number/);
    expect(() => claimsFields('dispute', { statement, digest, lines: [1], reason: '  ' })).toThrow(/reason/);
    expect(() => claimsFields('acknowledge', { statement, digest, extra: 1 } as never)).toThrow(/unknown field/);
  });
});
