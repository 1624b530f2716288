/**
 * A stand-in for the hub, small enough to read: an Ed25519 receipt key, its JWKS, and a fake
 * `fetch` that serves the JWKS and answers GraphQL the way the protocol says the hub does.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { INSTRUCTION_TYP, PARTNER_ALGORITHMS, RECEIPT_TYP, requestHash, type FetchLike, type JwksGetter, type PartnerKey } from '../src';

export const HUB_ID = 'coalition-hub';
export const PARTNER_ID = 'ACME_COFFEE';
export const BASE_URL = 'https://hub.test';

export interface HubKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  jwks: JwksGetter;
}

export async function createHubKey(kid = 'hub-2025-01'): Promise<HubKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicJwk, jwks: createLocalJWKSet({ keys: [publicJwk] }) };
}

export function signReceipt(hub: HubKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: hub.kid, typ: RECEIPT_TYP, ...header }).sign(hub.privateKey);
}

/** Claims of a valid issue receipt; override any of them per test. */
export function issueReceiptClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: HUB_ID,
    aud: PARTNER_ID,
    iat: Math.floor(Date.now() / 1000),
    jti: 'order-1001',
    op: 'issue',
    requestHash: 'hash-of-the-request',
    memberId: 'mbr_01',
    entryId: 'ent_01',
    amount: '150',
    balance: '1150',
    recordedAt: '2025-03-01T10:00:00Z',
    ...overrides,
  };
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export interface RecordedCall {
  url: string;
  headers: Record<string, string>;
  query: string;
  variables: Record<string, unknown>;
}

export type Responder = (call: RecordedCall) => unknown;

/** A fake fetch: JWKS on GET, `respond` on POST /graphql (a Response is passed through, anything else sent as JSON). */
export function fakeFetch(hub: HubKey, respond: Responder) {
  const calls: RecordedCall[] = [];
  let jwksFetches = 0;
  const fetch: FetchLike = async (url, init) => {
    if (url === `${BASE_URL}/.well-known/jwks.json`) {
      jwksFetches += 1;
      return jsonResponse({ keys: [hub.publicJwk] });
    }
    if (url !== `${BASE_URL}/graphql` || init.method !== 'POST') return new Response('not found', { status: 404 });
    const body = JSON.parse(String(init.body)) as { query: string; variables: Record<string, unknown> };
    const call = { url, headers: init.headers as Record<string, string>, ...body };
    calls.push(call);
    const answer = await respond(call);
    return answer instanceof Response ? answer : jsonResponse(answer);
  };
  return { fetch, calls, jwksFetches: () => jwksFetches };
}

/**
 * Executes instructions the way the hub does, as far as a client can observe: verifies the
 * partner's signature, keeps one outcome per jti (a replay returns the original receipt), and
 * signs receipts that echo jti and requestHash.
 */
export function fakeLedger(hub: HubKey, partnerKey: PartnerKey) {
  const byJti = new Map<string, Record<string, unknown>>();
  let balance = 1000n;
  let entries = 0;
  const respond: Responder = async ({ query, variables }) => {
    const { payload } = await jwtVerify(String(variables.instruction), createLocalJWKSet({ keys: [partnerKey.publicJwk] }), {
      typ: INSTRUCTION_TYP,
      issuer: PARTNER_ID,
      audience: HUB_ID,
      algorithms: [...PARTNER_ALGORITHMS],
    });
    const jti = String(payload.jti);
    const previous = byJti.get(jti);
    if (previous) return { data: { result: { ...previous, replayed: true } } };
    const op = String(payload.op);
    const common = { jti, memberId: 'mbr_01' };
    const claims: Record<string, unknown> = {
      iss: HUB_ID,
      aud: PARTNER_ID,
      iat: payload.iat,
      op,
      requestHash: requestHash(payload),
      ...common,
    };
    let result: Record<string, unknown>;
    if (op === 'enroll') {
      const enrolled = { memberRef: payload.member, linkedExisting: false };
      Object.assign(claims, enrolled);
      result = { __typename: 'EnrollReceipt', ...common, ...enrolled };
    } else {
      const amount = BigInt(String(payload.amount));
      if (op === 'redeem' && amount > balance) {
        return {
          data: { result: { __typename: 'InsufficientBalance', errorCode: 'INSUFFICIENT_BALANCE', message: `balance is ${balance}` } },
        };
      }
      balance = op === 'issue' ? balance + amount : balance - amount;
      entries += 1;
      // Like the hub: every receipt field the response carries is signed too.
      const entry = {
        entryId: `ent_${entries}`,
        amount: amount.toString(),
        balance: balance.toString(),
        recordedAt: new Date().toISOString(),
        ...(op === 'redeem' ? { consumed: [{ issuerPartnerId: PARTNER_ID, amount: amount.toString() }] } : {}),
      };
      Object.assign(claims, entry);
      result = { __typename: op === 'issue' ? 'IssueReceipt' : 'RedeemReceipt', ...common, ...entry };
    }
    expect(query).toContain(op === 'enroll' ? 'enrollMember' : op === 'issue' ? 'issuePoints' : 'redeemPoints');
    result.receipt = await signReceipt(hub, claims);
    result.replayed = false;
    byJti.set(jti, result);
    return { data: { result } };
  };
  return { respond, receipts: byJti };
}
