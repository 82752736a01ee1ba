#!/usr/bin/env node
// The `ringside` command: parses arguments with commander and hands each subcommand to its module.
// Exit codes: 0 ok, 2 bad input, 1 internal error.
import { RINGSIDE_VERSION } from './version.js';
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { exitCodeFor, formatError } from './errors.js';

const program = new Command()
  .name('ringside')
  .description('Virtual-machine introspection and security monitoring for Linux guests')
  .version(RINGSIDE_VERSION)
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`ringside: ${formatError(error)}\n`);
  process.exitCode = exitCodeFor(error);
});
