import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import { INSTRUCTION_TYP, type Op } from '@coalition-hub/partner-sdk';
import { HUB_ID, type TestHub } from '../../helpers/test-hub';

/**
 * Raw instruction plumbing for hostile tests: claims the SDK would refuse to sign, headers it
 * would never write, and a sender that shows every field of whatever the hub returns.
 */

const MUTATION_FIELD: Record<Op, string> = {
  enroll: 'enrollMember',
  issue: 'issuePoints',
  redeem: 'redeemPoints',
  authorize: 'authorizeRedemption',
  capture: 'captureRedemption',
  void: 'voidRedemption',
  reverse: 'reversePoints',
  transfer: 'transferPoints',
  acknowledge: 'acknowledgeStatement',
  dispute: 'disputeStatement',
  redeem_reward: 'redeemRewardForMember',
  use_entitlement: 'useEntitlement',
  grant: 'grantPoints',
  activity: 'submitActivity',
};

const REDEEM_FIELDS = `... on RedeemReceipt { jti entryId memberId amount balance receipt replayed recordedAt consumed { issuerPartnerId amount } }
           ... on InvalidAmount { sentAmount: amount }
           ... on InsufficientBalance { available requested }`;
const HOLD_FIELDS = '... on HoldReceipt { jti holdId memberId amount status expiresAt available receipt replayed }';

const ERROR_FIELDS = `
  ... on ErrorResult { errorCode message }
  ... on InvalidInstruction { claim }
  ... on IdempotencyConflict { conflictingJti: jti }
`;

const SUCCESS_FIELDS: Record<Op, string> = {
  enroll: '... on EnrollReceipt { jti memberId memberRef linkedExisting receipt replayed }',
  issue: `... on IssueReceipt { jti entryId memberId amount balance receipt replayed recordedAt }
          ... on InvalidAmount { sentAmount: amount }`,
  redeem: REDEEM_FIELDS,
  authorize: `${HOLD_FIELDS}
           ... on InvalidAmount { sentAmount: amount }
           ... on InsufficientBalance { available requested }`,
  capture: `${REDEEM_FIELDS}
           ... on AmountExceedsHold { held }
           ... on HoldClosed { status }`,
  void: `${HOLD_FIELDS} ... on HoldClosed { status }`,
  reverse: `... on ReversalReceipt { jti entryId memberId amount balance receipt replayed recordedAt reversesEntryId }
            ... on ReversalExceedsRemaining { remaining }
            ... on PointsAlreadySpent { available }`,
  transfer: `... on TransferReceipt { jti entryId memberId toMemberId amount balance receipt replayed recordedAt moved { issuerPartnerId amount } }
             ... on InsufficientBalance { available requested }`,
  acknowledge: '... on AcknowledgementReceipt { jti statementId digest status receipt replayed }',
  dispute: '... on DisputeReceipt { jti disputeId statementId digest lines status receipt replayed }',
  redeem_reward: `... on RewardRedemptionReceipt { jti entryId memberId amount balance receipt replayed recordedAt entitlement { id code status expiresAt } }
                  ... on InsufficientBalance { available requested }`,
  use_entitlement: '... on EntitlementUseReceipt { jti memberId receipt replayed entitlement { id code status usedAt } }',
  grant: `... on GrantReceipt { jti entryId memberId amount balance receipt replayed recordedAt kind reasonCode caseReference }
          ... on GrantCapExceeded { cap period limit used }
          ... on GrantBudgetExhausted { period budget remaining }`,
  activity: `... on ActivityReceipt { jti activityId activity entryId memberId amount balance receipt replayed notes contributions { source sourceId version points reason fundingPartnerId } }
             ... on InvalidAmount { sentAmount: amount }
             ... on UnknownCategory { category }
             ... on ReturnExceedsPurchase { remaining }
             ... on CampaignBudgetExhausted { campaignId }`,
};

export function mutationFor(op: Op): string {
  return `mutation($i: String!) { result: ${MUTATION_FIELD[op]}(instruction: $i) { __typename ${SUCCESS_FIELDS[op]} ${ERROR_FIELDS} } }`;
}

export type InstructionResult = { __typename: string; [field: string]: any };

/** Sends `jws` to the mutation of `op` over HTTP, exactly as given; fails the test on a GraphQL error. */
export async function sendInstruction(hub: TestHub, op: Op, jws: string): Promise<InstructionResult> {
  const response = await hub.graphql<{ result: InstructionResult }>(mutationFor(op), { i: jws });
  if (response.errors !== undefined || !response.data) throw new Error(`${op} failed as a request: ${JSON.stringify(response)}`);
  return response.data.result;
}

export interface RawKey {
  alg: string;
  kid?: string;
  privateKey: CryptoKey | Uint8Array;
}

export interface ClaimsOptions {
  jti?: string;
  now?: Date;
  lifetimeSeconds?: number;
  audience?: string;
}

/** Instruction claims as a partner would sign them, with any field (even an invalid one) allowed. */
export function instructionClaims(
  partnerId: string,
  op: Op,
  fields: Record<string, unknown>,
  options: ClaimsOptions = {},
): Record<string, unknown> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return {
    iss: partnerId,
    aud: options.audience ?? HUB_ID,
    jti: options.jti ?? randomUUID(),
    iat,
    exp: iat + (options.lifetimeSeconds ?? 120),
    op,
    ...fields,
  };
}

/** Signs `claims` with jose directly: no SDK checks on the amount, the algorithm or the header. */
export function signRaw(claims: Record<string, unknown>, key: RawKey, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, ...(key.kid !== undefined ? { kid: key.kid } : {}), typ: INSTRUCTION_TYP, ...header })
    .sign(key.privateKey);
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWS with `alg` none and an empty signature, as an attacker writes it by hand. */
export function unsignedJws(claims: Record<string, unknown>, header: Record<string, unknown>): string {
  return `${base64url(header)}.${base64url(claims)}.`;
}

/** The same header and signature over a changed payload. */
export function tamperPayload(jws: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload, signature] = jws.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${base64url(change(claims))}.${signature}`;
}
