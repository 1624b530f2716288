#!/usr/bin/env node
import 'reflect-metadata';
import { expireCommand } from './commands/expire';
import { hubKeyCommand } from './commands/hub-key';
import { kpisCommand } from './commands/kpis';
import { migrateCommand } from './commands/migrate';
import { operatorCommand } from './commands/operator';
import { schemaCommand } from './commands/schema';
import { serveCommand } from './commands/serve';
import { settlementCommand } from './commands/settlement';
import { createProgram, runCli } from './program';

/**
 * `coalition-hub <command>` (package.json `bin`; `node dist/src/cli/main.js` in the container):
 * the one command line of the hub. A command is a module in ./commands exporting
 * `<name>Command(): Command`; register it here with one line. See docs/cli.md.
 */
const program = createProgram([
  serveCommand,
  migrateCommand,
  operatorCommand,
  expireCommand,
  hubKeyCommand,
  settlementCommand,
  kpisCommand,
  schemaCommand,
]);

void runCli(program, process.argv);
