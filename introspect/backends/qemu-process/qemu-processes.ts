// The QEMU processes on this host, from /proc/*/cmdline: name (-name), accelerator, RAM size, machine,
// architecture, QMP sockets, Ringside's plugin — and which ways Ringside can attach to each.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { InputError } from '../../errors.js';

export interface QemuProcess {
  pid: number;
  /** QEMU's -name (its `guest=` part), or undefined. */
  name: string | undefined;
  binary: string;
  architecture: string;
  machine: string;
  accelerator: string;
  /** Guest RAM in bytes from -m (QEMU's default 128 MiB when absent). */
  ramBytes: bigint;
  /** Unix-socket QMP monitors on the command line. */
  qmpSockets: string[];
  /** Ringside's TCG plugin is loaded. */
  ringsidePlugin: boolean;
  /** A shared RAM file (memory-backend-file with share=on), the plugin backend's way. */
  sharedRamFile: string | undefined;
  /** How Ringside can attach: plugin (full fidelity), process (RAM via /proc; hooks need QMP). */
  attachModes: string[];
  /** The libvirt domain this QEMU runs (libvirt's pid file names it); its monitor is libvirt's. */
  libvirtDomain?: string;
}

/** Where libvirt's system daemon writes the pid of each running QEMU domain. */
export const LIBVIRT_PID_DIR = '/run/libvirt/qemu';

/** Marks a QEMU that libvirt runs (its pid file holds this pid): libvirt owns its QMP socket. */
export function withLibvirt(qemu: QemuProcess, pidDir = LIBVIRT_PID_DIR): QemuProcess {
  if (qemu.name === undefined || qemu.name.includes('/')) return qemu;
  let pid: string;
  try {
    pid = readFileSync(`${pidDir}/${qemu.name}.pid`, 'utf8').trim();
  } catch {
    return qemu;
  }
  if (pid !== String(qemu.pid)) return qemu;
  return {
    ...qemu,
    libvirtDomain: qemu.name,
    attachModes: [
      ...qemu.attachModes.filter((mode) => !mode.startsWith('process')),
      `libvirt (--libvirt ${qemu.name}: memory, pause, hardware breakpoints through libvirt's monitor pass-through)`,
    ],
  };
}

const SIZE_UNITS: Record<string, bigint> = {
  '': 1n << 20n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
};

/** `-m` value: 512, 512M, 2G, size=4G,slots=… (a bare number is MiB). */
export function parseMemorySize(value: string): bigint | undefined {
  const size = /(?:^|,)(?:size=)?(\d+)([kmgtKMGT]?)[bB]?(?:,|$)/.exec(value);
  if (!size) return undefined;
  return BigInt(size[1]!) * SIZE_UNITS[size[2]!.toLowerCase()]!;
}

