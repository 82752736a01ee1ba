// `ringside guests [--json]`: the QEMU processes on this host and how Ringside can attach to each;
// plus the shared pieces `ps` and `monitor` use to attach by --qemu-pid / --qemu with no reconfiguration.
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';
import type { PhysicalMemory } from '../../introspect/memory/types.js';
import type { QmpChannel } from '../../introspect/backends/qemu/qmp.js';
import { formatTable, toJson } from '../table.js';

/**
 * Detectors run by default on a QEMU attached by --qemu-pid/--qemu: their hooks (setup_new_exec,
 * do_exit, commit_creds) fit in x86's four debug registers, and the hidden-process scan needs none.
 */
export const QEMU_PROCESS_DETECTORS = ['exec', 'exit', 'cred', 'hidden'];

export const HARDWARE_BREAKPOINT_NOTE =
  'four hardware breakpoints: running exec, exit, cred and hidden; module (2 hooks) and network (1) only when chosen with --plugins, within 4 hooks';

export interface QemuTargetOptions {
  qemuPid?: string;
  qemu?: string;
  libvirt?: string;
}

export interface QemuTarget {
  pid?: number;
  qemuName?: string;
  /** A libvirt domain: pid from libvirt, monitor through its pass-through. */
  libvirt?: string;
}

/** The --qemu-pid / --qemu / --libvirt target, or undefined when none was given. */
export function qemuTarget(options: QemuTargetOptions): QemuTarget | undefined {
  const given = [options.qemuPid, options.qemu, options.libvirt].filter((v) => v !== undefined);
  if (given.length === 0) return undefined;
  if (given.length > 1)
    throw new InputError('give one of --qemu-pid, --qemu and --libvirt', '--libvirt');
  if (options.qemuPid !== undefined && !/^\d+$/.test(options.qemuPid))
    throw new InputError('not a process id', `--qemu-pid ${options.qemuPid}`);
  return {
    ...(options.qemuPid !== undefined ? { pid: Number(options.qemuPid) } : {}),
    ...(options.qemu !== undefined ? { qemuName: options.qemu } : {}),
    ...(options.libvirt !== undefined ? { libvirt: options.libvirt } : {}),
  };
}

/** RAM of a running QEMU through its process, and its QMP connection when there is a socket. */
export async function openQemuForPs(
  target: QemuTarget,
  qmpPath: string | undefined,
): Promise<{ memory: PhysicalMemory; qmp: QmpChannel | undefined; note?: string }> {
  const [{ findQemu, chooseQmpSocket }, { openProcessMemory }, { QmpClient }, libvirt] =
    await Promise.all([
      import('../../introspect/backends/qemu-process/qemu-processes.js'),
      import('../../introspect/backends/qemu-process/open-memory.js'),
      import('../../introspect/backends/qemu/qmp.js'),
      import('../../introspect/backends/qemu-process/libvirt.js'),
    ]);
  let qemu;
  let qmp: QmpChannel | undefined;
  if (target.libvirt !== undefined) {
    ({ qemu, monitor: qmp } = await libvirt.openLibvirtDomain(target.libvirt));
  } else {
    qemu = findQemu(target);
    const socket = chooseQmpSocket(qemu, qmpPath);
    // libvirt holds its QEMU's QMP socket: go through libvirt unless told otherwise.
    if (socket !== undefined) qmp = await QmpClient.connect(socket);
    else if (qemu.libvirtDomain !== undefined)
      ({ monitor: qmp } = await libvirt.openLibvirtDomain(qemu.libvirtDomain));
  }
  try {
    const { memory, note } = await openProcessMemory(qemu, qmp);
    return { memory, qmp, ...(note ? { note } : {}) };
  } catch (error) {
    qmp?.close();
    throw error;
  }
}

/** Writes an ELF core of a running QEMU (--qemu-pid/--qemu/--libvirt) through its monitor. */
export async function snapshotQemu(
  target: QemuTarget,
  qmpPath: string | undefined,
  output: string,
): Promise<void> {
  const [{ findQemu, chooseQmpSocket }, { QmpClient }, libvirt, { dumpGuestMemory }] =
    await Promise.all([
      import('../../introspect/backends/qemu-process/qemu-processes.js'),
      import('../../introspect/backends/qemu/qmp.js'),
      import('../../introspect/backends/qemu-process/libvirt.js'),
      import('../../introspect/backends/qemu-process/dump.js'),
    ]);
  let qmp: QmpChannel;
  if (target.libvirt !== undefined) {
    ({ monitor: qmp } = await libvirt.openLibvirtDomain(target.libvirt));
  } else {
    const qemu = findQemu(target);
    const socket = chooseQmpSocket(qemu, qmpPath);
    if (socket !== undefined) qmp = await QmpClient.connect(socket);
    else if (qemu.libvirtDomain !== undefined)
      ({ monitor: qmp } = await libvirt.openLibvirtDomain(qemu.libvirtDomain));
    else
      throw new InputError(
        'QEMU has no QMP socket on its command line: give --qmp (a snapshot is taken by QEMU’s monitor)',
        `pid ${qemu.pid}`,
      );
  }
  try {
    await dumpGuestMemory(qmp, output);
  } finally {
    qmp.close();
  }
}

export function registerQemuGuestCommands(program: Command): void {
  program
    .command('guests')
    .description(
      'List the QEMU processes on this host: name, pid, accelerator, RAM, architecture, QMP, Ringside plugin, attach modes',
    )
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const { listQemuProcesses } =
        await import('../../introspect/backends/qemu-process/qemu-processes.js');
      const guests = listQemuProcesses().map((qemu) => ({
        name: qemu.name ?? null,
        pid: qemu.pid,
        accelerator: qemu.accelerator,
        ramMiB: Number(qemu.ramBytes >> 20n),
        architecture: qemu.architecture,
        machine: qemu.machine,
        qmpSockets: qemu.qmpSockets,
        ringsidePlugin: qemu.ringsidePlugin,
        sharedRamFile: qemu.sharedRamFile ?? null,
        libvirtDomain: qemu.libvirtDomain ?? null,
        attachModes: qemu.attachModes,
      }));
      if (options.json) {
        process.stdout.write(`${toJson(guests)}\n`);
        return;
      }
      if (guests.length === 0) {
        process.stdout.write('no QEMU processes on this host\n');
        return;
      }
      process.stdout.write(
        `${formatTable(
          [
            { header: 'PID', value: (g: (typeof guests)[number]) => g.pid, align: 'right' },
            { header: 'NAME', value: (g) => g.name ?? '-' },
            { header: 'ACCEL', value: (g) => g.accelerator },
            { header: 'RAM', value: (g) => `${g.ramMiB} MiB`, align: 'right' },
            { header: 'ARCH', value: (g) => g.architecture },
            { header: 'QMP', value: (g) => (g.qmpSockets.length > 0 ? 'yes' : 'no') },
            { header: 'PLUGIN', value: (g) => (g.ringsidePlugin ? 'yes' : 'no') },
            { header: 'ATTACH', value: (g) => g.attachModes.join('; ') },
          ],
          guests,
        )}\n`,
      );
    });
}
