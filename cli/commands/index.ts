// Every subcommand of `ringside`, registered on one commander program. A run loads only the modules
// of the command it names (loading them all costs about 0.3 s of CPU); help and unknown names get all.
import type { Command } from 'commander';

type Register = (program: Command) => void;

interface CommandModule {
  /** The top-level command words this module registers (or adds subcommands to). */
  names: readonly string[];
  load: () => Promise<Register>;
}

/** In the order of `ringside --help`. The rules module comes before fleet's, which adds `rules worker`
 *  (and needs `rules` to exist, so fleet's words load both). */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    names: ['snapshot'],
    load: async () => (await import('./snapshot.js')).registerSnapshotCommands,
  },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemoCommand },
  { names: ['guest'], load: async () => (await import('./guest.js')).registerGuestCommands },
  { names: ['lab'], load: async () => (await import('./lab.js')).registerLabCommands },
  {
    names: ['qemu-args', 'monitor', 'ps'],
    load: async () => (await import('./live.js')).registerLiveCommands,
  },
  { names: ['top'], load: async () => (await import('./top.js')).registerTopCommand },
  { names: ['profile'], load: async () => (await import('./profile.js')).registerProfileCommands },
  {
    names: ['rules', 'agent', 'detect'],
    load: async () => (await import('./rules-commands.js')).registerRulesCommands,
  },
  { names: ['report'], load: async () => (await import('./report.js')).registerSessionReport },
  { names: ['status'], load: async () => (await import('./status.js')).registerStatusCommand },
  { names: ['sinks'], load: async () => (await import('./sinks.js')).registerSinksCommands },
  {
    names: ['guests'],
    load: async () => (await import('./qemu-guests.js')).registerQemuGuestCommands,
  },
  {
    names: ['agent', 'detect', 'rules'],
    load: async () => (await import('./fleet.js')).registerFleetCommands,
  },
];

/** Registers the modules of the command `argv` names (`process.argv`: the word after node and the
 *  script), or all of them when it names none of theirs (help, a typo); none for `--version`. */
export async function registerCommands(
  program: Command,
  argv: readonly string[] = [],
): Promise<void> {
  const args = argv.slice(2);
  // `ringside --version` needs no command at all.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return;
  const word = args.find((argument) => !argument.startsWith('-'));
  const named = COMMAND_MODULES.filter(
    (module) => word !== undefined && module.names.includes(word),
  );
  for (const module of named.length > 0 ? named : COMMAND_MODULES) (await module.load())(program);
}
