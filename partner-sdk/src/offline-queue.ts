/**
 * A durable queue of signed instructions for a till (or an import) that keeps working while the
 * hub cannot be reached, and sends what it kept as batches once the hub is back (docs/batches.md).
 *
 * The queue is one file of JSON lines, appended to and fsynced before `enqueue` resolves:
 *   {"add":{"jti":"…","jws":"…"}}   an instruction kept
 *   {"done":["jti",…]}              instructions the hub answered definitively
 * Opening the file replays it (a torn last line, from a crash mid-append, is dropped: its
 * `enqueue` never resolved) and rewrites it with only the pending instructions (temporary file,
 * fsync, rename, fsync of the directory). An instruction leaves the queue only after a definitive
 * answer: accepted (or replayed), or refused for a reason that sending it again cannot change.
 * Network errors, timeouts, 429/503, RATE_LIMITED and an item's internal error keep it. Nothing is
 * applied twice: a resent instruction carries the same jti, and the hub answers a jti it accepted
 * with the original receipt. One process at a time may use a queue file.
 */
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeJwt } from 'jose';
import type { BatchItemOutcome, FailureOutcome, SuccessOutcome } from './client';
import { HubRequestError } from './errors';
import type { FieldsByOp } from './fields';
import { BATCH_INSTRUCTIONS_MAX, type Op } from './protocol';
import type { SignedInstruction } from './instructions';

/** The part of PartnerClient a queue uses. */
export interface QueueClient {
  submitBatch(jwsList: readonly string[]): Promise<BatchItemOutcome[]>;
  sign<O extends Op>(op: O, fields: FieldsByOp[O], opts?: { jti?: string; lifetimeSeconds?: number }): Promise<SignedInstruction<O>>;
  resign(jws: string, lifetimeSeconds?: number): Promise<SignedInstruction>;
}

export interface OfflineQueueOptions {
  /** Instructions per request when draining; at most (and by default) BATCH_INSTRUCTIONS_MAX. */
  batchSize?: number;
  /** Re-sign a kept instruction (same claims and jti, fresh iat/exp) when it expires within this many seconds. Default 30. */
  resignMarginSeconds?: number;
}

export interface QueuedInstruction {
  jti: string;
  jws: string;
}

export interface DrainResult {
  /** Accepted now, or earlier (replayed: true): gone from the queue. */
  accepted: SuccessOutcome[];
  /** Refused for good (e.g. INSUFFICIENT_BALANCE, IDEMPOTENCY_CONFLICT): gone from the queue; nothing of them was written. */
  refused: FailureOutcome[];
  /** Still queued: the hub was unreachable, busy or rate limiting, or failed on them; drain again later. */
  remaining: number;
  /** Why draining stopped early (the hub unreachable, 503, 429...), if it did. */
  stoppedBy?: HubRequestError;
}

/** Refusals that sending the same instruction again later may turn into an acceptance. */
const KEEP_CODES = new Set(['RATE_LIMITED', 'INSTRUCTION_EXPIRED', 'INSTRUCTION_NOT_YET_VALID']);

/** Whether an item's answer settles it (it leaves the queue). */
export function isDefinitive(outcome: BatchItemOutcome): boolean {
  if (outcome.ok) return true;
  return outcome.errorCode !== null && !KEEP_CODES.has(outcome.errorCode);
}

/** The pending instructions a queue file holds, in order: adds minus dones; a torn last line is ignored. */
export function replayQueueLog(text: string): QueuedInstruction[] {
  const pending = new Map<string, QueuedInstruction>();
  const lines = text.split('\n');
  lines.forEach((line, number) => {
    if (line.trim() === '') return;
    let record: { add?: QueuedInstruction; done?: string[] };
    try {
      record = JSON.parse(line) as typeof record;
    } catch (cause) {
      // Only the last line can be torn (an append that a crash cut short); anything else is damage.
      if (number === lines.length - 1) return;
      throw new Error(`queue file line ${number + 1} is not JSON`, { cause });
    }
    if (record.add && typeof record.add.jti === 'string' && typeof record.add.jws === 'string') {
      pending.set(record.add.jti, { jti: record.add.jti, jws: record.add.jws });
    } else if (Array.isArray(record.done)) {
      for (const jti of record.done) pending.delete(jti);
    } else {
      throw new Error(`queue file line ${number + 1} is not a queue record`);
    }
  });
  return [...pending.values()];
}

