/**
 * PartnerClient: signs instructions, sends them to the hub and returns only outcomes whose
 * receipts verify. A success that cannot be proven is never returned as a success.
 */
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader } from 'jose';
import {
  BATCH_MUTATION,
  type BatchResponse,
  EVENTS_QUERY,
  INSTRUCTION_RECEIPT_QUERY,
  MUTATIONS,
  SUCCESS_TYPENAME,
  type EventsResponse,
  type InstructionReceiptData,
  type InstructionReceiptResponse,
  type MutationResponse,
  type ReceiptDataByOp,
} from './documents';
import type { ErrorCode } from './error-codes';
import { HubRequestError, ReceiptVerificationError, withJti } from './errors';
import {
  checkReference,
  type AuthorizeFields,
  type CaptureFields,
  type EnrollFields,
  type FieldsByOp,
  type PointsFields,
  type RedeemRewardFields,
  type UseEntitlementFields,
  type ReverseFields,
  type AcknowledgeFields,
  type DisputeFields,
  type GrantFields,
  type ActivityFields,
  type TransferFields,
  type VoidFields,
} from './fields';
import { postGraphQL, postGraphQLAllowingFieldErrors, type FetchLike } from './graphql';
import { EVENT_TYPES, type EventEnvelope, type EventType } from './events';
import { resignInstruction, signInstruction, type SignedInstruction } from './instructions';
import type { SigningKey } from './keys';
import { BATCH_INSTRUCTIONS_MAX, GRAPHQL_PATH, HUB_JWKS_PATH, INSTRUCTION_TYP, OPS, requestHash, type Op } from './protocol';
import { hubJwks, trimSlash, verifyReceipt, type JwksGetter, type ReceiptClaims } from './receipts';
import { checkKey } from './signing';
import { signAccessToken } from './tokens';

export interface PartnerClientOptions {
  /** The hub's base URL, e.g. https://hub.example.com (GraphQL at /graphql, keys at /.well-known/jwks.json). */
  baseUrl: string;
  hubId: string;
  partnerId: string;
  /** The partner's registered signing key. */
  key: SigningKey;
  /** Default: the global fetch. Also used to fetch the hub's keys unless `jwks` is given. */
  fetch?: FetchLike;
  /** The hub's receipt-signing keys; default: fetched and cached from the hub. Pass a local set to pin keys. */
  jwks?: JwksGetter;
  /** Each request (connection, answer and body) is aborted after this long: HubRequestError TIMEOUT. Default 10,000 ms. */
  timeoutMs?: number;
  /** Opt-in retries of requests that may succeed when sent again (see RetryOptions). Default: none. */
  retry?: RetryOptions;
  /**
   * Send every document by its id (the SHA-256 of its text, as `extensions.persistedQuery`)
   * instead of its text: the SDK's own documents are on every hub's safelist (operations.json);
   * a document of your own passed to `graphql()` must first be registered by the hub's operator.
   * An id the hub does not know is HubRequestError PERSISTED_QUERY_NOT_FOUND (never resent as
   * text). Default false.
   */
  persistedOperations?: boolean;
}

/**
 * Retries with exponential backoff and full jitter: before attempt n+1 the client waits a random
 * time between 0 and min(maxDelayMs, baseDelayMs × 2^(n−1)), or the hub's Retry-After (capped at
 * retryAfterMaxMs) if that is longer. Only what `HubRequestError.retryable` says may succeed when
 * sent again is retried: no connection, a timeout, HTTP 429/502/503/504, SERVICE_UNAVAILABLE and a
 * typed RateLimited result (after its retryAfterSeconds). A refusal (UNAUTHENTICATED, FORBIDDEN, ...)
 * and every other typed result (`ok: false`) are never retried.
 * An instruction is resent exactly as signed (same JWS, same jti): the hub executes a jti once,
 * so a retry after a lost answer returns the original receipt instead of executing twice.
 */
