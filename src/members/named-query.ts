import type { Pool, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * A read sent as a named statement on the data source's pool: PostgreSQL parses and plans it once per
 * connection instead of on every call (the member reads are the hub's most frequent statements). It is
 * logged through the data source's logger like every statement TypeORM sends.
 */
export async function namedQuery<Row extends QueryResultRow>(
  dataSource: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  dataSource.logger.logQuery(text, values);
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  try {
    return (await pool.query<Row>({ name, text, values })).rows;
  } catch (error) {
    dataSource.logger.logQueryError(error as Error, text, values);
    throw error;
  }
}
