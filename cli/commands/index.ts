// Every subcommand of `ringside`, registered on one commander program.
import type { Command } from 'commander';
import { registerDemoCommand } from './demo.js';
import { registerFleetCommands } from './fleet.js';
import { registerGuestCommands } from './guest.js';
import { registerLabCommands } from './lab.js';
import { registerLiveCommands } from './live.js';
import { registerProfileCommands } from './profile.js';
import { registerQemuGuestCommands } from './qemu-guests.js';
import { registerSessionReport } from './report.js';
import { registerRulesCommands } from './rules-commands.js';
import { registerSinksCommands } from './sinks.js';
import { registerSnapshotCommands } from './snapshot.js';
import { registerStatusCommand } from './status.js';

export function registerCommands(program: Command): void {
  registerSnapshotCommands(program);
  registerDemoCommand(program);
  registerGuestCommands(program);
  registerLabCommands(program);
  registerLiveCommands(program);
  registerProfileCommands(program);
  registerRulesCommands(program);
  registerSessionReport(program);
  registerStatusCommand(program);
  registerSinksCommands(program);
  registerQemuGuestCommands(program);
  registerFleetCommands(program);
}
