import { CompactSign } from 'jose';
import { ACCESS_TOKEN_TYP, INSTRUCTION_TYP } from '@coalition-hub/partner-sdk';
import { HUB_ID, TestHub, type TestPartner } from '../helpers/test-hub';
import { signRawText } from '../helpers/raw-jws';
import { expectNothingWritten } from './support/ledger-snapshot';
import { sendInstruction } from './support/instructions';

/**
 * A signed instruction has exactly one meaning: a header or payload that names a member twice
 * (JSON.parse would silently keep the last) is refused as MalformedInstruction before anything
 * else, however validly signed, and writes nothing. Access tokens likewise are refused.
 */

let hub: TestHub;
let acme: TestPartner;

beforeAll(async () => {
  hub = await TestHub.start();
  acme = await hub.registerPartner('ACME', 'EdDSA');
  const enrolled = await acme.client.enrollMember({ member: 'alice' });
  if (!enrolled.ok) throw new Error('fixture set-up failed');
});

afterAll(() => hub.stop());

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Issue claims written by hand, so that `extra` may repeat a member JSON.stringify never would. */
function issueText(jti: string, extra = ''): string {
  const iat = nowSeconds();
  return `{"iss":"ACME","aud":"${HUB_ID}","jti":"${jti}","iat":${iat},"exp":${iat + 120},"op":"issue","member":"alice","amount":"10"${extra}}`;
}

/** Signs the payload bytes as given with jose's CompactSign (the header is jose's own, unique). */
function signPayloadText(text: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'EdDSA', kid: acme.key.kid, typ: INSTRUCTION_TYP })
    .sign(acme.key.privateKey);
}

async function balance(): Promise<string> {
  const result = await hub.graphql(
    'query($ref: String!) { memberByRef(ref: $ref) { balance } }',
    { ref: 'alice' },
    await acme.client.accessToken(),
  );
  return result.data?.memberByRef.balance;
}

describe('a signed issue naming a member twice', () => {
  it('is accepted when every name is unique (the hand-written payload and signature are good)', async () => {
    const result = await sendInstruction(hub, 'issue', await signPayloadText(issueText('dup-control')));
    expect(result).toMatchObject({ __typename: 'IssueReceipt', amount: '10' });
  });

  it.each([
    ['amount', ',"amount":"900"'],
    ['amount, the second written with an escape', ',"\\u0061mount":"900"'],
    ['member', ',"member":"bob"'],
    ['jti', ',"jti":"dup-other"'],
  ])('is refused as MalformedInstruction for a repeated %s, and writes nothing', async (_name, extra) => {
    const before = await balance();
    const jws = await signPayloadText(issueText(`dup-${_name.length}-${extra.length}`, extra));
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'MalformedInstruction', errorCode: 'MALFORMED_INSTRUCTION' });
    expect(result.message).toContain('duplicate member name');
    expect(await balance()).toBe(before);
  });

  it('is refused as MalformedInstruction for a repeated kid in the protected header, and writes nothing', async () => {
    const header = `{"alg":"EdDSA","kid":"unknown-kid","kid":"${acme.key.kid}","typ":"${INSTRUCTION_TYP}"}`;
    const jws = await signRawText(header, issueText('dup-kid'), acme.key.privateKey);
    const result = await expectNothingWritten(hub, () => sendInstruction(hub, 'issue', jws));
    expect(result).toMatchObject({ __typename: 'MalformedInstruction', errorCode: 'MALFORMED_INSTRUCTION' });
    expect(result.message).toContain('header');
  });
});

describe('an access token naming a member twice', () => {
  const tokenText = (extra: string) => {
    const iat = nowSeconds();
    return `{"iss":"ACME","sub":"ACME","aud":"${HUB_ID}","iat":${iat},"exp":${iat + 300},"scope":"partner"${extra}}`;
  };
  const header = () => `{"alg":"EdDSA","kid":"${acme.key.kid}","typ":"${ACCESS_TOKEN_TYP}"}`;
  const query = '{ partner(id: "ACME") { id } }';

  it('is accepted when every name is unique', async () => {
    const response = await hub.graphql(query, {}, await signRawText(header(), tokenText(''), acme.key.privateKey));
    expect(response.errors).toBeUndefined();
  });

  it.each([
    ['scope', ',"scope":"member"'],
    ['sub', ',"sub":"alice"'],
  ])('is refused as UNAUTHENTICATED for a repeated %s', async (_name, extra) => {
    const response = await hub.graphql(query, {}, await signRawText(header(), tokenText(extra), acme.key.privateKey));
    expect(response.data?.partner ?? null).toBeNull();
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'MALFORMED_TOKEN' });
    expect(response.errors?.[0]?.message).toContain('duplicate member name');
  });
});
