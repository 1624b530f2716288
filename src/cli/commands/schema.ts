import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../package-info';
import { CliError } from '../program';

const SCHEMA_FILE = 'schema/schema.graphql';

/** The subgraph SDL, exactly as `_service { sdl }` answers it (docs/federation.md). */
async function printedSchema(): Promise<string> {
  const { buildSchemaForPrinting } = await import('../../graphql/schema.js');
  const { serviceSdl } = await import('../../graphql/federation.js');
  return `${await serviceSdl(await buildSchemaForPrinting())}\n`;
}

/** `coalition-hub schema print|check`: the GraphQL SDL the code defines, and drift against the committed file. */
export function schemaCommand(): Command {
  const schema = new Command('schema').description(
    `the GraphQL schema the code defines, as its Federation 2 subgraph SDL (what _service { sdl } answers), committed as ${SCHEMA_FILE}`,
  );

  schema
    .command('print')
    .description(`write the SDL to ${SCHEMA_FILE} (or --out)`)
    .option('-o, --out <file>', 'write here instead ("-" for standard output)')
    .action(async (options: { out?: string }) => {
      const sdl = await printedSchema();
      if (options.out === '-') {
        process.stdout.write(sdl);
        return;
      }
      const target = options.out ? resolve(options.out) : resolve(packageRoot(), SCHEMA_FILE);
      writeFileSync(target, sdl);
      console.log(`wrote ${target}`);
    });

  schema
    .command('check')
    .description(`exit 1 when ${SCHEMA_FILE} (or --file) differs from the SDL the code defines`)
    .option('-f, --file <file>', 'the file to compare instead')
    .action(async (options: { file?: string }) => {
      const target = options.file ? resolve(options.file) : resolve(packageRoot(), SCHEMA_FILE);
      const sdl = await printedSchema();
      let current: string;
      try {
        current = readFileSync(target, 'utf8');
      } catch {
        throw new CliError(`cannot read ${target}: run \`coalition-hub schema print\` and commit it`);
      }
      if (current !== sdl) throw new CliError(`${target} is out of date: run \`npm run schema:print\` and commit it`);
      console.log(`${target} matches the code`);
    });

  return schema;
}