export interface RetryOptions {
  /** Attempts in all, the first included: 1 means no retry. */
  attempts: number;
  /** Default 200 ms. */
  baseDelayMs?: number;
  /** Default 5,000 ms. */
  maxDelayMs?: number;
  /** A longer Retry-After is cut to this. Default 30,000 ms. */
  retryAfterMaxMs?: number;
  /** Called before each wait, e.g. to log it. */
  onRetry?: (info: { attempt: number; delayMs: number; error: HubRequestError }) => void;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface EventsOptions {
  /** The `endCursor` of the previous page; absent: from the first event. */
  after?: string | null;
  /** Page size, 1 to 100; default 20. */
  first?: number;
  /** Only these types; all when absent. */
  types?: readonly EventType[];
}

export interface EventPage {
  events: EventEnvelope[];
  /** Where the next page starts; null on an empty page (keep the previous cursor). */
  endCursor: string | null;
  hasNextPage: boolean;
}

/** The GraphQL enum spells `points.issued` as `POINTS_ISSUED`. */
const eventTypeName = (type: EventType): string => type.toUpperCase().replace(/\./g, '_');
const EVENT_TYPE_BY_NAME = new Map<string, EventType>(EVENT_TYPES.map((type) => [eventTypeName(type), type]));

export interface SubmitOptions {
  /** Idempotency key. Reusing it returns the original receipt instead of executing twice. */
  jti?: string;
  lifetimeSeconds?: number;
}

export interface SuccessOutcome<O extends Op = Op> {
  ok: true;
  typename: ReceiptDataByOp[O]['__typename'];
  /** The receipt fields as the hub returned them (unsigned; `receipt` is what is proven). */
  data: ReceiptDataByOp[O];
  /** The verified claims of the hub's signed receipt. */
  receipt: ReceiptClaims<O>;
  jti: string;
}

/**
 * The hub declined the instruction (e.g. insufficient balance) and wrote nothing. `errorCode` is
 * one of the schema's ErrorCode values (a hub newer than this SDK may answer a code it adds).
 */
export interface FailureOutcome {
  ok: false;
  typename: string;
  errorCode: ErrorCode;
  message: string;
  jti: string;
  /** With RATE_LIMITED: seconds to wait before sending the same instruction again. */
  retryAfterSeconds?: number;
}

export type Outcome<O extends Op = Op> = SuccessOutcome<O> | FailureOutcome;

/** How one instruction of a batch ended, at its position (`index`) in the batch. */
export type BatchItemOutcome = (Outcome & { index: number; op: Op }) | BatchItemFailed;

/** An instruction of a batch that failed on an internal error of the hub: nothing of it was written; send it again. */
export interface BatchItemFailed {
  ok: false;
  index: number;
  op: Op;
  jti: string;
  typename: null;
  errorCode: null;
  message: string;
}

/** One instruction for submitMany. */
export type BatchInstructionInput = { [O in Op]: { op: O; fields: FieldsByOp[O] } & SubmitOptions }[Op];

export interface FetchedReceipt {
  /** As returned by the hub. */
  data: InstructionReceiptData;
  /** The verified claims of `data.receipt`. */
  receipt: ReceiptClaims;
}

export class PartnerClient {
  readonly baseUrl: string;
  readonly hubId: string;
  readonly partnerId: string;
  private readonly key: SigningKey;
  private readonly fetch: FetchLike;
  private readonly jwks: JwksGetter;
  private readonly timeoutMs: number;
  private readonly persisted: boolean;
  private readonly retry: Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>;

