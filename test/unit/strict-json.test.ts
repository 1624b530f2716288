/**
 * The strict reading of JWS segments: one meaning per signed text. Duplicate member names are
 * refused at any depth and after unescaping; everything JSON.parse would read the same way
 * without ambiguity is accepted.
 */
import fc from 'fast-check';
import { INSTRUCTION_TYP } from '@coalition-hub/partner-sdk';
import { ErrorCode, isDomainError } from '../../src/common/errors';
import { decodeSegmentText, strictJsonProblem } from '../../src/instructions/strict-json';
import { verifySigned } from '../../src/instructions/verify-signed';
import { signRawText } from '../helpers/raw-jws';
import { instructionOptions, lookupOf, makePartner, NOW_SECONDS, type TestPartner } from './helpers/signed-instructions';

describe('strictJsonProblem', () => {
  it.each([
    ['{"amount":"10","amount":"900"}', 'duplicate member name "amount"'],
    ['{"amount":"10","\\u0061mount":"900"}', 'duplicate member name "amount"'],
    ['{"a":{"b":1,"b":2}}', 'duplicate member name "b"'],
    ['[{"x":1},{"y":[{"k":1,"k":1}]}]', 'duplicate member name "k"'],
    ['{"\\ud83d\\ude00":1,"😀":2}', 'duplicate member name'],
    ['{"a":1}{"a":1}', 'unexpected text'],
    ['{"a":01}', 'expected , or }'],
    ['{"a":"\u0001"}', 'control character'],
    ["{'a':1}", 'expected a member name'],
    ['{"a":1,}', 'expected a member name'],
    ['', 'expected a JSON value'],
    [`${'['.repeat(40)}${']'.repeat(40)}`, 'nesting deeper'],
  ])('refuses %s', (text, problem) => {
    expect(strictJsonProblem(text)).toContain(problem);
  });

  it.each([
    '{"amount":"10","Amount":"900"}',
    '{"a":{"b":1},"b":{"a":1}}',
    '[{"k":1},{"k":2}]',
    ' {"a" : [1, -2.5e3, true, false, null, "x\\n\\"y"]} ',
    '{}',
    '"just a string"',
  ])('accepts %s', (text) => {
    expect(strictJsonProblem(text)).toBeNull();
  });

  it('accepts every JSON text JSON.stringify writes (it never repeats a name)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(strictJsonProblem(text)).toBeNull();
        expect(strictJsonProblem(JSON.stringify(value, null, 2))).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  /** An object text with the member at `index` repeated after the others, its name written literally or escaped. */
  const withDuplicate = fc
    .tuple(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }), fc.jsonValue({ maxDepth: 2 })), {
        minLength: 1,
        maxLength: 6,
        selector: ([name]) => name,
      }),
      fc.nat(),
      fc.jsonValue({ maxDepth: 2 }),
      fc.boolean(),
      fc.array(fc.constantFrom('object', 'array'), { maxLength: 4 }),
    )
    .map(([members, pick, value, escapeName, path]) => {
      const name = members[pick % members.length]![0];
      const written = escapeName
        ? `"${Array.from({ length: name.length }, (_, i) => `\\u${name.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`
        : JSON.stringify(name);
      let text = `{${members.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(',')},${written}:${JSON.stringify(value)}}`;
      for (const wrapper of path) text = wrapper === 'object' ? `{"wrapped":${text}}` : `[1,${text}]`;
      return text;
    });

  it('refuses any object with a repeated member name, however deep, literal or escaped', () => {
    fc.assert(
      fc.property(withDuplicate, (text) => {
        expect(strictJsonProblem(text)).toContain('duplicate member name');
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeSegmentText', () => {
  const segment = (bytes: number[]) => Buffer.from(bytes).toString('base64url');

  it('refuses bytes that are not UTF-8', () => {
    expect(decodeSegmentText(segment([0x7b, 0xff, 0x7d]))).toEqual({ problem: 'not well-formed UTF-8' });
  });

  it('refuses a byte order mark', () => {
    expect(decodeSegmentText(segment([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ problem: 'starts with a byte order mark' });
  });

  it('decodes plain UTF-8', () => {
    expect(decodeSegmentText(Buffer.from('{"a":"é"}').toString('base64url'))).toBe('{"a":"é"}');
  });
});

describe('verifySigned refuses a validly signed JWS with two meanings as MALFORMED_INSTRUCTION', () => {
  let acme: TestPartner;
  beforeAll(async () => {
    acme = await makePartner('ACME', 'EdDSA');
  });

  const header = () => `{"alg":"EdDSA","kid":"${acme.key.kid}","typ":"${INSTRUCTION_TYP}"}`;
  const payload = (extra: string) =>
    `{"iss":"ACME","aud":"coalition-hub-test","jti":"jti-1","iat":${NOW_SECONDS},"exp":${NOW_SECONDS + 120},"op":"issue","member":"alice-1","amount":"10"${extra}}`;

  async function verifyText(headerText: string | Uint8Array, payloadText: string | Uint8Array) {
    return verifySigned(await signRawText(headerText, payloadText, acme.key.privateKey), lookupOf(acme.signer), instructionOptions());
  }

  it('accepts the same instruction written without duplicates (the signature is good)', async () => {
    const verified = await verifyText(header(), payload(''));
    if (isDomainError(verified)) throw new Error(verified.message);
    expect(verified.claims.amount).toBe('10');
  });

  it.each([
    ['a second amount', ',"amount":"900"'],
    ['a second amount written with an escape', ',"\\u0061mount":"900"'],
    ['a second member', ',"member":"mallory"'],
    ['a second jti', ',"jti":"jti-2"'],
  ])('in the payload: %s', async (_name, extra) => {
    const result = await verifyText(header(), payload(extra));
    expect(isDomainError(result) && result.code).toBe(ErrorCode.MALFORMED_INSTRUCTION);
    expect(isDomainError(result) && result.message).toContain('duplicate member name');
  });

  it('in the header: a second kid', async () => {
    const result = await verifyText(`{"alg":"EdDSA","kid":"other","kid":"${acme.key.kid}","typ":"${INSTRUCTION_TYP}"}`, payload(''));
    expect(isDomainError(result) && result.code).toBe(ErrorCode.MALFORMED_INSTRUCTION);
    expect(isDomainError(result) && result.message).toContain('header');
  });

  it('a payload with a byte order mark or bytes that are not UTF-8', async () => {
    const bom = await verifyText(header(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(payload(''))]));
    expect(isDomainError(bom) && bom.code).toBe(ErrorCode.MALFORMED_INSTRUCTION);
    const latin1 = await verifyText(header(), Buffer.from(payload(',"orderRef":"caf\xe9"'), 'latin1'));
    expect(isDomainError(latin1) && latin1.code).toBe(ErrorCode.MALFORMED_INSTRUCTION);
  });
});
