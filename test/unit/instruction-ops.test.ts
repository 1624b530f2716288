/**
 * Metrics count signed instructions by op through INSTRUCTION_MUTATIONS: it must name every
 * mutation that takes a signed instruction, as the printed schema has them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse } from 'graphql';
import { OPS } from '@coalition-hub/partner-sdk';
import { INSTRUCTION_MUTATIONS } from '../../src/graphql/instruction-ops';

function signedMutationsInSchema(): string[] {
  const document = parse(readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8'));
  const names: string[] = [];
  for (const definition of document.definitions) {
    if (
      (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) ||
      definition.name.value !== 'Mutation'
    )
      continue;
    for (const field of definition.fields ?? []) {
      if (field.arguments?.some((argument) => argument.name.value === 'instruction')) names.push(field.name.value);
    }
  }
  return names.sort();
}

it('names every Mutation field with an instruction argument, and only those', () => {
  const inSchema = signedMutationsInSchema();
  expect(inSchema.length).toBeGreaterThanOrEqual(10);
  expect(Object.keys(INSTRUCTION_MUTATIONS).sort()).toEqual(inSchema);
});

it('maps them onto every op of the protocol, one mutation each', () => {
  expect(Object.values(INSTRUCTION_MUTATIONS).sort()).toEqual([...OPS].sort());
});