  constructor(options: PartnerClientOptions) {
    this.baseUrl = trimSlash(new URL(options.baseUrl).href);
    this.hubId = checkReference('hubId', options.hubId);
    this.partnerId = checkReference('partnerId', options.partnerId);
    checkKey(options.key);
    this.key = options.key;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.persisted = options.persistedOperations ?? false;
    if (!(Number.isInteger(this.timeoutMs) && this.timeoutMs > 0))
      throw new RangeError('timeoutMs must be a positive whole number of milliseconds');
    this.retry = {
      attempts: options.retry?.attempts ?? 1,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
      retryAfterMaxMs: options.retry?.retryAfterMaxMs ?? 30_000,
      onRetry: options.retry?.onRetry,
    };
    if (!(Number.isInteger(this.retry.attempts) && this.retry.attempts >= 1 && this.retry.attempts <= 20)) {
      throw new RangeError('retry.attempts must be a whole number from 1 to 20');
    }
    // Resolved per call, so that a fetch installed after construction (polyfill, test double) is used.
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.jwks =
      options.jwks ??
      (options.fetch ? createRemoteJWKSet(new URL(this.baseUrl + HUB_JWKS_PATH), { [customFetch]: options.fetch }) : hubJwks(this.baseUrl));
  }

  enrollMember(fields: EnrollFields, opts?: SubmitOptions): Promise<Outcome<'enroll'>> {
    return this.submit('enroll', fields, opts);
  }

  issuePoints(fields: PointsFields, opts?: SubmitOptions): Promise<Outcome<'issue'>> {
    return this.submit('issue', fields, opts);
  }

  redeemPoints(fields: PointsFields, opts?: SubmitOptions): Promise<Outcome<'redeem'>> {
    return this.submit('redeem', fields, opts);
  }

  /** Two-phase redemption: hold points for a basket (not spendable elsewhere) until captured, voided or expired. */
  authorizeRedemption(fields: AuthorizeFields, opts?: SubmitOptions): Promise<Outcome<'authorize'>> {
    return this.submit('authorize', fields, opts);
  }

  /** Redeems up to the held amount, once; the rest of the hold is released. */
  captureRedemption(fields: CaptureFields, opts?: SubmitOptions): Promise<Outcome<'capture'>> {
    return this.submit('capture', fields, opts);
  }

  voidRedemption(fields: VoidFields, opts?: SubmitOptions): Promise<Outcome<'void'>> {
    return this.submit('void', fields, opts);
  }

  /** Moves points between two of this partner's members (gift, family pooling), when the contracts allow it. */
  transferPoints(fields: TransferFields, opts?: SubmitOptions): Promise<Outcome<'transfer'>> {
    return this.submit('transfer', fields, opts);
  }

  /** Acknowledges a settlement statement by signing its digest (check the document first: verifyStatement). */
  acknowledgeStatement(fields: AcknowledgeFields, opts?: SubmitOptions): Promise<Outcome<'acknowledge'>> {
    return this.submit('acknowledge', fields, opts);
  }

  /** Disputes lines of a settlement statement, with a reason; finance answers with an adjustment. */
  disputeStatement(fields: DisputeFields, opts?: SubmitOptions): Promise<Outcome<'dispute'>> {
    return this.submit('dispute', fields, opts);
  }

  /** Grants points with a reason: compensation after a complaint (with its case reference) or surprise and delight. */
  grantPoints(fields: GrantFields, opts?: SubmitOptions): Promise<Outcome<'grant'>> {
    return this.submit('grant', fields, opts);
  }

  /** A refund: reverses (part of) an earlier issue or redemption of this partner, by its entryId. */
  reversePoints(fields: ReverseFields, opts?: SubmitOptions): Promise<Outcome<'reverse'>> {
    return this.submit('reverse', fields, opts);
  }

  /**
   * Redeems a catalogue reward for your member (docs/rewards.md): the points are debited and the
   * receipt carries the entitlement with its voucher code. Rewards of other partners marked
   * coalition-wide (tier perks) can be redeemed too; they settle to the providing partner.
   */
  redeemReward(fields: RedeemRewardFields, opts?: SubmitOptions): Promise<Outcome<'redeem_reward'>> {
    return this.submit('redeem_reward', fields, opts);
  }

  /** Marks an entitlement of one of your rewards used, by the code the member shows: once, before it expires. */
  useEntitlement(fields: UseEntitlementFields, opts?: SubmitOptions): Promise<Outcome<'use_entitlement'>> {
    return this.submit('use_entitlement', fields, opts);
  }

