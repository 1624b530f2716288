import { createDataSource } from '../../src/db/data-source';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';

/**
 * The TypeORM entities describe the tables the migrations make (the migrations own constraints,
 * indexes and triggers). Every entity column must exist in the migrated database with the same
 * nullability, and every table an entity names must have no column the entity leaves out.
 */
it('maps every table column by column onto the migrated database', async () => {
  const database = await createTestDatabase();
  const dataSource = createDataSource(database.url, 1);
  await dataSource.initialize();
  try {
    const rows: Array<{ table_name: string; column_name: string; is_nullable: 'YES' | 'NO' }> = await dataSource.query(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    // The entities are the tables read through repositories; a missing one would make this test pass vacuously.
    expect(dataSource.entityMetadatas.map((entity) => entity.tableName).sort()).toEqual(['member', 'partner', 'partner_key']);
    const inDatabase = new Set(rows.map((row) => `${row.table_name}.${row.column_name} nullable=${row.is_nullable === 'YES'}`));
    for (const entity of dataSource.entityMetadatas) {
      const inEntity = entity.columns.map((column) => `${entity.tableName}.${column.databaseName} nullable=${column.isNullable}`);
      const tableInDatabase = [...inDatabase].filter((column) => column.startsWith(`${entity.tableName}.`));
      expect({ table: entity.tableName, columns: [...inEntity].sort() }).toEqual({
        table: entity.tableName,
        columns: tableInDatabase.sort(),
      });
    }
  } finally {
    await dataSource.destroy();
    await dropTestDatabase(database.name);
  }
});
