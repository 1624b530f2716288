import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSchema } from 'graphql';
import { buildSchemaForPrinting } from '../graphql/schema';

/** Prints the SDL to schema/schema.graphql, or with --check fails when the file has drifted. */
async function main(): Promise<void> {
  const target = resolve(__dirname, '../../../schema/schema.graphql');
  const sdl = `${printSchema(await buildSchemaForPrinting())}\n`;
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== sdl) {
      console.error('schema/schema.graphql is out of date: run `npm run schema:print` and commit it');
      process.exit(1);
    }
    console.log('schema/schema.graphql matches the code');
    return;
  }
  writeFileSync(target, sdl);
  console.log(`wrote ${target}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