export class OfflineQueue {
  private pending: QueuedInstruction[];
  private file: FileHandle | undefined;
  /** Every file operation and drain runs after the previous one. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly batchSize: number;
  private readonly resignMarginSeconds: number;

  private constructor(
    readonly path: string,
    private readonly client: QueueClient,
    pending: QueuedInstruction[],
    file: FileHandle,
    options: OfflineQueueOptions,
  ) {
    this.pending = pending;
    this.file = file;
    this.batchSize = options.batchSize ?? BATCH_INSTRUCTIONS_MAX;
    this.resignMarginSeconds = options.resignMarginSeconds ?? 30;
  }

  /** Opens (or creates) the queue file at `path`, with what an earlier process left in it. */
  static async open(path: string, client: QueueClient, options: OfflineQueueOptions = {}): Promise<OfflineQueue> {
    const batchSize = options.batchSize ?? BATCH_INSTRUCTIONS_MAX;
    if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= BATCH_INSTRUCTIONS_MAX)) {
      throw new RangeError(`batchSize must be a whole number from 1 to ${BATCH_INSTRUCTIONS_MAX}`);
    }
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const pending = replayQueueLog(text);
    await rewrite(path, pending);
    const file = await open(path, 'a');
    return new OfflineQueue(path, client, pending, file, options);
  }

  /** Instructions waiting, oldest first. */
  get size(): number {
    return this.pending.length;
  }

  list(): readonly QueuedInstruction[] {
    return [...this.pending];
  }

  /**
   * Keeps an instruction signed by this partner (see PartnerClient.sign); resolves once it is on
   * disk. Its jti must not be queued already.
   */
  async enqueue(jws: string): Promise<QueuedInstruction> {
    const jti = decodeJwt(jws).jti;
    if (typeof jti !== 'string') throw new TypeError('the instruction has no jti');
    return this.next(async () => {
      if (this.pending.some((item) => item.jti === jti)) throw new TypeError(`jti ${jti} is queued already`);
      const item = { jti, jws };
      await this.append({ add: item });
      this.pending.push(item);
      return item;
    });
  }

  /** Signs op and fields with the client's key and keeps the instruction (see enqueue). */
  async add<O extends Op>(op: O, fields: FieldsByOp[O], opts: { jti?: string } = {}): Promise<QueuedInstruction> {
    const signed = await this.client.sign(op, fields, opts);
    return this.enqueue(signed.jws);
  }

  /**
   * Sends what is queued, oldest first, in batches, and removes what the hub answered
   * definitively. Stops at the first batch that could not be delivered (hub unreachable, 503,
   * 429...) and resolves with what it did: call it again later. Instructions that expired while
   * kept are re-signed first (same claims and jti).
   */
  drain(): Promise<DrainResult> {
    return this.next(async () => {
      const result: DrainResult = { accepted: [], refused: [], remaining: this.pending.length };
      while (this.pending.length > 0) {
        const batch = await this.fresh(this.pending.slice(0, this.batchSize));
        let outcomes: BatchItemOutcome[];
        try {
          outcomes = await this.client.submitBatch(batch.map((item) => item.jws));
        } catch (error) {
          if (error instanceof HubRequestError && error.retryable) {
            result.stoppedBy = error;
            break;
          }
          throw error;
        }
        const settled = new Set<string>();
        for (const outcome of outcomes) {
          if (!isDefinitive(outcome)) continue;
          settled.add(outcome.jti);
          if (outcome.ok) result.accepted.push(outcome);
          else if (outcome.errorCode !== null) result.refused.push(outcome);
        }
        if (settled.size > 0) await this.append({ done: [...settled] });
        this.pending = this.pending.filter((item) => !settled.has(item.jti));
        result.remaining = this.pending.length;
        // Something in this batch must wait (rate limit, internal error): try later, in order.
        if (settled.size < batch.length) break;
      }
      if (this.pending.length === 0) await this.compact();
      return result;
    });
  }

  /** Closes the file; the queue keeps what it holds for the next open. */
  close(): Promise<void> {
    return this.next(async () => {
      await this.file?.close();
      this.file = undefined;
    });
  }

  /** The items with every one that expires within the margin re-signed (and the new JWS kept on disk). */
  private async fresh(items: QueuedInstruction[]): Promise<QueuedInstruction[]> {
    const now = Math.floor(Date.now() / 1000);
    const out: QueuedInstruction[] = [];
    for (const item of items) {
      const exp = decodeJwt(item.jws).exp;
      if (typeof exp === 'number' && exp - this.resignMarginSeconds > now) {
        out.push(item);
        continue;
      }
      const resigned = await this.client.resign(item.jws);
      const renewed = { jti: item.jti, jws: resigned.jws };
      // The same jti again: replaying the file keeps the newer JWS.
      await this.append({ add: renewed });
      this.pending = this.pending.map((queued) => (queued.jti === item.jti ? renewed : queued));
      out.push(renewed);
    }
    return out;
  }

  private async append(record: object): Promise<void> {
    if (!this.file) throw new Error('the queue is closed');
    await this.file.write(`${JSON.stringify(record)}\n`);
    await this.file.sync();
  }

  /** Rewrites the file with only what is pending (after a full drain), so that it does not grow without end. */
  private async compact(): Promise<void> {
    if (!this.file) throw new Error('the queue is closed');
    await this.file.close();
    this.file = undefined;
    await rewrite(this.path, this.pending);
    this.file = await open(this.path, 'a');
  }

  private next<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }
}

/** Replaces the file at `path` by one holding exactly `pending`, atomically and durably. */
async function rewrite(path: string, pending: readonly QueuedInstruction[]): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(pending.map((item) => `${JSON.stringify({ add: item })}\n`).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
