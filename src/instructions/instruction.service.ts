import type { DataSource, EntityManager } from 'typeorm';
import { INSTRUCTION_LIFETIME_SECONDS_MAX, INSTRUCTION_TYP, OPS, requestHash, type Op } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { instructionMemberNow } from '../members/test-clocks';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import { newId } from '../common/ids';
import { isRetryable, pgCode, withTransaction } from '../db/with-transaction';
import type { ContractService } from '../partners/contract.service';
import type { TierService } from '../members/tiers';
import type { PartnerService } from '../partners/partner.service';
import type { HubKeys } from '../hub-keys/hub-keys';
import { opMayReturn, type InstructionRejection, type OpCode } from '../common/op-errors';
import { parseInstructionClaims } from './instruction-claims';
import { verifySigned } from './verify-signed';
import { lockBatchCounters, lockBatchWallets } from './batch-locks';
import { eventsOf } from './instruction-events';
import { eventRowsJson, eventsInsert } from '../outbox/outbox';
import type { ClaimsOf } from '../common/claims';
import type { JWTPayload } from 'jose';
import type { Signer, SignerLookup } from '../common/signer';
import { limits } from '../config/limits';
import { OPERATIONS, type AcceptedData, type Operation, type OperationContext } from '../operations/registry';
import type { MovementClaims } from '../common/claims';
import {
  MovementFailed,
  applyMovementStatement,
  applyMovementsInTransaction,
  inOneStatement,
  movementData,
  needsOperation,
  type MovementOutcome,
} from './movement-statement';
import type { MovementResult } from '../operations/context';
import { STORED_RECEIPT, type ReceiptStore } from './receipt-store';
import type { PurchaseListener } from '../engine/purchase-listeners';

export type { AcceptedData } from '../operations/registry';

/** What an instruction op can be refused with: a pipeline rejection, or one of the op's own codes. */
export type InstructionError<O extends Op> = DomainError<InstructionRejection | OpCode<O>>;

/** What a partner gets back for an accepted instruction, the first time and on every replay. */
export interface Accepted {
  op: Op;
  jti: string;
  data: AcceptedData;
  receipt: string;
  replayed: boolean;
}

/**
 * One instruction of a batch that failed on a database or internal error rather than being
 * refused: nothing of it was written, the batch's other instructions went on.
 */
export class InstructionFailed {
  constructor(readonly cause: unknown) {}
}

/** How one instruction of a batch ended, at its position in the batch. */
export interface BatchItemOutcome {
  index: number;
  /** The op of an instruction whose signature verified; null when it could not be verified. */
  op: Op | null;
  /** Its jti, once its signature verified. */
  jti: string | null;
  outcome: Accepted | InstructionError<Op> | InstructionFailed;
}

/** A verified instruction with valid claims, waiting for its turn in the batch's transaction. */
interface BatchReady {
  index: number;
  op: Op;
  claims: ClaimsOf<Op>;
  partnerId: string;
  kid: string;
  hash: string;
  jws: string;
}

/** A receipt signed inside a batch's transaction, to be stored once it commits. */
interface SignedReceipt {
  partnerId: string;
  jti: string;
  receipt: string;
}

const idempotencyConflict = (jti: string): DomainError<ErrorCode.IDEMPOTENCY_CONFLICT> =>
  fail(ErrorCode.IDEMPOTENCY_CONFLICT, `jti ${jti} was already used for a different instruction`, { jti });

/** An issue or a redemption (the ops the one-statement path may take). */
const isMovement = (claims: ClaimsOf<Op>): claims is MovementClaims => claims.op === 'issue' || claims.op === 'redeem';

const rateLimited = (partnerId: string, retryAfterSeconds: number) =>
  fail(ErrorCode.RATE_LIMITED, `partner ${partnerId} is over its rate limit; send again in ${retryAfterSeconds} s`, { retryAfterSeconds });

