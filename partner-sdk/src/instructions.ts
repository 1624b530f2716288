/**
 * Signed instructions: the only way a partner writes to the ledger. The instruction carries its
 * own authentication (the partner's signature), its idempotency key (`jti`) and its expiry.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { claimsFields, checkReference, type ClaimsFieldsByOp, type FieldsByOp } from './fields';
import type { SigningKey } from './keys';
import {
  INSTRUCTION_LIFETIME_SECONDS_DEFAULT,
  INSTRUCTION_LIFETIME_SECONDS_MAX,
  INSTRUCTION_TYP,
  OPS,
  requestHash,
  type Op,
} from './protocol';
import { checkLifetime, checkKey, epochSeconds } from './signing';

/** Claims every instruction has. */
export interface InstructionClaimsBase {
  /** The partner id. */
  iss: string;
  /** The hub id. */
  aud: string;
  /** Partner-unique idempotency key: the same jti always yields the same receipt. */
  jti: string;
  iat: number;
  exp: number;
}

export type InstructionClaims<O extends Op = Op> = {
  [K in O]: InstructionClaimsBase & { op: K } & ClaimsFieldsByOp[K];
}[O];

export interface SignInstructionInput<O extends Op> {
  partnerId: string;
  hubId: string;
  key: SigningKey;
  op: O;
  fields: FieldsByOp[O];
  /** Idempotency key; pass your own (e.g. derived from the order id) to make retries safe across restarts. */
  jti?: string;
  /** Seconds until `exp`; default INSTRUCTION_LIFETIME_SECONDS_DEFAULT, at most INSTRUCTION_LIFETIME_SECONDS_MAX. */
  lifetimeSeconds?: number;
  /** Signing time, for tests and for callers with their own clock. */
  now?: Date;
}

export interface SignedInstruction<O extends Op = Op> {
  /** The compact JWS to send to the hub. */
  jws: string;
  jti: string;
  claims: InstructionClaims<O>;
  /** What the hub's receipt must echo: identifies the request independent of iat/exp. */
  requestHash: string;
}

export async function signInstruction<O extends Op>(input: SignInstructionInput<O>): Promise<SignedInstruction<O>> {
  const { partnerId, hubId, key, op } = input;
  if (!(OPS as readonly string[]).includes(op)) throw new TypeError(`op must be one of ${OPS.join(', ')}`);
  checkReference('partnerId', partnerId);
  checkReference('hubId', hubId);
  checkKey(key);
  const jti = checkReference('jti', input.jti ?? randomUUID());
  const lifetime = checkLifetime(input.lifetimeSeconds ?? INSTRUCTION_LIFETIME_SECONDS_DEFAULT, INSTRUCTION_LIFETIME_SECONDS_MAX);
  const iat = epochSeconds(input.now);
  const fields: object = claimsFields(op, input.fields);
  // Built as a plain record first: it is what gets hashed and signed; the type is asserted after.
  const payload: Record<string, unknown> = {
    iss: partnerId,
    aud: hubId,
    jti,
    iat,
    exp: iat + lifetime,
    op,
    ...fields,
  };
  const jws = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: INSTRUCTION_TYP }).sign(key.privateKey);
  return { jws, jti, claims: payload as unknown as InstructionClaims<O>, requestHash: requestHash(payload) };
}

/**
 * The same instruction again with a fresh iat and exp: every other claim, so its jti and request
 * hash, unchanged. For an instruction that waited (e.g. in an OfflineQueue) past its exp: the hub
 * treats it exactly as the original, answering with the original receipt if it accepted that.
 */
export async function resignInstruction(
  claims: Record<string, unknown>,
  key: SigningKey,
  options: { lifetimeSeconds?: number; now?: Date } = {},
): Promise<SignedInstruction> {
  checkKey(key);
  if (!(OPS as readonly unknown[]).includes(claims.op)) throw new TypeError(`op must be one of ${OPS.join(', ')}`);
  const jti = checkReference('jti', claims.jti);
  const lifetime = checkLifetime(options.lifetimeSeconds ?? INSTRUCTION_LIFETIME_SECONDS_DEFAULT, INSTRUCTION_LIFETIME_SECONDS_MAX);
  const iat = epochSeconds(options.now);
  const { nbf: _nbf, ...rest } = claims;
  const payload: Record<string, unknown> = { ...rest, iat, exp: iat + lifetime };
  const jws = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: INSTRUCTION_TYP }).sign(key.privateKey);
  return { jws, jti, claims: payload as unknown as InstructionClaims, requestHash: requestHash(payload) };
}