/** Parses a QEMU command line (argv); undefined when it is not qemu-system-*. */
export function describeQemu(pid: number, argv: readonly string[]): QemuProcess | undefined {
  const binary = argv[0] ?? '';
  const arch = /qemu-system-([A-Za-z0-9_]+)$/.exec(binary.split('/').pop() ?? '');
  if (!arch) return undefined;
  const values = (flag: string): string[] => {
    const found: string[] = [];
    for (let index = 1; index < argv.length - 1; index++)
      if (argv[index] === flag || argv[index] === `-${flag}`) found.push(argv[index + 1]!);
    return found;
  };
  const nameArg = values('-name')[0];
  const name =
    nameArg === undefined
      ? undefined
      : (/(?:^|,)guest=([^,]+)/.exec(nameArg)?.[1] ?? nameArg.split(',')[0]);
  const machineArg = values('-machine')[0] ?? values('-M')[0] ?? '';
  const machine =
    machineArg.split(',').find((part) => !part.includes('=')) ??
    /(?:^|,)type=([^,]+)/.exec(machineArg)?.[1] ??
    'default';
  const accelerator =
    values('-accel')[0]?.split(',')[0] ??
    /(?:^|,)accel=([^,:]+)/.exec(machineArg)?.[1] ??
    (argv.includes('-enable-kvm') ? 'kvm' : 'tcg');
  const ramBytes = parseMemorySize(values('-m')[0] ?? '') ?? 128n << 20n;
  const qmpSockets: string[] = [];
  for (const spec of [...values('-qmp'), ...values('-qmp-pretty')]) {
    const path = /^unix:([^,]+)/.exec(spec)?.[1];
    if (path) qmpSockets.push(path);
  }
  // libvirt style: -chardev socket,id=charmonitor,path=… plus -mon chardev=charmonitor,mode=control.
  const controlChardevs = new Set(
    values('-mon')
      .filter((spec) => /mode=control/.test(spec))
      .map((spec) => /chardev=([^,]+)/.exec(spec)?.[1])
      .filter((id): id is string => id !== undefined),
  );
  for (const spec of values('-chardev')) {
    const id = /(?:^|,)id=([^,]+)/.exec(spec)?.[1];
    const path = /(?:^|,)path=([^,]+)/.exec(spec)?.[1];
    if (id && path && controlChardevs.has(id) && spec.startsWith('socket')) qmpSockets.push(path);
  }
  const ringsidePlugin = values('-plugin').some((spec) => /ringside/.test(spec));
  const sharedRamFile = values('-object')
    .filter(
      (spec) => spec.startsWith('memory-backend-file') && /(?:^|,)share=(on|yes|true)/.test(spec),
    )
    .map((spec) => /mem-path=([^,]+)/.exec(spec)?.[1])
    .find((path) => path !== undefined);
  const attachModes: string[] = [];
  if (ringsidePlugin && sharedRamFile) attachModes.push('plugin');
  attachModes.push(
    qmpSockets.length > 0
      ? 'process+qmp (memory, pause, hardware breakpoints)'
      : 'process (memory only, known layout)',
  );
  return {
    pid,
    name,
    binary,
    architecture: arch[1]!,
    machine,
    accelerator,
    ramBytes,
    qmpSockets,
    ringsidePlugin,
    sharedRamFile,
    attachModes,
  };
}

const readArgv = (pid: number): string[] | undefined => {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, all) => index < all.length - 1 || part !== '');
  } catch {
    return undefined; // gone, or not ours to read
  }
};

/** Every QEMU system emulator on this host, by pid. */
export function listQemuProcesses(): QemuProcess[] {
  const found: QemuProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = readArgv(pid);
    const qemu = argv && describeQemu(pid, argv);
    if (qemu) found.push(withLibvirt(qemu));
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** The QEMU process `pid`; bad input (exit 2) when there is none or it is not QEMU. */
export function qemuByPid(pid: number): QemuProcess {
  const argv = readArgv(pid);
  if (!argv) throw new InputError('no such process', `pid ${pid}`);
  const qemu = describeQemu(pid, argv);
  if (!qemu)
    throw new InputError(
      `not a QEMU system emulator (it runs ${argv[0] ?? 'nothing'})`,
      `pid ${pid}`,
    );
  return withLibvirt(qemu);
}

/** The one QEMU process started with `-name NAME`. */
export function qemuByName(name: string): QemuProcess {
  const matches = listQemuProcesses().filter((qemu) => qemu.name === name);
  if (matches.length === 0)
    throw new InputError('no QEMU process has this -name (see `ringside guests`)', name);
  if (matches.length > 1)
    throw new InputError(
      `${matches.length} QEMU processes have this -name (pids ${matches.map((q) => q.pid).join(', ')}): give --qemu-pid`,
      name,
    );
  return matches[0]!;
}

/**
 * The QMP socket to use: the one given, else the only unix QMP socket on QEMU's command line that
 * exists — never libvirt's, which libvirtd holds (use its pass-through instead).
 */
export function chooseQmpSocket(qemu: QemuProcess, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  if (qemu.libvirtDomain !== undefined) return undefined;
  return qemu.qmpSockets.find((path) => {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  });
}

/** The QEMU process named by pid or by -name (exactly one of the two). */
export function findQemu(target: { pid?: number; qemuName?: string }): QemuProcess {
  if (target.pid !== undefined && target.qemuName !== undefined)
    throw new InputError('give --qemu-pid or --qemu, not both', '--qemu');
  if (target.pid !== undefined) return qemuByPid(target.pid);
  if (target.qemuName !== undefined) return qemuByName(target.qemuName);
  throw new InputError('name the QEMU process with --qemu-pid PID or --qemu NAME', '--qemu-pid');
}
