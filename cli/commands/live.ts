// Live QEMU commands: `qemu-args` (make any guest attachable), `monitor` (stream events as NDJSON
// until Ctrl-C) and `ps` (a consistent live process list, taken with the guest paused).
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError, RingsideError } from '../../introspect/errors.js';
import { parseAddress } from '../../introspect/memory/address.js';
import { attachableArguments } from '../../introspect/backends/qemu/launch-args.js';
import { pluginPath } from '../../introspect/backends/qemu/plugin-path.js';
import { DETECTOR_NAMES } from '../../plugins/names.js';
import { QmpClient } from '../../introspect/backends/qemu/qmp.js';
import { RamFileMemory } from '../../introspect/backends/qemu/ram-file-memory.js';
import { openLinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { VmControl } from '../../introspect/backends/qemu/vm-control.js';
import { pausedTaskList } from '../../introspect/os/linux/paused-task-list.js';
import { ndjsonLine } from '../../introspect/events/json.js';
import { formatTable, toJson } from '../table.js';
import { taskJson } from './snapshot.js';
import {
  HARDWARE_BREAKPOINT_NOTE,
  QEMU_PROCESS_DETECTORS,
  openQemuForPs,
  qemuTarget,
} from './qemu-guests.js';
import { makeDirectory } from '../../sinks/make-directory.js';

function ramBaseOption(text: string): bigint {
  try {
    return parseAddress(text);
  } catch (error) {
    throw new InputError('not an address', `--ram-base ${text}`, { cause: error });
  }
}

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
        try {
          makeDirectory(runDir, 0o700);
        } catch (error) {
          throw new InputError(
            `cannot create the run directory (${(error as NodeJS.ErrnoException).code})`,
            runDir,
            { cause: error },
          );
        }
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
          `sockets and RAM go to ${runDir}; add your own disks, network, display and boot options.\n`,
        );
      },
    );

  program
    .command('monitor')
    .description(
      'Attach to a running QEMU guest: stream detector events as NDJSON, or with --rules, findings to the sinks, until Ctrl-C',
    )
    .option('--plugin-socket <path>', 'the socket of Ringside’s TCG plugin in that QEMU')
    .option(
      '--gdb <path>',
      'without the plugin: QEMU’s gdbstub socket (slow breakpoints, exec hooks only)',
    )
    .option('--ram <file>', 'the guest’s RAM backing file (memory-backend-file, share=on)')
    .option(
      '--ram-base <address>',
      'guest-physical address of the RAM file’s first byte (0 on q35; 0x40000000 on ARM virt)',
    )
    .option('--qmp <path>', 'QMP socket (for pause/resume)')
    .option(
      '--qemu-pid <pid>',
      'any running QEMU, unchanged: RAM through its process, hooks as hardware breakpoints (needs --qmp)',
    )
    .option('--qemu <name>', 'the same, naming the QEMU by its -name')
    .option(
      '--libvirt <domain>',
      'a running libvirt domain, unchanged: the same, its monitor through libvirt (no --qmp)',
    )
    .option(
      '--name <name>',
      'guest name in events (default: the libvirt domain or QEMU’s -name with --libvirt/--qemu-pid/--qemu, else guest)',
    )
    .option(
      '--plugins <list>',
      `detectors to run, comma-separated (${DETECTOR_NAMES.join(', ')}; default: every one this guest can serve)`,
    )
    .option(
      '--plugin <modules...>',
      'your own detector modules (JavaScript ES modules exporting a DetectorPlugin, see docs/api.md)',
    )
    .option('--rules <paths...>', 'rule files or folders: print findings instead of events')
    .option(
      '--sinks <file>',
      'with --rules: also send findings to the sinks in this YAML/JSON file',
    )
    .option('--text', 'with --rules: findings readable on a terminal instead of ECS NDJSON')
    .option(
      '--tui',
      'a live terminal view (event rates, newest findings, process tree) instead of printing; q quits',
    )
    .option(
      '--report <file>',
      'with --rules: write an HTML session report there, on exit and every few minutes',
    )
    .option(
      '--report-every <minutes>',
      'with --report: minutes between writes (0: on exit only)',
      '5',
    )
    .option(
      '--dump-dir <dir>',
      'with --rules: where rules’ `snapshot` actions write their dumps (actions are logged on stderr)',
    )
    .action(
      async (options: {
        dumpDir?: string;
        report?: string;
        reportEvery: string;
        pluginSocket?: string;
        gdb?: string;
        ram?: string;
        qemuPid?: string;
        qemu?: string;
        libvirt?: string;
        ramBase?: string;
        qmp?: string;
        name?: string;
        plugins?: string;
        plugin?: string[];
        rules?: string[];
        sinks?: string;
        text?: boolean;
        tui?: boolean;
      }) => {
        if (options.tui) {
          if (options.text)
            throw new RingsideError('BAD_INPUT', '--tui shows findings itself: drop --text');
          (await import('../tui/monitor-view.js')).checkTerminal();
        }
        const base = options.ramBase !== undefined ? ramBaseOption(options.ramBase) : undefined;
        if (base !== undefined && !options.pluginSocket) {
          throw new RingsideError(
            'BAD_INPUT',
            '--ram-base needs --plugin-socket: the gdbstub fallback reads x86-64 guests only',
          );
        }
        const qemu = qemuTarget(options);
        // Without --name, a QEMU found by pid, name or libvirt domain is named as QEMU names it.
        const guestName = options.name ?? (qemu ? undefined : 'guest');
        if (!qemu && !options.pluginSocket && !options.gdb) {
          throw new RingsideError(
            'BAD_INPUT',
            'monitor needs --plugin-socket (Ringside’s TCG plugin), --qemu-pid/--qemu (any QEMU, with --qmp), --libvirt DOMAIN or, as a slow fallback, --gdb',
          );
        }
        if (qemu?.libvirt !== undefined && options.qmp)
          throw new RingsideError(
            'BAD_INPUT',
            '--libvirt takes no --qmp: libvirt owns the monitor (Ringside uses its pass-through)',
          );
        if (qemu && qemu.libvirt === undefined && !options.qmp)
          throw new RingsideError(
            'BAD_INPUT',
            '--qemu-pid/--qemu need --qmp: hooks are planted through QEMU’s monitor',
          );
        if (!qemu && options.ram === undefined)
          throw new RingsideError('BAD_INPUT', 'monitor needs --ram (or --qemu-pid/--qemu)');
        const explicit = options.plugins !== undefined;
        // Four debug registers: by default only detectors that fit (see docs/qemu.md).
        if (qemu && !explicit) process.stderr.write(`ringside: ${HARDWARE_BREAKPOINT_NOTE}\n`);
        const chosen = (
          options.plugins ?? (qemu ? QEMU_PROCESS_DETECTORS : DETECTOR_NAMES).join(',')
        )
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
        // Loaded here, not at start-up: the other commands need none of it.
        const [
          { config },
          { liveEvents, liveFindings, loadRules, openDomain, openGuestKernel },
          { chooseDetectors, runnableDetectors },
          { loadPluginModules },
          { openSinks, reportUndelivered },
        ] = await Promise.all([
          import('rxjs'),
          import('../../pipeline/index.js'),
          import('../../plugins/index.js'),
          import('../../pipeline/user-modules.js'),
          import('../sinks-setup.js'),
        ]);
        const plugins = [
          ...chooseDetectors(chosen),
          ...(await loadPluginModules(options.plugin ?? [])),
        ];
        if (options.sinks && !options.rules)
          throw new RingsideError('BAD_INPUT', '--sinks needs --rules (sinks take findings)');
        const rules = options.rules ? await loadRules(options.rules) : undefined;
        if (options.report && !options.rules)
          throw new RingsideError(
            'BAD_INPUT',
            '--report needs --rules (the report shows findings)',
          );
        const every = Number(options.reportEvery);
        if (!Number.isFinite(every) || every < 0)
          throw new RingsideError(
            'BAD_INPUT',
            `--report-every ${options.reportEvery}: not a number of minutes`,
          );
        const report = options.report
          ? (await import('../report/session-writer.js')).createSessionWriter(
              options.report,
              every * 60_000,
              guestName ?? qemu?.libvirt ?? qemu?.qemuName ?? 'guest',
            )
          : undefined;
        // A throwing subscriber must not take the monitor down.
        let view: import('../tui/monitor-view.js').MonitorView | undefined;
        const say = (line: string) =>
          view ? view.notice(line) : process.stderr.write(`ringside: ${line}\n`);
        config.onUnhandledError = (error) => say(`subscriber failed: ${String(error)}`);
        const { domain } = await openDomain(
          qemu?.libvirt !== undefined
            ? {
                kind: 'libvirt',
                domain: qemu.libvirt,
                ...(guestName !== undefined ? { name: guestName } : {}),
              }
            : qemu
              ? {
                  kind: 'qemu-process',
                  ...qemu,
                  ...(guestName !== undefined ? { name: guestName } : {}),
                  qmp: options.qmp!,
                }
              : options.pluginSocket
                ? {
                    kind: 'qemu',
                    name: guestName ?? 'guest',
                    pluginSocket: options.pluginSocket,
                    ramFile: options.ram!,
                    ...(base !== undefined ? { ramBase: base } : {}),
                    ...(options.qmp ? { qmp: options.qmp } : {}),
                  }
                : {
                    kind: 'gdb',
                    name: guestName ?? 'guest',
                    gdbSocket: options.gdb!,
                    ramFile: options.ram!,
                    ...(options.qmp ? { qmp: options.qmp } : {}),
                  },
        );
        if (qemu) {
          process.stderr.write(
            `ringside: no plugin: RAM through the QEMU process, exec/cred/module/exit hooks as hardware breakpoints (at most 4) in a gdbstub started for this session\n`,
          );
        } else if (!options.pluginSocket) {
          process.stderr.write(
            'ringside: no plugin: using the gdbstub fallback (every hook change flushes QEMU’s code cache; expect a much slower guest)\n',
          );
        }
        let sink: Awaited<ReturnType<typeof openSinks>> | undefined;
        try {
          const kernel = openGuestKernel(domain);
          // Plugins the user named must all run; of the default set, those this guest cannot
          // serve are left out with a warning each.
          const { runnable, refused } = runnableDetectors(plugins, { domain, kernel });
          if (refused.length > 0 && (explicit || (options.plugin ?? []).length > 0)) {
            throw new RingsideError('CAPABILITY', refused.join('\n'));
          }
          for (const line of refused) process.stderr.write(`ringside: warning: ${line}\n`);
          // The live view takes the terminal: findings go to it (and to --sinks), not to stdout.
          sink =
            rules && (!options.tui || options.sinks)
              ? await openSinks({
                  text: options.text === true,
                  ...(options.sinks ? { sinksFile: options.sinks } : {}),
                  ...(options.tui ? { stdout: false } : {}),
                })
              : undefined;
          process.stderr.write(
            `attached to ${domain.name}: Linux ${kernel.release} (${kernel.arch.label}); plugins: ${runnable.map((plugin) => plugin.meta.id).join(', ')}; Ctrl-C to detach\n`,
          );
          const live = {
            domain,
            kernel,
            plugins: runnable,
            reboots: {
              notify: say,
              onRestarted: () => void domain.synced().then(() => say('hooks planted')),
            },
          };
          if (options.tui)
            view = (await import('../tui/monitor-view.js')).openMonitorView(
              domain.name,
              kernel,
              runnable.map((plugin) => plugin.meta.id),
            );
          const shown = view;
          await new Promise<void>((done, fail) => {
            const subscription = rules
              ? liveFindings({
                  ...live,
                  rules,
                  ...(sink ? { sink } : {}),
                  ...(options.dumpDir ? { response: { snapshotDir: options.dumpDir } } : {}),
                  ...(shown || report
                    ? {
                        onEvent: (event) => {
                          shown?.event(event);
                          report?.event(event);
                        },
                      }
                    : {}),
                }).subscribe({
                  next: (finding) => {
                    report?.add(finding);
                    shown?.finding(finding);
                  },
                  error: (error: Error) => fail(error),
                })
              : liveEvents(live).subscribe({
                  next: (event) =>
                    shown ? shown.event(event) : process.stdout.write(ndjsonLine(event)),
                  error: (error: Error) => fail(error),
                });
            // Breakpoints go in while the guest runs: say when they are (tests and users wait for it).
            if (qemu) void domain.synced().then(() => say('hooks planted'));
            const stop = (): void => {
              subscription.unsubscribe();
              done();
            };
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
            void shown?.quit.then(stop);
          });
        } finally {
          // The terminal back first: what follows is printed on it.
          await view?.close();
          view = undefined;
          await domain.close();
          if (sink) {
            await sink.close();
            reportUndelivered(sink);
          }
          const failed = report?.close();
          if (failed)
            process.stderr.write(`ringside: warning: ${failed}
`);
          else if (options.report)
            process.stderr.write(`ringside: session report in ${options.report}
`);
        }
        process.stderr.write('detached; the guest runs on\n');
      },
    );

  program
    .command('ps')
    .description('A consistent live process list: the guest is paused while its task list is read')
    .option('--ram <file>', 'the guest’s RAM backing file (memory-backend-file, share=on)')
    .option('--qmp <path>', 'QMP socket, to pause and resume the guest')
    .option('--qemu-pid <pid>', 'any running QEMU, unchanged: RAM read through its process')
    .option('--qemu <name>', 'the same, naming the QEMU by its -name')
    .option('--libvirt <domain>', 'a running libvirt domain: the same, paused through libvirt')
    .option(
      '--ram-base <address>',
      'guest-physical address of the RAM file’s first byte (0 on q35; 0x40000000 on ARM virt)',
    )
    .option('--json', 'print a JSON array')
    .action(
      async (options: {
        ram?: string;
        qmp?: string;
        ramBase?: string;
        json?: boolean;
        qemuPid?: string;
        qemu?: string;
        libvirt?: string;
      }) => {
        const target = qemuTarget(options);
        if (!target && (options.ram === undefined || options.qmp === undefined))
          throw new RingsideError(
            'BAD_INPUT',
            'ps needs --ram and --qmp, or --qemu-pid/--qemu/--libvirt (any running QEMU)',
          );
        const opened = target
          ? await openQemuForPs(target, options.qmp)
          : {
              memory: new RamFileMemory(
                options.ram!,
                options.ramBase !== undefined ? { base: ramBaseOption(options.ramBase) } : {},
              ),
              qmp: await QmpClient.connect(options.qmp!),
            };
        const { memory, qmp } = opened;
        if ('note' in opened && opened.note) process.stderr.write(`ringside: ${opened.note}\n`);
        if (!qmp)
          process.stderr.write(
            'ringside: no QMP socket: the guest runs while its task list is read (give --qmp for a consistent list)\n',
          );
        try {
          const kernel = openLinuxKernel(memory, []);
          // With QMP: walks while the guest runs first, so it is paused only for a compiled walk;
          // a guest found paused (by its user, a response action) is read and left paused.
          let list;
          if (qmp) {
            const control = new VmControl('guest', qmp);
            ({ list } = await pausedTaskList(
              kernel,
              () => control.pause(),
              () => control.resume(),
            ));
          } else {
            kernel.newGeneration();
            list = listTasks(kernel);
          }
          if (list.problem)
            process.stderr.write(`ringside: warning: partial answer: ${list.problem.message}\n`);
          if (options.json) {
            process.stdout.write(`${toJson(list.tasks.map(taskJson))}\n`);
          } else {
            process.stdout.write(
              `${formatTable(
                [
                  {
                    header: 'PID',
                    value: (t: (typeof list.tasks)[number]) => t.pid,
                    align: 'right',
                  },
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
          qmp?.close();
          memory.close();
        }
      },
    );
}