  /**
   * A purchase, a return of an earlier purchase, or an action (op "activity", docs/loyalty-engine.md):
   * the hub applies this partner's earn rules and the campaigns in scope; the receipt lists every contribution.
   */
  submitActivity(fields: ActivityFields, opts?: SubmitOptions): Promise<Outcome<'activity'>> {
    return this.submit('activity', fields, opts);
  }

  /** Signs and sends an instruction; the receipt is pinned to this jti and this request's hash. */
  async submit<O extends Op>(op: O, fields: FieldsByOp[O], opts: SubmitOptions = {}): Promise<Outcome<O>> {
    const signed = await this.sign(op, fields, opts);
    return this.send(op, signed.jws, signed.jti, signed.requestHash);
  }

  /**
   * Sends an instruction signed earlier (a retry after a timeout, or one signed elsewhere). Its
   * claims are read back to pin the receipt to its jti and request hash.
   */
  async submitSigned<O extends Op>(op: O, jws: string): Promise<Outcome<O>> {
    const claims = this.readOwnInstruction(jws);
    if (claims.op !== op) throw new TypeError(`instruction is for op ${String(claims.op)}, not ${op}`);
    return this.send(op, jws, claims.jti as string, requestHash(claims));
  }

  /**
   * Sends up to BATCH_INSTRUCTIONS_MAX instructions signed by this partner in one request
   * (docs/batches.md). Each is applied or refused on its own, in the order given; the answer has
   * one outcome per instruction, in the same order, each success verified like a single
   * submission's. Retries (see RetryOptions) resend the very same JWSs: instructions already
   * accepted answer with their original receipts. An item whose outcome is `ok: false` with
   * `errorCode: null` failed on an internal error of the hub: nothing of it was written; send it again.
   */
  async submitBatch(jwsList: readonly string[]): Promise<BatchItemOutcome[]> {
    if (jwsList.length > BATCH_INSTRUCTIONS_MAX) {
      throw new RangeError(`a batch holds at most ${BATCH_INSTRUCTIONS_MAX} instructions; split these ${jwsList.length}`);
    }
    if (jwsList.length === 0) return [];
    const own = jwsList.map((jws) => {
      const claims = this.readOwnInstruction(jws);
      return { op: claims.op as Op, jti: claims.jti as string, hash: requestHash(claims) };
    });
    let attempt = 0;
    const { data, errors } = await this.withRetries(async () => {
      attempt += 1;
      const answer = await postGraphQLAllowingFieldErrors<BatchResponse>(this.fetch, {
        url: this.baseUrl + GRAPHQL_PATH,
        query: BATCH_MUTATION,
        variables: { instructions: jwsList },
        timeoutMs: this.timeoutMs,
        persisted: this.persisted,
      });
      // A partner's instructions are rate limited together: with attempts left, wait as the hub says and
      // resend the whole batch (those it accepted meanwhile answer as replays).
      const limited =
        answer.data.result?.__typename === 'InstructionBatch'
          ? answer.data.result.results.find((item) => item.result?.errorCode === 'RATE_LIMITED')
          : undefined;
      if (limited && attempt < this.retry.attempts) {
        const seconds = Number(limited.result?.retryAfterSeconds);
        throw new HubRequestError('RATE_LIMITED', String(limited.result?.message ?? 'rate limited'), {
          status: 429,
          retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
        });
      }
      return answer;
    });
    const batch = data.result;
    if (batch?.__typename === 'BatchTooLarge') throw new HubRequestError('BATCH_TOO_LARGE', batch.message);
    if (batch?.__typename !== 'InstructionBatch' || !Array.isArray(batch.results) || batch.results.length !== jwsList.length) {
      throw new HubRequestError('BAD_RESPONSE', 'submitInstructions did not answer one result per instruction');
    }
    return Promise.all(
      batch.results.map(async (item, index): Promise<BatchItemOutcome> => {
        const { op, jti, hash } = own[index]!;
        if (item.index !== index) throw new HubRequestError('BAD_RESPONSE', `batch result ${index} is for instruction ${item.index}`);
        if (item.result === null) {
          const error = errors.find((entry) => entry.path?.[2] === index);
          return { ok: false, index, op, jti, typename: null, errorCode: null, message: error?.message ?? 'internal error' };
        }
        try {
          const { statementStatus, activityEntryId, activityReversesEntryId, ...result } = item.result;
          if (statementStatus !== undefined) result.status = statementStatus;
          if (activityEntryId !== undefined) result.entryId = activityEntryId;
          if (activityReversesEntryId !== undefined) result.reversesEntryId = activityReversesEntryId;
          return { index, op, ...(await this.outcomeOf(op, jti, hash, result)) };
        } catch (error) {
          throw withJti(error, jti);
        }
      }),
    );
  }

