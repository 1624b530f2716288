import type { EntityManager } from 'typeorm';
import { assert } from '../common/assert';

/**
 * The rows of any statement, `UPDATE … RETURNING` included: TypeORM's `EntityManager.query`
 * answers `[rows, count]` for UPDATE and DELETE on PostgreSQL, which is easy to misread.
 */
export async function queryRows<T>(tx: EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  assert(tx.queryRunner, 'queryRows runs inside a transaction');
  const result = await tx.queryRunner.query(text, params, true);
  return result.records as T[];
}
