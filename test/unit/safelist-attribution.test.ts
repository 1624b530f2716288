import { parse } from 'graphql';
import { attributedPartners, instructionIssuer } from '../../src/graphql/persisted-operations';

/** A compact JWS with this header and payload (the signature is not read: attribution never verifies). */
const jws = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;
const instruction = (iss: string) => jws({ alg: 'EdDSA', kid: 'k', typ: 'coalition-tx+jwt' }, { iss, op: 'issue' });
const anonymous = { kind: 'anonymous' } as const;
const doc = parse('mutation M($i: String!) { issuePoints(instruction: $i) { __typename } }');

describe('instructionIssuer', () => {
  it('reads the iss of a signed instruction, and nothing from other strings', () => {
    expect(instructionIssuer(instruction('ACME'))).toBe('ACME');
    expect(instructionIssuer(jws({ alg: 'EdDSA', typ: 'coalition-access+jwt' }, { iss: 'ACME' }))).toBeUndefined();
    expect(instructionIssuer(jws({ alg: 'EdDSA', typ: 'coalition-tx+jwt' }, { iss: 42 }))).toBeUndefined();
    for (const other of ['', 'cust-42', 'a.b.c', 'not base64!.x.y', `${instruction('ACME')}.extra`])
      expect(instructionIssuer(other)).toBeUndefined();
  });
});

describe('attributedPartners', () => {
  it("names the partner of a partner token, not a member token's partner nor staff", () => {
    const none = parse('{ __typename }');
    expect(attributedPartners({ kind: 'partner', partnerId: 'ACME' }, none, {})).toEqual(new Set(['ACME']));
    expect(attributedPartners({ kind: 'member', partnerId: 'ACME', memberRef: 'pat' }, none, {})).toEqual(new Set());
    expect(attributedPartners({ kind: 'operator', role: 'operator', subject: 'ops' }, none, {})).toEqual(new Set());
  });

  it('names the issuer of every instruction, in variables at any depth and inline, whoever sends it', () => {
    expect(attributedPartners(anonymous, doc, { i: instruction('ACME') })).toEqual(new Set(['ACME']));
    expect(
      attributedPartners({ kind: 'partner', partnerId: 'BETA' }, doc, { l: [instruction('ACME'), { x: [instruction('GAMMA')] }] }),
    ).toEqual(new Set(['BETA', 'ACME', 'GAMMA']));
    const inline = parse(`mutation { issuePoints(instruction: "${instruction('ACME')}") { __typename } }`);
    expect(attributedPartners(anonymous, inline, undefined)).toEqual(new Set(['ACME']));
    expect(attributedPartners(anonymous, doc, { i: 'not an instruction' })).toEqual(new Set());
  });
});