  /** Signs each item (op and fields, and its jti if given) and sends them as one batch (see submitBatch). */
  async submitMany(items: ReadonlyArray<BatchInstructionInput>): Promise<BatchItemOutcome[]> {
    const signed = await Promise.all(items.map((item) => this.sign(item.op, item.fields, item)));
    return this.submitBatch(signed.map((instruction) => instruction.jws));
  }

  /** Signs an instruction of this partner for this hub without sending it (e.g. to keep it in an OfflineQueue). */
  sign<O extends Op>(op: O, fields: FieldsByOp[O], opts: SubmitOptions = {}): Promise<SignedInstruction<O>> {
    return signInstruction({
      partnerId: this.partnerId,
      hubId: this.hubId,
      key: this.key,
      op,
      fields,
      jti: opts.jti,
      lifetimeSeconds: opts.lifetimeSeconds,
    });
  }

  /**
   * One of this partner's instructions signed again with a fresh iat and exp, every other claim
   * (so its jti and request hash) unchanged: for one that waited past its exp.
   */
  resign(jws: string, lifetimeSeconds?: number): Promise<SignedInstruction> {
    return resignInstruction(this.readOwnInstruction(jws), this.key, { lifetimeSeconds });
  }

  /**
   * Looks up the receipt of an instruction by jti, e.g. when a submit timed out and it is unknown
   * whether the hub executed it. Null means the hub never accepted that jti: sign it again.
   */
  async fetchReceipt(jti: string, opts: { expectedRequestHash?: string } = {}): Promise<FetchedReceipt | null> {
    checkReference('jti', jti);
    try {
      const token = await this.accessToken();
      const { instructionReceipt: data } = await this.graphql<InstructionReceiptResponse>(INSTRUCTION_RECEIPT_QUERY, { jti }, { token });
      if (data === null) return null;
      if (typeof data !== 'object' || typeof data.receipt !== 'string') {
        throw new HubRequestError('BAD_RESPONSE', 'instructionReceipt has no receipt');
      }
      const receipt = await verifyReceipt(data.receipt, this.pins(jti, opts.expectedRequestHash));
      return { data, receipt };
    } catch (error) {
      throw withJti(error, jti);
    }
  }

  /**
   * A page of this partner's events, oldest first in commit order (docs/events.md). Pass the
   * page's `endCursor` as `after` to get every later event exactly once; reading from the same
   * cursor again returns the same events.
   */
  async events(options: EventsOptions = {}): Promise<EventPage> {
    const token = await this.accessToken();
    const { events } = await this.graphql<EventsResponse>(
      EVENTS_QUERY,
      { after: options.after ?? null, first: options.first ?? 20, types: options.types?.map(eventTypeName) ?? null },
      { token },
    );
    return {
      events: events.edges.map(({ node }) => ({ ...node, type: EVENT_TYPE_BY_NAME.get(node.type) ?? (node.type as EventType) })),
      endCursor: events.pageInfo.endCursor,
      hasNextPage: events.pageInfo.hasNextPage,
    };
  }

  /** A partner-scope bearer token for GraphQL reads. */
  accessToken(lifetimeSeconds?: number): Promise<string> {
    return signAccessToken({
      issuer: this.partnerId,
      subject: this.partnerId,
      scope: 'partner',
      audience: this.hubId,
      key: this.key,
      lifetimeSeconds,
    });
  }

