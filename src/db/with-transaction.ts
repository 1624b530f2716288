import type { DataSource, EntityManager } from 'typeorm';
import { isDomainError } from '../common/errors';
import { limits } from '../config/limits';

/** SQLSTATEs after which the whole transaction may simply be tried again. */
const RETRYABLE = new Set(['40001', '40P01']);

export const pgCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;

/** A serialization failure or a deadlock: the transaction may simply be tried again. */
export const isRetryable = (error: unknown): boolean => RETRYABLE.has(pgCode(error) ?? '');

/**
 * Runs `work` in one READ COMMITTED database transaction. If the work *returns* a DomainError
 * the transaction is rolled back — an error result means nothing was written — and the error
 * is returned. Serialization failures and deadlocks are retried a bounded number of times.
 * The handle is passed explicitly so no query can run outside the transaction by accident.
 */
export async function withTransaction<T>(dataSource: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction(); // READ COMMITTED: set on every connection (data-source.ts)
      const result = await work(runner.manager);
      if (isDomainError(result)) await runner.rollbackTransaction();
      else await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (attempt < limits.transactionRetriesMax && isRetryable(error)) continue;
      throw error;
    } finally {
      await runner.release();
    }
  }
}
