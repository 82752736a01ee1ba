// Lazy command registration: naming one command must register it exactly as the full program does
// (subcommands and options, recursively); help, options and unknown words register everything, and
// --version alone nothing.
import { Command } from 'commander';
import { COMMAND_MODULES, registerCommands } from './index.js';

/** A command's shape: its name, options and subcommands, recursively. */
function shape(command: Command): unknown {
  return {
    name: command.name(),
    options: command.options.map((option) => option.flags),
    commands: command.commands.map(shape),
  };
}

async function program(argv: string[]): Promise<Command> {
  const made = new Command();
  await registerCommands(made, ['node', 'ringside', ...argv]);
  return made;
}

describe('registerCommands', () => {
  it('registers every module for help, options and unknown words', async () => {
    const full = await program([]);
    expect(full.commands.length).toBeGreaterThan(10);
    for (const argv of [['--help'], ['help', 'snapshot'], ['snapshots', 'report'], ['-V', '-h']])
      expect(shape(await program(argv))).toEqual(shape(full));
  });

  it('registers nothing for --version alone', async () => {
    for (const flag of ['--version', '-V'])
      expect((await program([flag])).commands).toHaveLength(0);
  });

  it('registers each top-level command as the full program does when it is named', async () => {
    const full = await program([]);
    const words = full.commands.map((command) => command.name());
    expect(words).toEqual(
      expect.arrayContaining(['snapshot', 'monitor', 'rules', 'agent', 'report']),
    );
    for (const word of words) {
      const lazy = await program([word, 'x', '--flag']);
      const mine = lazy.commands.find((command) => command.name() === word);
      expect(mine && shape(mine)).toEqual(shape(full.commands.find((c) => c.name() === word)!));
      // Only the modules that declare the word were loaded.
      expect(lazy.commands.length).toBeLessThan(full.commands.length);
    }
  });

  it('declares only words the modules register', async () => {
    const words = new Set((await program([])).commands.map((command) => command.name()));
    for (const module of COMMAND_MODULES)
      for (const name of module.names) expect(words).toContain(name);
  });
});
