/**
 * Entry types and op names are listed once in code (src/ledger/entry-types.ts, the partner SDK's
 * OPS); the migrated database's CHECK constraints, the GraphQL enums and the signed mutations
 * must say exactly the same, so that a new entry type or op cannot be added in one place only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { buildSchema, GraphQLEnumType } from 'graphql';
import { OPS } from '@coalition-hub/partner-sdk';
import { ENTRY_TYPES, LOT_CONSUMPTION_KINDS } from '../../src/ledger/entry-types';
import { INSTRUCTION_MUTATIONS } from '../../src/graphql/instruction-ops';
import { OP_ERRORS } from '../../src/common/op-errors';
import { createTestDatabase, dropTestDatabase } from '../helpers/database';

let database: { name: string; url: string };
let sql: Client;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = new Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await sql.end();
  await dropTestDatabase(database.name);
});

/** The values a CHECK constraint of `table` allows for `column` (`column IN (…)`, as PostgreSQL prints it). */
async function allowedValues(table: string, column: string): Promise<string[]> {
  const { rows } = await sql.query<{ definition: string }>(
    `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'`,
    [table],
  );
  const lists = rows
    .map((row) => new RegExp(`^CHECK \\(\\(${column} = ANY \\(ARRAY\\[(.*)\\]\\)\\)\\)$`).exec(row.definition)?.[1])
    .filter((list): list is string => list !== undefined);
  expect(lists).toHaveLength(1);
  return [...lists[0]!.matchAll(/'([^']*)'::text/g)].map((match) => match[1]!);
}

const sorted = (values: readonly string[]) => [...values].sort();

it('journal_entry.type allows exactly the entry types', async () => {
  expect(sorted(await allowedValues('journal_entry', 'type'))).toEqual(sorted(ENTRY_TYPES));
});

it('lot_consumption.kind allows exactly the entry types that consume lots', async () => {
  expect(sorted(await allowedValues('lot_consumption', 'kind'))).toEqual(sorted(LOT_CONSUMPTION_KINDS));
});

it("instruction.op allows exactly the partner SDK's ops", async () => {
  expect(sorted(await allowedValues('instruction', 'op'))).toEqual(sorted(OPS));
});

it('the GraphQL enum EntryType has exactly the entry types, in order', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8'));
  const values = (schema.getType('EntryType') as GraphQLEnumType).getValues().map((value) => value.value as string);
  expect(values).toEqual([...ENTRY_TYPES]);
});

it('every op has its signed mutation and its list of error codes', () => {
  expect(sorted(Object.values(INSTRUCTION_MUTATIONS))).toEqual(sorted(OPS));
  for (const op of OPS) expect(OP_ERRORS[op].length).toBeGreaterThan(0);
});
