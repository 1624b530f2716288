import { hubKeyCommand } from './commands/hub-key';

/** Runs `hub-key` on its own until the package's single command line takes it as a subcommand. */
void hubKeyCommand().parseAsync(process.argv);