/** The op's claims, or why they are refused. */
function claimsFor<O extends Op>(op: O, verified: JWTPayload, now: Date): ClaimsOf<O> | InstructionError<O> {
  const claims = parseInstructionClaims(op, verified, now);
  if (!isDomainError(claims)) return claims;
  // Only ops with an amount can have it refused; should another get here, the claim is still the sender's fault.
  const refused: DomainError = claims;
  return opMayReturn(op, refused) ? refused : fail(ErrorCode.INVALID_INSTRUCTION, refused.message, { claim: 'amount' });
}

/**
 * A balance beyond PostgreSQL's bigint (SQLSTATE 22003) is the caller's amount, not a crash, for
 * the ops that move an amount (the others cannot overflow one, and have no InvalidAmount).
 */
function amountTooLarge<O extends Op>(op: O, error: unknown): InstructionError<O> | undefined {
  if (pgCode(error) !== '22003') return undefined;
  const tooLarge = fail(ErrorCode.INVALID_AMOUNT, 'the resulting balance would exceed the ledger limit', { amount: null });
  return opMayReturn(op, tooLarge) ? tooLarge : undefined;
}

/**
 * The write path for partner-signed instructions: verify → parse → claim the jti → apply →
 * sign a receipt, all but verification in one database transaction. An error result rolls
 * everything back, including the jti claim, so a corrected retry with the same jti may succeed.
 */
