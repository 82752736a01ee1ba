// `ringside lab xen up|down|exec|dump`: the Xen lab (Xen 4.17 + dom0 + the sample guest as a domU,
// all under QEMU emulation; see docs/xen.md). Commands run in dom0 as root.
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';
import {
  DOMU_NAME,
  labDown,
  labExec,
  labPaths,
  labUp,
  type DomuType,
} from '../../lab/xen/xen-lab.js';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function domuType(text: string): DomuType | 'none' {
  if (text === 'pvh' || text === 'pv' || text === 'none') return text;
  throw new InputError('not a domU type (pvh, pv or none)', `--domu ${text}`);
}

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('Labs for hypervisor backends');
  const xen = lab
    .command('xen')
    .description('Xen 4.17, a dom0 and the sample guest as a domU, under QEMU emulation');

  xen
    .command('up')
    .description('Boot the lab (cached Debian packages) and wait until dom0 serves commands')
    .option('--domu <type>', 'the sample domU: pvh, pv or none', 'pvh')
    .action(async (options: { domu: string }) => {
      const times = await labUp({ domu: domuType(options.domu), log: say });
      const fixed = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
      say(
        `Xen lab up: dom0 init ${fixed(times.dom0)} s, toolstack ${fixed(times.tools)} s, domU created ${fixed(times.domu)} s, ready ${fixed(times.ready)} s (serial log ${labPaths().serial})`,
      );
    });

  xen
    .command('down')
    .description('Stop the lab')
    .action(() => {
      say(labDown() ? 'Xen lab stopped' : 'the Xen lab was not running');
    });

  xen
    .command('exec')
    .description(`Run a shell command in dom0 (the domU is "${DOMU_NAME}"); exits with its status`)
    .argument('<command...>', 'the command')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .action(async (words: string[], options: { timeout: string }) => {
      const result = await labExec(words.join(' '), Number(options.timeout) * 1000);
      process.stdout.write(result.output);
      process.exitCode = result.status;
    });
}
