/**
 * In-memory fixtures for verifying partner-signed instructions without I/O: partners with real
 * keys (from the partner SDK), a lookup over them, a fixed clock, and helpers to craft hostile
 * compact JWS by hand.
 */
import { base64url, SignJWT, type CryptoKey, type JWTHeaderParameters, type JWTPayload } from 'jose';
import {
  generatePartnerKey,
  INSTRUCTION_LIFETIME_SECONDS_MAX,
  INSTRUCTION_TYP,
  signInstruction,
  type PartnerAlgorithm,
  type PartnerKey,
  type PointsFields,
} from '@coalition-hub/partner-sdk';
import type { Clock } from '../../../src/common/clock';
import type { Signer, SignerKey, SignerLookup } from '../../../src/common/signer';
import type { VerifyOptions } from '../../../src/instructions/verify-signed';

export const HUB_ID = 'coalition-hub-test';
export const NOW = new Date('2025-03-01T10:00:00.000Z');
export const NOW_SECONDS = NOW.getTime() / 1000;

export const fixedClock = (now: Date = NOW): Clock => ({ now: () => new Date(now.getTime()) });

export const secondsFromNow = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);

export interface TestPartner {
  id: string;
  key: PartnerKey;
  signer: Signer;
}

export function signerKeyOf(key: PartnerKey, status: SignerKey['status'] = 'active'): SignerKey {
  return { kid: key.kid, alg: key.alg, status, publicJwk: { ...key.publicJwk } };
}

/** A partner with one registered key; `extraKeys` are registered too (rotation, revocation). */
export async function makePartner(
  id: string,
  alg: PartnerAlgorithm = 'EdDSA',
  options: { suspended?: boolean; extraKeys?: SignerKey[] } = {},
): Promise<TestPartner> {
  const key = await generatePartnerKey(alg, `${id.toLowerCase()}-${alg.toLowerCase()}-1`);
  const keys = new Map<string, SignerKey>([[key.kid, signerKeyOf(key)]]);
  for (const extra of options.extraKeys ?? []) keys.set(extra.kid, extra);
  return { id, key, signer: { id, suspended: options.suspended ?? false, keys } };
}

export function withSigner(partner: TestPartner, changes: Partial<Signer>): TestPartner {
  return { ...partner, signer: { ...partner.signer, ...changes } };
}

/** The lookup the hub would do against its partner table, over a fixed set of signers. */
export function lookupOf(...signers: Signer[]): SignerLookup {
  const byId = new Map(signers.map((signer) => [signer.id, signer]));
  return (issuer) => Promise.resolve(byId.get(issuer) ?? null);
}

/** The options the instruction service passes (src/instructions/instruction.service.ts). */
export function instructionOptions(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    typ: INSTRUCTION_TYP,
    audience: HUB_ID,
    lifetimeSecondsMax: INSTRUCTION_LIFETIME_SECONDS_MAX,
    requiredClaims: ['iss', 'aud', 'jti', 'iat', 'exp'],
    clock: fixedClock(),
    ...overrides,
  };
}

/** A well-formed issue instruction signed through the SDK at `now` (default NOW). */
export async function signIssue(
  partner: TestPartner,
  options: { now?: Date; hubId?: string; lifetimeSeconds?: number; jti?: string; fields?: Partial<PointsFields> } = {},
): Promise<string> {
  const signed = await signInstruction({
    partnerId: partner.id,
    hubId: options.hubId ?? HUB_ID,
    key: partner.key,
    op: 'issue',
    fields: { member: 'alice-1', amount: '100', orderRef: 'order-1', ...options.fields },
    jti: options.jti ?? 'jti-1',
    lifetimeSeconds: options.lifetimeSeconds,
    now: options.now ?? NOW,
  });
  return signed.jws;
}

/** Claims of a valid issue instruction from `issuer`, issued at NOW. */
export function issueClaims(issuer: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: issuer,
    aud: HUB_ID,
    jti: 'jti-1',
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 120,
    op: 'issue',
    member: 'alice-1',
    amount: '100',
    ...overrides,
  };
}

/** Signs arbitrary claims and header with any key: for instructions the SDK refuses to produce. */
export function signRaw(claims: JWTPayload, header: JWTHeaderParameters, privateKey: CryptoKey | Uint8Array): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
}

export const encodeSegment = (value: unknown): string => base64url.encode(JSON.stringify(value));

export const decodeSegment = (segment: string): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(base64url.decode(segment))) as Record<string, unknown>;

export function segmentsOf(jws: string): [string, string, string] {
  const [header, payload, signature, ...rest] = jws.split('.');
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) {
    throw new Error(`not a compact JWS: ${jws}`);
  }
  return [header, payload, signature];
}

/** Rewrites the payload of a signed JWS, keeping its header and signature: what a man in the middle would do. */
export function tamperPayload(jws: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload, signature] = segmentsOf(jws);
  return [header, encodeSegment(change(decodeSegment(payload))), signature].join('.');
}
