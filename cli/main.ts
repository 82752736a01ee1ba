#!/usr/bin/env node
// The `ringside` command: parses arguments with commander and hands each subcommand to its module.
// Exit codes: 0 ok, 2 bad input, 1 internal error.
import { RINGSIDE_VERSION } from './version.js';
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { exitCodeFor, formatError } from './errors.js';
import { escapeLinesForTerminal } from '../sinks/text/terminal.js';

const program = new Command()
  .name('ringside')
  .description('Virtual-machine introspection and security monitoring for Linux guests')
  .version(RINGSIDE_VERSION)
  .showHelpAfterError();

await registerCommands(program, process.argv);

// `ringside … | head`: the reader went away. Stop quietly, as other Unix tools do, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

program.parseAsync(process.argv).catch((error: unknown) => {
  // A message may quote guest data (a module name, a banner): escaped, so it cannot drive the terminal.
  process.stderr.write(`ringside: ${escapeLinesForTerminal(formatError(error))}\n`);
  process.exitCode = exitCodeFor(error);
});