  /** A member-scope token: the partner vouches that this member is logged in, e.g. to show them their balance. */
  memberToken(memberRef: string, lifetimeSeconds?: number): Promise<string> {
    return signAccessToken({
      issuer: this.partnerId,
      subject: memberRef,
      scope: 'member',
      audience: this.hubId,
      key: this.key,
      lifetimeSeconds,
    });
  }

  /**
   * POSTs any GraphQL document to the hub; throws HubRequestError on `errors` or HTTP failure.
   * Timeout and retries as configured (send only reads or idempotent documents through it).
   */
  graphql<T>(query: string, variables: Record<string, unknown> = {}, options: { token?: string } = {}): Promise<T> {
    return this.withRetries(() => this.postOnce<T>(query, variables, options.token));
  }

  private postOnce<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    return postGraphQL<T>(this.fetch, {
      url: this.baseUrl + GRAPHQL_PATH,
      query,
      variables,
      token,
      timeoutMs: this.timeoutMs,
      persisted: this.persisted,
    });
  }

  /** Runs `work` again while it throws a retryable HubRequestError and attempts remain (see RetryOptions). */
  private async withRetries<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof HubRequestError) || !error.retryable || attempt >= this.retry.attempts) throw error;
        const delayMs = this.retryDelay(attempt, error);
        this.retry.onRetry?.({ attempt, delayMs, error });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Full jitter over an exponential ceiling; the hub's Retry-After (capped) when longer. */
  private retryDelay(attempt: number, error: HubRequestError): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    const jittered = Math.floor(Math.random() * ceiling);
    const retryAfter = error.retryAfterMs === undefined ? 0 : Math.min(error.retryAfterMs, this.retry.retryAfterMaxMs);
    return Math.max(jittered, retryAfter);
  }

  private async send<O extends Op>(op: O, jws: string, jti: string, expectedRequestHash: string): Promise<Outcome<O>> {
    try {
      let attempt = 0;
      const { result } = await this.withRetries(async () => {
        attempt += 1;
        const response = await this.postOnce<MutationResponse>(MUTATIONS[op], { instruction: jws });
        // The hub could not reach its database and wrote nothing: as retryable as an HTTP 503.
        if (response.result?.errorCode === 'SERVICE_UNAVAILABLE') {
          throw new HubRequestError('SERVICE_UNAVAILABLE', String(response.result.message ?? 'the hub is unavailable'));
        }
        // A typed RateLimited wrote nothing either: with attempts left, wait as the hub says and resend
        // the same JWS; on the last attempt it is the outcome (ok: false, retryAfterSeconds).
        if (response.result?.errorCode === 'RATE_LIMITED' && attempt < this.retry.attempts) {
          const seconds = Number(response.result.retryAfterSeconds);
          throw new HubRequestError('RATE_LIMITED', String(response.result.message ?? 'rate limited'), {
            status: 429,
            retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
          });
        }
        return response;
      });
      return await this.outcomeOf(op, jti, expectedRequestHash, result);
    } catch (error) {
      throw withJti(error, jti);
    }
  }

  /** A result of op's union as an outcome: a success only once its receipt verifies, pinned to jti and hash. */
  private async outcomeOf<O extends Op>(
    op: O,
    jti: string,
    expectedRequestHash: string,
    result: MutationResponse['result'],
  ): Promise<Outcome<O>> {
    if (typeof result !== 'object' || result === null) {
      throw new HubRequestError('BAD_RESPONSE', `${op} returned no result`);
    }
    const typename = result.__typename;
    if (typename === SUCCESS_TYPENAME[op]) {
      const data = result as unknown as ReceiptDataByOp[O];
      if (typeof data.receipt !== 'string') throw new HubRequestError('BAD_RESPONSE', `${typename} has no receipt`);
      const receipt = await verifyReceipt(data.receipt, { ...this.pins(jti, expectedRequestHash), expectedOp: op });
      checkDataAgainstReceipt(data as unknown as Record<string, unknown>, receipt);
      return { ok: true, typename: data.__typename, data, receipt, jti };
    }
    if (typeof result.errorCode === 'string' && typeof result.message === 'string') {
      const wait = typeof result.retryAfterSeconds === 'number' ? { retryAfterSeconds: result.retryAfterSeconds } : {};
      return { ok: false, typename: String(typename), errorCode: result.errorCode as ErrorCode, message: result.message, jti, ...wait };
    }
    throw new HubRequestError('BAD_RESPONSE', `unexpected ${op} result type ${String(typename)}`);
  }

  private pins(jti: string, expectedRequestHash: string | undefined) {
    return { hubId: this.hubId, partnerId: this.partnerId, jwks: this.jwks, expectedJti: jti, expectedRequestHash };
  }

  /** Decodes (without verifying: it is ours) an instruction and checks it is addressed from this partner to this hub. */
  private readOwnInstruction(jws: string): Record<string, unknown> {
    let claims: Record<string, unknown>;
    let typ: unknown;
    try {
      claims = decodeJwt(jws);
      typ = decodeProtectedHeader(jws).typ;
    } catch (cause) {
      throw new TypeError('not a compact JWS instruction', { cause });
    }
    if (typ !== INSTRUCTION_TYP) throw new TypeError(`instruction typ must be ${INSTRUCTION_TYP}`);
    if (claims.iss !== this.partnerId) throw new TypeError('instruction was not issued by this partner');
    if (claims.aud !== this.hubId) throw new TypeError('instruction is not addressed to this hub');
    if (!(OPS as readonly unknown[]).includes(claims.op)) throw new TypeError('instruction has no valid op');
    checkReference('jti', claims.jti);
    return claims;
  }
}

