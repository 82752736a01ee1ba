// The QEMU command line that makes a guest attachable by Ringside: RAM in a shared file (read live from
// the host), a QMP socket for control and snapshots, a gdbstub socket, serial ports to files/sockets.
import { join } from 'node:path';

export interface QemuLaunchOptions {
  /** Guest name; names the RAM file under /dev/shm and the run directory's sockets. */
  name: string;
  /** x86_64 (q35, the default) or aarch64 (virt, Cortex-A57; RAM at guest-physical 0x4000_0000). */
  architecture?: 'x86_64' | 'aarch64';
  /** Directory for sockets, logs and the pid file. */
  runDir: string;
  memoryMiB: number;
  vcpus: number;
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Where the RAM backing file lives; defaults to /dev/shm/ringside-NAME. */
  ramPath?: string;
  /** Path of the Ringside TCG plugin (.so), when hooks are wanted. */
  plugin?: { path: string; socket: string };
  /**
   * A guest as anyone would start it, with nothing for Ringside: plain `-m` RAM (no shared file), no
   * gdbstub socket, only QMP. Ringside then reads RAM through the QEMU process (qemu-process backend).
   */
  plain?: boolean;
  /** A plain guest's accelerator: TCG (the default) or KVM (`-accel kvm -cpu host`, on a KVM host). */
  accelerator?: 'tcg' | 'kvm';
  /** Extra arguments for the user's own disks, network … */
  extra?: string[];
}

export interface QemuEndpoints {
  qmpSocket: string;
  gdbSocket: string;
  ramFile: string;
  consoleLog: string;
  controlSocket: string;
  pidFile: string;
  pluginSocket?: string;
}

/** The QEMU system emulator for a guest architecture. */
export const qemuBinary = (architecture: QemuLaunchOptions['architecture'] = 'x86_64'): string =>
  architecture === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';

/** Guest-physical address of the first byte of the RAM file: 0 on q35, 0x4000_0000 on virt. */
export const ramBase = (architecture: QemuLaunchOptions['architecture'] = 'x86_64'): bigint =>
  architecture === 'aarch64' ? 0x4000_0000n : 0n;

export function qemuEndpoints(options: QemuLaunchOptions): QemuEndpoints {
  return {
    qmpSocket: join(options.runDir, 'qmp.sock'),
    gdbSocket: join(options.runDir, 'gdb.sock'),
    ramFile: options.ramPath ?? `/dev/shm/ringside-${options.name}`,
    consoleLog: join(options.runDir, 'console.log'),
    controlSocket: join(options.runDir, 'control.sock'),
    pidFile: join(options.runDir, 'qemu.pid'),
    ...(options.plugin ? { pluginSocket: options.plugin.socket } : {}),
  };
}

const kvm = (options: QemuLaunchOptions): boolean =>
  options.plain === true && options.accelerator === 'kvm';

/**
 * The arguments that make any QEMU guest attachable by Ringside: TCG with one thread (all vCPUs stand
 * still while a hook is handled), RAM in a shared file, QMP and gdbstub sockets, and the plugin.
 */
export function attachableArguments(options: QemuLaunchOptions): string[] {
  const endpoints = qemuEndpoints(options);
  const args = [
    '-name',
    options.name,
    '-accel',
    // A plain guest keeps QEMU's default (multi-threaded TCG), as a user's would; or runs under KVM.
    options.plain ? (options.accelerator ?? 'tcg') : 'tcg,thread=single',
    ...(options.architecture === 'aarch64'
      ? [
          '-machine',
          options.plain ? 'virt' : 'virt,memory-backend=ram',
          '-cpu',
          kvm(options) ? 'host' : 'cortex-a57',
        ]
      : [
          '-machine',
          options.plain ? 'q35' : 'q35,memory-backend=ram',
          ...(kvm(options) ? ['-cpu', 'host'] : []),
        ]),
    ...(options.plain
      ? []
      : [
          '-object',
          `memory-backend-file,id=ram,size=${options.memoryMiB}M,mem-path=${endpoints.ramFile},share=on`,
        ]),
    '-m',
    `${options.memoryMiB}M`,
    '-smp',
    String(options.vcpus),
    '-qmp',
    `unix:${endpoints.qmpSocket},server=on,wait=off`,
    ...(options.plain ? [] : ['-gdb', `unix:${endpoints.gdbSocket},server=on,wait=off`]),
  ];
  if (options.plugin) {
    args.push(
      '-plugin',
      `${options.plugin.path},socket=${options.plugin.socket},ram=${endpoints.ramFile}` +
        (options.architecture === 'aarch64'
          ? `,ram_base=0x${ramBase('aarch64').toString(16)}`
          : ''),
    );
  }
  return args;
}

/**
 * The sample guest's full command line: attachable, headless, console to a file, control on the
 * second serial port (ttyS1; on virt the second PL011, ttyAMA1).
 */
export function qemuArguments(options: QemuLaunchOptions): string[] {
  const endpoints = qemuEndpoints(options);
  const args = [
    ...attachableArguments(options),
    '-display',
    'none',
    '-no-reboot',
    '-nodefaults',
    '-chardev',
    `file,id=console,path=${endpoints.consoleLog}`,
    '-serial',
    'chardev:console',
    '-chardev',
    `socket,id=control,path=${endpoints.controlSocket},server=on,wait=off`,
    '-serial',
    'chardev:control',
    '-pidfile',
    endpoints.pidFile,
  ];
  if (options.kernel) args.push('-kernel', options.kernel);
  if (options.initrd) args.push('-initrd', options.initrd);
  if (options.append) args.push('-append', options.append);
  args.push(...(options.extra ?? []));
  return args;
}
