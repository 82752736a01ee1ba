// Every subcommand of `ringside`, registered on one commander program.
import type { Command } from 'commander';

export function registerCommands(_program: Command): void {}
