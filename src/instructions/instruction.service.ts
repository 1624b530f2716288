import type { DataSource, EntityManager } from 'typeorm';
import { INSTRUCTION_LIFETIME_SECONDS_MAX, INSTRUCTION_TYP, requestHash, type Op } from '@coalition-hub/partner-sdk';
import type { Clock } from '../common/clock';
import { DomainError, ErrorCode, fail, isDomainError } from '../common/errors';
import { newId } from '../common/ids';
import { pgCode, withTransaction } from '../db/with-transaction';
import type { ContractService } from '../partners/contract.service';
import type { TierService } from '../members/tiers';
import type { PartnerService } from '../partners/partner.service';
import type { HubKeys } from '../hub-keys/hub-keys';
import { opMayReturn, type InstructionRejection, type OpCode } from '../common/op-errors';
import { parseInstructionClaims } from './instruction-claims';
import { verifySigned } from './verify-signed';
import { eventsOf } from './instruction-events';
import { eventRowsJson, eventsInsert } from '../outbox/outbox';
import { OPERATIONS, type AcceptedData, type Operation, type OperationContext } from '../operations/registry';

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
    /** Seconds a partner must wait before its next instruction, or undefined when it may go on. */
    private readonly partnerRateLimit: (partnerId: string) => Promise<number | undefined> = async () => undefined,
  ) {}

  async submit<O extends Op>(op: O, jws: unknown): Promise<Accepted | InstructionError<O>> {
    const verified = await verifySigned(jws, (issuer) => this.partners.findSigner(issuer), {
      typ: INSTRUCTION_TYP,
      audience: this.hubKeys.hubId,
      lifetimeSecondsMax: INSTRUCTION_LIFETIME_SECONDS_MAX,
      requiredClaims: ['iss', 'aud', 'jti', 'iat', 'exp'],
      clock: this.clock,
    });
    if (isDomainError(verified)) return verified;
    // Counted once the partner is proven, so that nobody can spend another partner's budget.
    const retryAfterSeconds = await this.partnerRateLimit(verified.signer.id);
    if (retryAfterSeconds !== undefined) {
      return fail(ErrorCode.RATE_LIMITED, `partner ${verified.signer.id} is over its rate limit; send again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
    const now = this.clock.now();
    const claims = parseInstructionClaims(op, verified.claims, now);
    // Only ops with an amount can have it refused; should another get here, the claim is still the sender's fault.
    if (isDomainError(claims))
      return opMayReturn(op, claims) ? claims : fail(ErrorCode.INVALID_INSTRUCTION, claims.message, { claim: 'amount' });
    const hash = requestHash(verified.claims as Record<string, unknown>);
    const partnerId = verified.signer.id;

    return this.inTransaction(op, async (tx) => {
      const claimed: unknown[] = await tx.query(
        `INSERT INTO instruction (partner_id, jti, op, kid, request_hash, request_jws, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (partner_id, jti) DO NOTHING RETURNING jti`,
        [partnerId, claims.jti, op, verified.kid, hash, jws, now],
      );
      if (claimed.length === 0) return this.replay(tx, partnerId, claims.jti, hash);
      const context: OperationContext = {
        partnerId,
        requestHash: hash,
        entryId: newId(),
        now,
        counterShards: this.counterShards,
        tiers: this.tiers,
        contracts: this.contracts,
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
    });
  }

  /**
   * A balance beyond PostgreSQL's bigint (SQLSTATE 22003) is the caller's amount, not a crash,
   * for the ops that move an amount (the others cannot overflow one, and have no InvalidAmount).
   */
  private async inTransaction<O extends Op>(
    op: O,
    work: (tx: EntityManager) => Promise<Accepted | InstructionError<O>>,
  ): Promise<Accepted | InstructionError<O>> {
    try {
      return await withTransaction(this.dataSource, work);
    } catch (error) {
      const tooLarge = fail(ErrorCode.INVALID_AMOUNT, 'the resulting balance would exceed the ledger limit', { amount: null });
      if (pgCode(error) === '22003' && opMayReturn(op, tooLarge)) return tooLarge;
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
    const rows: Array<{ op: Op; request_hash: string; receipt_jws: string; result: AcceptedData }> = await tx.query(
      'SELECT op, request_hash, receipt_jws, result FROM instruction WHERE partner_id = $1 AND jti = $2',
      [partnerId, jti],
    );
    const original = rows[0];
    if (!original || original.request_hash !== hash) {
      return fail(ErrorCode.IDEMPOTENCY_CONFLICT, `jti ${jti} was already used for a different instruction`, { jti });
    }
    return { op: original.op, jti, data: original.result, receipt: original.receipt_jws, replayed: true };
  }

  /** The receipt of an earlier instruction, for a partner that lost the response. */
  async findReceiptOrNull(partnerId: string, jti: string) {
    const rows: Array<{ jti: string; op: string; entry_id: string | null; receipt_jws: string; received_at: Date }> =
      await this.dataSource.query(
        'SELECT jti, op, entry_id, receipt_jws, received_at FROM instruction WHERE partner_id = $1 AND jti = $2',
        [partnerId, jti],
      );
    const row = rows[0];
    return row ? { jti: row.jti, op: row.op, entryId: row.entry_id, receipt: row.receipt_jws, receivedAt: row.received_at } : null;
  }
}
