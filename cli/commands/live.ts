// Live QEMU commands: `qemu-args` (make any guest attachable), `monitor` (stream events as NDJSON
// until Ctrl-C) and `ps` (a consistent live process list, taken with the guest paused).
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { config } from 'rxjs';
import { RingsideError } from '../../introspect/errors.js';
import { attachableArguments } from '../../introspect/backends/qemu/launch-args.js';
import { pluginPath } from '../../introspect/backends/qemu/plugin-path.js';
import { QemuDomain } from '../../introspect/backends/qemu/qemu-domain.js';
import { GdbDomain } from '../../introspect/backends/qemu/gdb-domain.js';
import { QmpClient } from '../../introspect/backends/qemu/qmp.js';
import { RamFileMemory } from '../../introspect/backends/qemu/ram-file-memory.js';
import { openLinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { openLiveKernel } from '../../introspect/os/linux/live-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { execMonitor } from '../../plugins/exec-monitor/index.js';
import type { DetectorPlugin } from '../../plugins/types.js';
import { formatTable, toJson } from '../table.js';
import { taskJson } from './snapshot.js';

const DETECTORS: Record<string, DetectorPlugin> = { exec: execMonitor };

const ndjson = (value: unknown): string =>
  JSON.stringify(value, (_key, item) =>
    typeof item === 'bigint' ? `0x${item.toString(16)}` : item,
  );

export function registerLiveCommands(program: Command): void {
  program
    .command('qemu-args')
    .description(
      'Print the QEMU arguments that make a guest attachable (plugin, shared RAM, QMP and plugin sockets)',
    )
    .requiredOption('--name <name>', 'guest name (names the RAM file and sockets)')
    .option('--run-dir <dir>', 'directory for sockets and logs', '/run/ringside')
    .option('--memory <MiB>', 'guest RAM in MiB', '2048')
    .option('--vcpus <n>', 'virtual CPUs', '2')
    .option('--shell', 'print one shell-quoted line instead of one argument per line')
    .action(
      (options: {
        name: string;
        runDir: string;
        memory: string;
        vcpus: string;
        shell?: boolean;
      }) => {
        const runDir = join(resolve(options.runDir), options.name);
        const args = attachableArguments({
          name: options.name,
          runDir,
          memoryMiB: Number(options.memory),
          vcpus: Number(options.vcpus),
          plugin: { path: pluginPath(), socket: join(runDir, 'plugin.sock') },
        });
        const quote = (arg: string): string =>
          /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
        process.stdout.write(
          options.shell ? `${args.map(quote).join(' ')}\n` : `${args.join('\n')}\n`,
        );
        process.stderr.write(
          `create ${runDir} first; add your own disks, network, display and boot options.\n`,
        );
      },
    );

  program
    .command('monitor')
    .description('Attach to a running QEMU guest and stream events as NDJSON until Ctrl-C')
    .option('--plugin-socket <path>', 'the socket of Ringside’s TCG plugin in that QEMU')
    .option(
      '--gdb <path>',
      'without the plugin: QEMU’s gdbstub socket (slow breakpoints, exec hooks only)',
    )
    .requiredOption('--ram <file>', 'the guest’s RAM backing file (memory-backend-file, share=on)')
    .option('--qmp <path>', 'QMP socket (for pause/resume)')
    .option('--name <name>', 'guest name in events', 'guest')
    .option(
      '--plugins <list>',
      `detectors to run, comma-separated (${Object.keys(DETECTORS).join(', ')})`,
      'exec',
    )
    .action(
      async (options: {
        pluginSocket?: string;
        gdb?: string;
        ram: string;
        qmp?: string;
        name: string;
        plugins: string;
      }) => {
        if (!options.pluginSocket && !options.gdb) {
          throw new RingsideError(
            'BAD_INPUT',
            'monitor needs --plugin-socket (Ringside’s TCG plugin) or, as a slow fallback, --gdb',
          );
        }
        const chosen = options.plugins
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        const unknown = chosen.filter((name) => !DETECTORS[name]);
        if (unknown.length)
          throw new RingsideError(
            'BAD_INPUT',
            `unknown plugin(s): ${unknown.join(', ')} (known: ${Object.keys(DETECTORS).join(', ')})`,
          );
        // A throwing subscriber must not take the monitor down.
        config.onUnhandledError = (error) =>
          process.stderr.write(`ringside: subscriber failed: ${String(error)}\n`);
        const qmp = options.qmp ? await QmpClient.connect(options.qmp) : undefined;
        const common = { name: options.name, ramFile: options.ram, ...(qmp ? { qmp } : {}) };
        const domain = options.pluginSocket
          ? await QemuDomain.attach({ ...common, pluginSocket: options.pluginSocket })
          : await GdbDomain.attach({ ...common, gdbSocket: options.gdb! });
        if (!options.pluginSocket) {
          process.stderr.write(
            'ringside: no plugin: using the gdbstub fallback (every hook change flushes QEMU’s code cache; expect a much slower guest)\n',
          );
        }
        const kernel = openLiveKernel(domain);
        process.stderr.write(
          `attached to ${options.name}: Linux ${kernel.release}; plugins: ${chosen.join(', ')}; Ctrl-C to detach\n`,
        );
        await new Promise<void>((done, fail) => {
          const subscriptions = chosen.map((name) =>
            DETECTORS[name]!.start({ domain, kernel }).subscribe({
              next: (event) => process.stdout.write(`${ndjson(event)}\n`),
              error: (error: Error) => fail(error),
            }),
          );
          const stop = (): void => {
            for (const subscription of subscriptions) subscription.unsubscribe();
            domain.close().then(() => done(), fail);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        process.stderr.write('detached; the guest runs on\n');
      },
    );

  program
    .command('ps')
    .description('A consistent live process list: the guest is paused while its task list is read')
    .requiredOption('--ram <file>', 'the guest’s RAM backing file (memory-backend-file, share=on)')
    .requiredOption('--qmp <path>', 'QMP socket, to pause and resume the guest')
    .option('--json', 'print a JSON array')
    .action(async (options: { ram: string; qmp: string; json?: boolean }) => {
      const memory = new RamFileMemory(options.ram);
      const qmp = await QmpClient.connect(options.qmp);
      try {
        const kernel = openLinuxKernel(memory, []);
        await qmp.execute('stop');
        kernel.newGeneration();
        let list;
        try {
          list = listTasks(kernel);
        } finally {
          await qmp.execute('cont');
        }
        if (list.problem)
          process.stderr.write(`ringside: warning: partial answer: ${list.problem.message}\n`);
        if (options.json) {
          process.stdout.write(`${toJson(list.tasks.map(taskJson))}\n`);
        } else {
          process.stdout.write(
            `${formatTable(
              [
                { header: 'PID', value: (t: (typeof list.tasks)[number]) => t.pid, align: 'right' },
                { header: 'PPID', value: (t) => t.ppid, align: 'right' },
                { header: 'UID', value: (t) => t.uid, align: 'right' },
                { header: 'KTHREAD', value: (t) => (t.kernelThread ? 'yes' : '') },
                { header: 'COMM', value: (t) => t.comm },
              ],
              list.tasks,
            )}\n`,
          );
        }
      } finally {
        qmp.close();
        memory.close();
      }
    });
}
