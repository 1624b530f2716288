#!/usr/bin/env node
'use strict';
// The package's command line (see docs/cli.md): the built CLI, never rebuilt here.
// In a checkout, `npm run build` makes it (and only recompiles what changed).
const { existsSync } = require('node:fs');
const { resolve } = require('node:path');

const entry = resolve(__dirname, '../dist/src/cli/main.js');
if (!existsSync(entry)) {
  process.stderr.write(`error: ${entry} is not built: run \`npm run build\` in ${resolve(__dirname, '..')}\n`);
  process.exit(1);
}
require(entry);
