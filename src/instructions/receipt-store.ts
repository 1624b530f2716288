import type { DataSource } from 'typeorm';

/**
 * Receipts of instructions applied in one statement (movement-statement.ts) are signed after the
 * commit, so that no receipt ever exists for an entry that did not commit, and stored here a few
 * milliseconds later, many per statement, off the request's path, in `instruction_receipt` (a row
 * of their own: updating the instruction row would write the whole row again). Until a receipt is stored (or if
 * the hub stops before), whoever asks for it — a replay of the jti, a receipt look-up — gets it
 * signed again from the stored result with the instruction's time as iat: the same claims
 * (docs/protocol.md, "Receipts").
 */
/**
 * An instruction's stored receipt as a select-list item (`receipt_jws`) of a query on `instruction`:
 * the one stored here after the commit, or the column the instruction's operation wrote with it.
 */
export const STORED_RECEIPT =
  'coalesce(instruction.receipt_jws, (SELECT r.receipt_jws FROM instruction_receipt r WHERE r.partner_id = instruction.partner_id AND r.jti = instruction.jti)) AS receipt_jws';

export class ReceiptStore {
  private pending: Array<{ partnerId: string; jti: string; receipt: string }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly onError: (error: unknown, count: number) => void,
    /** How long a receipt waits for others to share its statement. */
    private readonly delayMs = 10,
    /** A statement stores at most this many. */
    private readonly batchMax = 500,
  ) {}

  add(partnerId: string, jti: string, receipt: string): void {
    this.pending.push({ partnerId, jti, receipt });
    if (this.pending.length >= this.batchMax) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Stores what is waiting; resolves when every receipt added before the call is stored (or its failure logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.flushing = this.flushing.then(() =>
        this.dataSource
          .query(
            `INSERT INTO instruction_receipt (partner_id, jti, receipt_jws)
             SELECT r.partner_id, r.jti, r.receipt FROM unnest($1::text[], $2::text[], $3::text[]) AS r(partner_id, jti, receipt)
             WHERE EXISTS (SELECT 1 FROM instruction i WHERE i.partner_id = r.partner_id AND i.jti = r.jti AND i.receipt_jws IS NULL)
             ON CONFLICT (partner_id, jti) DO NOTHING`,
            [batch.map((item) => item.partnerId), batch.map((item) => item.jti), batch.map((item) => item.receipt)],
          )
          .then(
            () => undefined,
            (error: unknown) => this.onError(error, batch.length),
          ),
      );
    }
    return this.flushing;
  }
}
