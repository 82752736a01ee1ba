// `ringside guest build|start|stop|snapshot|report` for the sample guest; `report` boots it, takes a
// snapshot and prints the process tree and a short report from it.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError, RingsideError } from '../../introspect/errors.js';
import { hex } from '../../introspect/memory/address.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { readSyscallTable } from '../../introspect/os/linux/syscalls.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { qemuEndpoints } from '../../introspect/backends/qemu/launch-args.js';
import { buildSampleGuest, kernelSeries, type GuestArchitecture } from '../../lab/guest/build.js';
import { startSampleGuest, takeSnapshot } from '../../lab/guest/launch.js';
import { cacheRoot, runRoot } from '../../lab/guest/paths.js';
import { createProgress } from '../progress.js';
import { openSnapshotKernel } from '../snapshot-context.js';
import { toJson } from '../table.js';
import { pstreeLines } from './snapshot.js';
import { qemuTarget, snapshotQemu, type QemuTargetOptions } from './qemu-guests.js';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function endpointsFor(name: string) {
  return qemuEndpoints({ name, runDir: join(runRoot(), name), memoryMiB: 0, vcpus: 0 });
}

function guestArchitecture(text: string): GuestArchitecture {
  if (text === 'x86_64' || text === 'aarch64') return text;
  if (text === 'arm64') return 'aarch64';
  throw new InputError('not a guest architecture (x86_64 or aarch64)', `--arch ${text}`);
}