/**
 * The unsigned fields must say what the signed receipt says; otherwise something between the
 * hub's signer and us changed them, and the caller would act on numbers nobody vouched for.
 */
const MOVEMENT_FIELDS = ['jti', 'memberId', 'entryId', 'asset', 'amount', 'balance', 'recordedAt', 'consumed'] as const;
const HOLD_FIELDS = ['jti', 'memberId', 'holdId', 'amount', 'status', 'expiresAt', 'available'] as const;
const SIGNED_FIELDS: Record<Op, readonly string[]> = {
  enroll: ['jti', 'memberId', 'memberRef', 'linkedExisting'],
  issue: MOVEMENT_FIELDS,
  redeem: MOVEMENT_FIELDS,
  capture: MOVEMENT_FIELDS,
  authorize: HOLD_FIELDS,
  void: HOLD_FIELDS,
  reverse: [...MOVEMENT_FIELDS, 'reversesEntryId'],
  transfer: ['jti', 'memberId', 'entryId', 'amount', 'balance', 'recordedAt', 'toMemberId', 'moved'],
  acknowledge: ['jti', 'statementId', 'digest', 'status'],
  dispute: ['jti', 'disputeId', 'statementId', 'digest', 'lines', 'status'],
  // The entitlement (and its code) is in the signed receipt: read it from `receipt.entitlement`.
  redeem_reward: ['jti', 'memberId', 'entryId', 'amount', 'balance', 'recordedAt', 'consumed'],
  use_entitlement: ['jti', 'memberId'],
  grant: [...MOVEMENT_FIELDS, 'kind', 'reasonCode', 'caseReference'],
  activity: ['jti', 'activityId', 'activity', 'entryId', 'memberId', 'amount', 'balance', 'recordedAt', 'contributions', 'notes'],
};

function checkDataAgainstReceipt(data: Record<string, unknown>, receipt: ReceiptClaims): void {
  const fields = SIGNED_FIELDS[receipt.op];
  for (const field of fields) {
    const returned = data[field];
    if (returned === undefined) continue;
    const signed = (receipt as Record<string, unknown>)[field];
    const same =
      typeof returned === 'object' && returned !== null
        ? JSON.stringify(returned) === JSON.stringify(signed)
        : String(returned) === String(signed);
    if (!same) throw new ReceiptVerificationError('claim', `returned ${field} differs from the signed receipt`, { claim: field });
  }
}