export class InstructionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly partners: PartnerService,
    private readonly hubKeys: HubKeys,
    private readonly clock: Clock,
    private readonly counterShards: number,
    private readonly contracts: ContractService,
    private readonly tiers: TierService,
    /** Seconds a partner must wait before its next `count` (default 1) instructions, or undefined when it may go on. */
    private readonly partnerRateLimit: (partnerId: string, count?: number) => Promise<number | undefined> = async () => undefined,
    /**
     * Whether members may live on sandbox test clocks (docs/sandbox.md). Without, every member is on
     * real time (a hub that is not a sandbox refuses to start on a database with test-clock members),
     * and an instruction does not look up its member's time.
     */
    private readonly testClocks = false,
    /** Where receipts signed after a one-statement instruction's commit are stored (receipt-store.ts); none: that path is off. */
    private readonly receipts?: ReceiptStore,
    /** Features that follow purchase activities (docs/loyalty-engine.md, "Purchase listeners"); none by default. */
    private readonly purchaseListeners: readonly PurchaseListener[] = [],
  ) {}

  async submit<O extends Op>(op: O, jws: unknown): Promise<Accepted | InstructionError<O>> {
    const verified = await this.verify(jws);
    if (isDomainError(verified)) return verified;
    // Counted once the partner is proven, so that nobody can spend another partner's budget.
    const retryAfterSeconds = await this.partnerRateLimit(verified.signer.id);
    if (retryAfterSeconds !== undefined) return rateLimited(verified.signer.id, retryAfterSeconds);
    const now = this.clock.now();
    const claims = claimsFor(op, verified.claims, now);
    if (isDomainError(claims)) return claims;
    const hash = requestHash(verified.claims as Record<string, unknown>);
    const partnerId = verified.signer.id;

    if (this.receipts && isMovement(claims) && inOneStatement(claims, this.testClocks)) {
      const input = { partnerId, kid: verified.kid, hash, jws, now, counterShards: this.counterShards, tiers: this.tiers };
      let outcome: Awaited<ReturnType<typeof applyMovementStatement>>;
      try {
        outcome = await applyMovementStatement(this.dataSource, claims, input);
      } catch (error) {
        const tooLarge = amountTooLarge(op, error);
        if (tooLarge) return tooLarge;
        throw error;
      }
      if (outcome !== needsOperation) return this.answer(op, claims.jti, partnerId, hash, now, outcome);
    }
    return this.inTransaction(op, (tx) => this.apply(tx, op, claims, { partnerId, kid: verified.kid, hash, jws, now }));
  }

  /**
   * What a one-statement movement answers: its refusal; the stored outcome of a replay (its receipt
   * signed again if not stored yet); or the new result with its receipt, signed now that the entry
   * has committed and stored shortly after (receipt-store.ts).
   */
  private async answer<O extends Op>(
    op: O,
    jti: string,
    partnerId: string,
    hash: string,
    now: Date,
    outcome: MovementOutcome | DomainError<ErrorCode.UNKNOWN_MEMBER | ErrorCode.INSUFFICIENT_BALANCE>,
    /** False inside a batch, whose caller stores the receipts once the batch has committed. */
    store = true,
  ): Promise<Accepted | InstructionError<O>> {
    if (isDomainError(outcome)) return outcome as InstructionError<O>;
    if (outcome.replay) {
      if (outcome.requestHash !== hash) return idempotencyConflict(jti) as InstructionError<O>;
      return this.stored(partnerId, jti, outcome.op as Op, hash, outcome.result, outcome.receipt, new Date(outcome.receivedAt));
    }
    const receipt = await this.receiptFor(partnerId, jti, op, hash, outcome.result, now);
    if (store) this.receipts!.add(partnerId, jti, receipt);
    return { op, jti, data: outcome.result, receipt, replayed: false };
  }

  /**
   * An instruction applied before, as a replay answers it. Its receipt is the stored one; a
   * one-statement instruction's receipt is stored a moment after its commit (receipt-store.ts), and
   * until then it is signed again from the stored result, put back in the order it was signed in.
   */
  private async stored(
    partnerId: string,
    jti: string,
    op: Op,
    hash: string,
    result: AcceptedData,
    receipt: string | null,
    receivedAt: Date,
  ): Promise<Accepted> {
    if (receipt !== null) return { op, jti, data: result, receipt, replayed: true };
    const data = movementData(result as unknown as MovementResult);
    return { op, jti, data, receipt: await this.receiptFor(partnerId, jti, op, hash, data, receivedAt), replayed: true };
  }

  /** The receipt of an applied instruction, iat its time of receipt: signing it again gives the same claims. */
  private receiptFor(partnerId: string, jti: string, op: Op, hash: string, data: AcceptedData, receivedAt: Date): Promise<string> {
    return this.hubKeys.signReceipt(partnerId, { jti, op, requestHash: hash, ...data }, receivedAt);
  }

  /** Verifies a partner-signed instruction (CPU and the signer lookup; no transaction). */
  private verify(jws: unknown, findSigner: SignerLookup = (issuer) => this.partners.findSigner(issuer)) {
    return verifySigned(jws, findSigner, {
      typ: INSTRUCTION_TYP,
      audience: this.hubKeys.hubId,
      lifetimeSecondsMax: INSTRUCTION_LIFETIME_SECONDS_MAX,
      requiredClaims: ['iss', 'aud', 'jti', 'iat', 'exp'],
      clock: this.clock,
    });
  }

  /**
   * Claims the jti and applies a verified instruction inside `tx`: the replayed outcome when the
   * jti was claimed before, else the operation, its receipt and its events. An error result leaves
   * the caller to roll back (the transaction, or a batch item's savepoint).
   */
  private async apply<O extends Op>(
    tx: EntityManager,
    op: O,
    claims: ClaimsOf<O>,
    {
      partnerId,
      kid,
      hash,
      jws,
      now,
      counterShards = this.counterShards,
    }: { partnerId: string; kid: string; hash: string; jws: unknown; now: Date; counterShards?: number },
  ): Promise<Accepted | InstructionError<O>> {
    const claimed: unknown[] = await tx.query(
      `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (partner_id, jti) DO NOTHING RETURNING jti`,
      [partnerId, claims.jti, op, kid, hash, jws, now],
    );
    if (claimed.length === 0) return this.replay(tx, partnerId, claims.jti, hash);
    // The instruction was received (and its signature checked) on real time; what it does to the member
    // happens on the member's time: a sandbox test clock's, or the same real time (docs/sandbox.md).
    const receivedAt = now;
    if (this.testClocks) now = await instructionMemberNow(tx, partnerId, claims, receivedAt);
    if (now !== receivedAt && 'occurredAt' in claims)
      claims = { ...claims, occurredAt: new Date(claims.occurredAt.getTime() + (now.getTime() - receivedAt.getTime())) };
    const context: OperationContext = {
      partnerId,
      requestHash: hash,
      entryId: newId(),
      now,
      counterShards,
      tiers: this.tiers,
      contracts: this.contracts,
      purchaseListeners: this.purchaseListeners,
    };
    // The registry's type checks each op's refusals against OP_ERRORS (src/common/op-errors.ts).
    const operation: Operation<O> = OPERATIONS[op];
    const result = await operation(tx, context, claims);
    if (isDomainError(result)) return result;
    const data = result as AcceptedData;
    const receipt = await this.hubKeys.signReceipt(partnerId, { jti: claims.jti, op, requestHash: hash, ...data });
    // The instruction's events go into the outbox with its result, in the same statement.
    await tx.query(
      `WITH ${eventsInsert(7)}
       UPDATE instruction SET receipt_jws = $3, result = $4, entry_id = $5, member_id = $6 WHERE partner_id = $1 AND jti = $2`,
      [
        partnerId,
        claims.jti,
        receipt,
        JSON.stringify(data),
        'entryId' in data ? data.entryId : null,
        data.memberId,
        eventRowsJson(eventsOf(claims, partnerId, data, now)),
      ],
    );
    return { op, jti: claims.jti, data, receipt, replayed: false };
  }

  /** Runs `work` in one transaction; an amount beyond the ledger's limit is a typed refusal (amountTooLarge). */
  private async inTransaction<O extends Op>(
    op: O,
    work: (tx: EntityManager) => Promise<Accepted | InstructionError<O>>,
  ): Promise<Accepted | InstructionError<O>> {
    try {
      return await withTransaction(this.dataSource, work);
    } catch (error) {
      const tooLarge = amountTooLarge(op, error);
      if (tooLarge) return tooLarge;
      throw error;
    }
  }

  /** The same jti again: the original outcome if it asks for the same thing, a conflict otherwise. */
  private async replay(
    tx: EntityManager,
    partnerId: string,
    jti: string,
    hash: string,
  ): Promise<Accepted | DomainError<ErrorCode.IDEMPOTENCY_CONFLICT>> {
    const rows: Array<{ op: Op; request_hash: string; receipt_jws: string | null; result: AcceptedData; received_at: Date }> =
      await tx.query(
        `SELECT op, request_hash, ${STORED_RECEIPT}, result, received_at FROM instruction WHERE partner_id = $1 AND jti = $2`,
        [partnerId, jti],
      );
    const original = rows[0];
    if (!original || original.request_hash !== hash) return idempotencyConflict(jti);
    return this.stored(partnerId, jti, original.op, hash, original.result, original.receipt_jws, new Date(original.received_at));
  }

  /**
   * A batch of signed instructions, each applied or refused on its own, in the order given
   * (docs/batches.md). Every signature is verified first, outside any transaction; the verified
   * instructions are then applied in one transaction with a savepoint per instruction, so that a
   * refusal or a database error of one rolls back only that one. A deadlock or serialization
   * failure retries the whole transaction, recomputing every outcome. Each partner's rate limit
   * is charged once per verified instruction of that partner.
   */
  async submitBatch(jwsList: readonly unknown[]): Promise<BatchItemOutcome[] | DomainError<ErrorCode.BATCH_TOO_LARGE>> {
    const max = limits.batchInstructionsMax;
    if (jwsList.length > max) {
      return fail(ErrorCode.BATCH_TOO_LARGE, `a batch holds at most ${max} instructions; this one holds ${jwsList.length}`, {
        limit: max,
        received: jwsList.length,
      });
    }
    const now = this.clock.now();
    // One signer lookup per partner and batch: a batch of one partner's instructions costs one read.
    const signers = new Map<string, Promise<Signer | null>>();
    const findSigner: SignerLookup = (issuer) => {
      let signer = signers.get(issuer);
      if (!signer) signers.set(issuer, (signer = this.partners.findSigner(issuer)));
      return signer;
    };
    const verifiedAll = await Promise.all(jwsList.map((jws) => this.verify(jws, findSigner)));

    const outcomes: BatchItemOutcome[] = [];
    const byPartner = new Map<string, number[]>();
    verifiedAll.forEach((verified, index) => {
      if (isDomainError(verified)) {
        outcomes[index] = { index, op: null, jti: null, outcome: verified };
        return;
      }
      const op = (OPS as readonly unknown[]).includes(verified.claims.op) ? (verified.claims.op as Op) : null;
      const jti = typeof verified.claims.jti === 'string' ? verified.claims.jti : null;
      outcomes[index] = {
        index,
        op,
        jti,
        outcome: fail(ErrorCode.INVALID_INSTRUCTION, `op must be one of ${OPS.join(', ')}`, { claim: 'op' }),
      };
      if (op === null) return;
      const indexes = byPartner.get(verified.signer.id) ?? [];
      indexes.push(index);
      byPartner.set(verified.signer.id, indexes);
    });

    const ready: BatchReady[] = [];
    for (const [partnerId, indexes] of byPartner) {
      // Counted once the partner is proven, as for a single instruction: N instructions cost N.
      const retryAfterSeconds = await this.partnerRateLimit(partnerId, indexes.length);
      for (const index of indexes) {
        const item = outcomes[index]!;
        const op = item.op!;
        if (retryAfterSeconds !== undefined) {
          item.outcome = rateLimited(partnerId, retryAfterSeconds);
          continue;
        }
        const verified = verifiedAll[index] as Exclude<(typeof verifiedAll)[number], DomainError>;
        const claims = claimsFor(op, verified.claims, now);
        if (isDomainError(claims)) {
          item.outcome = claims;
          continue;
        }
        const hash = requestHash(verified.claims as Record<string, unknown>);
        ready.push({ index, op, claims, partnerId, kid: verified.kid, hash, jws: jwsList[index] as string });
      }
    }
    ready.sort((a, b) => a.index - b.index);
    if (ready.length === 0) return outcomes;

    const applied = await withTransaction(this.dataSource, async (tx) => {
      // Recomputed from scratch on every attempt: a retried transaction counts nothing twice.
      const results = new Map<number, BatchItemOutcome['outcome']>();
      const signed: SignedReceipt[] = [];
      await lockBatchWallets(tx, ready);
      await lockBatchCounters(tx, ready, this.counterShards);
      await tx.query('SAVEPOINT batch_item');
      for (let next = 0; next < ready.length;) {
        const run = this.movementRun(ready, next);
        if (run.length > 0) {
          next += await this.applyMovementRun(tx, run, now, results, signed);
          continue;
        }
        const item = ready[next]!;
        next += 1;
        await this.applyBatchItem(tx, item, now, results);
      }
      return { results, signed };
    });
    // Receipts of one-statement items are stored once their entries have committed.
    for (const { partnerId, jti, receipt } of applied.signed) this.receipts!.add(partnerId, jti, receipt);
    for (const [index, outcome] of applied.results) outcomes[index]!.outcome = outcome;
    return outcomes;
  }

  /** The items from `start` on that can go to the database in one statement (a run of CP issues and redemptions). */
  private movementRun(ready: readonly BatchReady[], start: number): Array<BatchReady & { claims: MovementClaims }> {
    const run: Array<BatchReady & { claims: MovementClaims }> = [];
    if (!this.receipts) return run;
    for (let index = start; index < ready.length; index += 1) {
      const item = ready[index]!;
      if (!isMovement(item.claims) || !inOneStatement(item.claims, this.testClocks)) break;
      run.push(item as BatchReady & { claims: MovementClaims });
    }
    return run;
  }

  /**
   * A run of movements in one statement (movement-statement.ts); their receipts are signed here and
   * listed in `signed`, stored once the batch has committed. An item the function hands back is
   * applied through its operation, and the next run starts after it. Returns how many items it took.
   */
  private async applyMovementRun(
    tx: EntityManager,
    run: ReadonlyArray<BatchReady & { claims: MovementClaims }>,
    now: Date,
    results: Map<number, BatchItemOutcome['outcome']>,
    signed: SignedReceipt[],
  ): Promise<number> {
    const input = { now, counterShards: this.counterShards, tiers: this.tiers };
    let outcomes: Awaited<ReturnType<typeof applyMovementsInTransaction>>;
    try {
      outcomes = await applyMovementsInTransaction(tx, run, input, false);
    } catch (error) {
      if (isRetryable(error)) throw error;
      // One item failed (not refused): the run again, each item on its own, so that only that one fails.
      await tx.query('ROLLBACK TO SAVEPOINT batch_item');
      try {
        outcomes = await applyMovementsInTransaction(tx, run, input, true);
      } catch (again) {
        if (isRetryable(again)) throw again;
        await tx.query('ROLLBACK TO SAVEPOINT batch_item');
        for (const item of run) results.set(item.index, new InstructionFailed(again));
        return run.length;
      }
    }
    // What the run wrote stays: the savepoint moves past it.
    await tx.query('RELEASE SAVEPOINT batch_item; SAVEPOINT batch_item');
    for (const [position, outcome] of outcomes.entries()) {
      const item = run[position]!;
      if (outcome === needsOperation) {
        await this.applyBatchItem(tx, item, now, results);
        continue;
      }
      if (outcome instanceof MovementFailed) {
        results.set(item.index, amountTooLarge(item.op, outcome) ?? new InstructionFailed(outcome));
        continue;
      }
      const answered = await this.answer(item.op, item.claims.jti, item.partnerId, item.hash, now, outcome, false);
      if (!isDomainError(answered) && !answered.replayed)
        signed.push({ partnerId: item.partnerId, jti: item.claims.jti, receipt: answered.receipt });
      results.set(item.index, answered);
    }
    return outcomes.length;
  }

  /** One batch item through its operation, under the batch's savepoint: a refusal or an error undoes that item only. */
  private async applyBatchItem(
    tx: EntityManager,
    item: BatchReady,
    now: Date,
    results: Map<number, BatchItemOutcome['outcome']>,
  ): Promise<void> {
    try {
      const outcome = await this.apply(tx, item.op, item.claims, { ...item, now });
      // One round trip either way; the savepoint stays set for the next instruction.
      await tx.query(isDomainError(outcome) ? 'ROLLBACK TO SAVEPOINT batch_item' : 'RELEASE SAVEPOINT batch_item; SAVEPOINT batch_item');
      results.set(item.index, outcome);
    } catch (error) {
      if (isRetryable(error)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT batch_item');
      results.set(item.index, amountTooLarge(item.op, error) ?? new InstructionFailed(error));
    }
  }

  /** Stores the receipts signed so far (receipt-store.ts): for shutdown, and for tests that read them from the database. */
  async flushReceipts(): Promise<void> {
    await this.receipts?.flush();
  }

  /** The receipt of an earlier instruction, for a partner that lost the response. */
  async findReceiptOrNull(partnerId: string, jti: string) {
    const rows: Array<{
      jti: string;
      op: Op;
      entry_id: string | null;
      receipt_jws: string | null;
      received_at: Date;
      request_hash: string;
      result: AcceptedData;
    }> = await this.dataSource.query(
      `SELECT jti, op, entry_id, ${STORED_RECEIPT}, received_at, request_hash, result FROM instruction WHERE partner_id = $1 AND jti = $2`,
      [partnerId, jti],
    );
    const row = rows[0];
    if (!row) return null;
    const { receipt } = await this.stored(partnerId, row.jti, row.op, row.request_hash, row.result, row.receipt_jws, row.received_at);
    return { jti: row.jti, op: row.op, entryId: row.entry_id, receipt, receivedAt: row.received_at };
  }
}