export function registerGuestCommands(program: Command): void {
  const guest = program
    .command('guest')
    .description('The sample guest: a Debian cloud kernel with a busybox workload under QEMU');

  guest
    .command('build')
    .description('Build the sample guest from Debian packages (cached under ~/.cache/ringside)')
    .option('--arch <arch>', 'guest architecture: x86_64 or aarch64', 'x86_64')
    .option('--kernel <series>', 'Debian kernel series: 6.1 (bookworm) or 6.12 (backports)', '6.1')
    .action((options: { arch: string; kernel: string }) => {
      const image = buildSampleGuest(
        say,
        guestArchitecture(options.arch),
        kernelSeries(options.kernel),
      );
      process.stdout.write(`${toJson(image)}\n`);
    });

  guest
    .command('start')
    .description(
      'Boot the sample guest and leave it running; prints where its sockets and RAM file are',
    )
    .option('--name <name>', 'guest name', 'sample')
    .option('--vcpus <n>', 'virtual CPUs', '2')
    .option('--memory <MiB>', 'guest RAM in MiB', '256')
    .option(
      '--arch <arch>',
      'guest architecture: x86_64 or aarch64 (virt, RAM at 0x40000000)',
      'x86_64',
    )
    .option('--kernel <series>', 'Debian kernel series: 6.1 (bookworm) or 6.12 (backports)', '6.1')
    .action(
      async (options: {
        name: string;
        vcpus: string;
        memory: string;
        arch: string;
        kernel: string;
      }) => {
        const progress = createProgress();
        progress.step('booting the sample guest');
        const running = await startSampleGuest({
          name: options.name,
          architecture: guestArchitecture(options.arch),
          kernel: kernelSeries(options.kernel),
          vcpus: Number(options.vcpus),
          memoryMiB: Number(options.memory),
          detached: true,
          log: say,
        });
        progress.done();
        process.stdout.write(
          `${toJson({ name: running.name, pid: running.pid, kernel: running.view.release, ...running.endpoints })}\n`,
        );
      },
    );

  guest
    .command('stop')
    .description('Stop a sample guest started with `guest start`')
    .option('--name <name>', 'guest name', 'sample')
    .action((options: { name: string }) => {
      const endpoints = endpointsFor(options.name);
      if (!existsSync(endpoints.pidFile))
        throw new RingsideError(
          'NOT_FOUND',
          `no running guest named ${options.name} (${endpoints.pidFile} is missing)`,
        );
      const pid = Number(readFileSync(endpoints.pidFile, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      rmSync(endpoints.ramFile, { force: true });
      rmSync(endpoints.pidFile, { force: true });
      say(`stopped ${options.name} (pid ${pid})`);
    });

  guest
    .command('snapshot')
    .description(
      'Write an ELF core of a running guest (QMP dump-guest-memory, with register notes)',
    )
    .option('--name <name>', 'guest name', 'sample')
    .option('--qmp <socket>', 'QMP socket of any QEMU guest (instead of --name)')
    .option(
      '--qemu-pid <pid>',
      'any running QEMU, unchanged (its QMP socket from its command line)',
    )
    .option('--qemu <name>', 'the same, naming the QEMU by its -name')
    .option('--libvirt <domain>', 'a running libvirt domain (virsh dump --memory-only)')
    .requiredOption('-o, --output <file>', 'where to write the snapshot')
    .action(async (options: QemuTargetOptions & { name: string; qmp?: string; output: string }) => {
      const progress = createProgress();
      progress.step('dump-guest-memory');
      const target = qemuTarget(options);
      if (target) await snapshotQemu(target, options.qmp, options.output);
      else await takeSnapshot(options.qmp ?? endpointsFor(options.name).qmpSocket, options.output);
      progress.done();
      say(`wrote ${options.output}`);
    });

  guest
    .command('report')
    .description(
      'Boot the sample guest, snapshot it, and report its processes, modules and syscalls',
    )
    .option('--keep <file>', 'keep the snapshot at this path')
    .action(async (options: { keep?: string }) => {
      const progress = createProgress();
      progress.step('building and booting the sample guest');
      const running = await startSampleGuest({ name: 'report', log: say });
      const dir = join(cacheRoot(), 'snapshots');
      mkdirSync(dir, { recursive: true });
      const path = options.keep ?? join(dir, 'report.elf');
      try {
        progress.step('taking a snapshot over QMP');
        await running.snapshot(path);
      } finally {
        await running.stop();
        progress.done();
      }
      const started = performance.now();
      const { snapshot, kernel } = openSnapshotKernel(path);
      try {
        const { tasks, problem } = listTasks(kernel);
        const { modules } = listModules(kernel);
        const syscalls = readSyscallTable(kernel);
        const elapsed = performance.now() - started;
        const out: string[] = [];
        out.push(
          `Snapshot ${path} (${snapshot.layout.format}, ${snapshot.layout.vcpus.length} vCPUs)`,
        );
        out.push(`Kernel   ${kernel.banner}`);
        out.push(
          `KASLR    _text at ${hex(kernel.symbols.address('_text') ?? 0n)} (slide ${hex(kernel.slide)}), physical ${hex(kernel.textPhysical)}`,
        );
        out.push(
          `Profile  ${kernel.symbols.size} symbols from ${kernel.sources.symbols}; types from ${kernel.sources.types}`,
        );
        out.push('');
        out.push('Process tree:');
        out.push(
          ...pstreeLines(tasks.filter((task) => !task.kernelThread)).map((line) => `  ${line}`),
        );
        out.push('');
        const users = new Set(tasks.map((task) => task.uid));
        out.push(
          `${tasks.length} processes (${tasks.filter((task) => task.kernelThread).length} kernel threads), ${users.size} distinct uids`,
        );
        out.push(
          `${modules.length} modules: ${modules.map((module) => module.name).join(', ') || 'none'}`,
        );
        const flagged = syscalls.filter((entry) => entry.suspicious);
        out.push(
          `${syscalls.length} system calls, ${flagged.length} flagged${flagged.length ? `: ${flagged.map((entry) => entry.index).join(', ')}` : ''}`,
        );
        if (problem) out.push(`warning: ${problem.message}`);
        out.push(`analysed in ${elapsed.toFixed(0)} ms`);
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        snapshot.close();
        if (!options.keep) rmSync(path, { force: true });
      }
    });
}
