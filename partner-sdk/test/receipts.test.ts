import { createRemoteJWKSet, customFetch, SignJWT } from 'jose';
import { HubRequestError, hubJwks, ReceiptVerificationError, verifyReceipt } from '../src';
import { BASE_URL, createHubKey, HUB_ID, issueReceiptClaims, jsonResponse, PARTNER_ID, signReceipt, type HubKey } from './fake-hub';

let hub: HubKey;
let otherHub: HubKey;
beforeAll(async () => {
  hub = await createHubKey();
  otherHub = await createHubKey('hub-rogue');
});

const pins = () => ({
  hubId: HUB_ID,
  partnerId: PARTNER_ID,
  jwks: hub.jwks,
  expectedJti: 'order-1001',
  expectedRequestHash: 'hash-of-the-request',
});

async function rejection(receipt: Promise<string> | string, options = pins()): Promise<ReceiptVerificationError> {
  const error = await verifyReceipt(await receipt, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReceiptVerificationError);
  return error as ReceiptVerificationError;
}

describe('verifyReceipt', () => {
  it('returns the claims of a receipt signed by the hub for this partner, jti and request', async () => {
    const claims = await verifyReceipt(await signReceipt(hub, issueReceiptClaims()), { ...pins(), expectedOp: 'issue' });
    expect(claims).toMatchObject({ op: 'issue', jti: 'order-1001', memberId: 'mbr_01', entryId: 'ent_01', amount: '150', balance: '1150' });
  });

  it('accepts an enroll receipt, which has no ledger entry', async () => {
    const claims = await verifyReceipt(
      await signReceipt(hub, issueReceiptClaims({ op: 'enroll', entryId: undefined, amount: undefined, balance: undefined })),
      pins(),
    );
    expect(claims.op).toBe('enroll');
  });

  it('does not need jti and requestHash pins when the caller does not know them', async () => {
    const receipt = await signReceipt(hub, issueReceiptClaims({ jti: 'other', requestHash: 'other' }));
    await expect(verifyReceipt(receipt, { hubId: HUB_ID, partnerId: PARTNER_ID, jwks: hub.jwks })).resolves.toMatchObject({ jti: 'other' });
  });

  it('rejects a receipt addressed to another partner (aud)', async () => {
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ aud: 'other-partner' })))).toMatchObject({
      reason: 'claim',
      claim: 'aud',
    });
  });

  it('rejects a receipt issued by someone other than the hub (iss)', async () => {
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ iss: 'not-the-hub' })))).toMatchObject({ reason: 'claim', claim: 'iss' });
  });

  it('rejects a hub-signed JWT that is not a receipt (typ), e.g. a token', async () => {
    const error = await rejection(signReceipt(hub, issueReceiptClaims(), { typ: 'coalition-access+jwt' }));
    expect(error).toMatchObject({ reason: 'claim', claim: 'typ' });
  });

  it('rejects a receipt for another instruction (jti)', async () => {
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ jti: 'order-1002' })))).toMatchObject({ reason: 'claim', claim: 'jti' });
  });

  it('rejects a receipt for a different request under the same jti (requestHash)', async () => {
    const error = await rejection(signReceipt(hub, issueReceiptClaims({ requestHash: 'hash-of-something-else' })));
    expect(error).toMatchObject({ reason: 'claim', claim: 'requestHash' });
  });

  it('rejects a receipt for another op than expected', async () => {
    const error = await rejection(signReceipt(hub, issueReceiptClaims()), { ...pins(), expectedOp: 'redeem' } as ReturnType<typeof pins>);
    expect(error).toMatchObject({ reason: 'claim', claim: 'op' });
  });

  it('rejects a receipt whose payload was altered after signing', async () => {
    const [header, , signature] = (await signReceipt(hub, issueReceiptClaims())).split('.');
    const forged = Buffer.from(JSON.stringify(issueReceiptClaims({ amount: '15000' }))).toString('base64url');
    expect(await rejection(`${header}.${forged}.${signature}`)).toMatchObject({ reason: 'signature' });
  });

  it('rejects a receipt signed by a key the hub does not publish', async () => {
    expect(await rejection(signReceipt(otherHub, issueReceiptClaims()))).toMatchObject({ reason: 'unknown-key' });
  });

  it('rejects a receipt signed by another key that claims the hub’s kid', async () => {
    const error = await rejection(signReceipt(otherHub, issueReceiptClaims(), { kid: hub.kid }));
    expect(error).toMatchObject({ reason: 'signature' });
  });

  it('rejects algorithms other than EdDSA/ES256, such as HS256', async () => {
    const hs = await new SignJWT(issueReceiptClaims())
      .setProtectedHeader({ alg: 'HS256', kid: hub.kid, typ: 'coalition-receipt+jwt' })
      .sign(new Uint8Array(32));
    expect(await rejection(hs)).toMatchObject({ reason: 'algorithm' });
  });

  it('rejects an unsigned (alg none) receipt', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'coalition-receipt+jwt' })}.${b64(issueReceiptClaims())}.`;
    expect((await rejection(unsigned)).reason).toMatch(/algorithm|malformed/);
  });

  it('rejects a receipt that lacks memberId, or whose amounts are not digit strings', async () => {
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ memberId: undefined })))).toMatchObject({ claim: 'memberId' });
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ amount: 150 })))).toMatchObject({ claim: 'amount' });
    expect(await rejection(signReceipt(hub, issueReceiptClaims({ balance: '1.5' })))).toMatchObject({ claim: 'balance' });
  });

  it('rejects garbage', async () => {
    expect(await rejection('not.a.jws')).toMatchObject({ reason: 'malformed' });
  });

  it('reports unreachable hub keys as a HubRequestError, not as a forged receipt', async () => {
    const jwks = createRemoteJWKSet(new URL(`${BASE_URL}/.well-known/jwks.json`), {
      [customFetch]: async () => jsonResponse({ error: 'down' }, 503),
    });
    const receipt = await signReceipt(hub, issueReceiptClaims());
    await expect(verifyReceipt(receipt, { ...pins(), jwks })).rejects.toMatchObject({
      constructor: HubRequestError,
      code: 'JWKS_UNAVAILABLE',
    });
  });
});

describe('hubJwks', () => {
  it('returns one cached key set per hub URL', () => {
    expect(hubJwks('https://hub.example')).toBe(hubJwks('https://hub.example/'));
    expect(hubJwks('https://hub.example')).not.toBe(hubJwks('https://other.example'));
  });
});
