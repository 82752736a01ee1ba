// The Xen lab: QEMU (TCG, emulated AMD SVM) boots Debian's Xen 4.17, a dom0 on Debian's kernel whose
// root is the host's own filesystem (9p, read-only, under a tmpfs overlay) and a domU running the
// sample guest. Commands run in dom0 through a shared exchange directory (see dom0-start.sh).
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, RingsideError } from '../../introspect/errors.js';
import { buildSampleGuest } from '../guest/build.js';
import { cacheRoot, guestCacheDir, runRoot } from '../guest/paths.js';

/** Debian bookworm's packages the lab is made of (downloaded with apt-get, never installed). */
export const XEN_PACKAGES = [
  'xen-hypervisor-4.17-amd64',
  'xen-utils-4.17',
  'xen-utils-common',
  'xenstore-utils',
  'libxenmisc4.17',
  'libxencall1',
  'libxenevtchn1',
  'libxenforeignmemory1',
  'libxengnttab1',
  'libxenstore4',
  'libxentoollog1',
  'libxendevicemodel1',
  'libxenhypfs1',
  'libxentoolcore1',
  'libyajl2',
  'libxen-dev',
];
/** dom0's kernel: Debian's generic one (the cloud kernel has no XEN_DOM0 and no 9p). */
export const DOM0_KERNEL = '6.1.0-57-amd64';
const DOM0_MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'netfs',
  'fscache', '9pnet', '9pnet_virtio', '9p', 'overlay', 'xen-evtchn', 'xen-privcmd', 'xenfs',
  'xen-gntdev', 'xen-gntalloc',
]; // prettier-ignore

/** The lab's QEMU name and run directory; RINGSIDE_XEN_LAB names a second lab beside another's. */
export const LAB_NAME = process.env.RINGSIDE_XEN_LAB || 'xen-lab';
export const DOMU_NAME = 'xen-sample';

export type DomuType = 'pvh' | 'pv';

export interface LabPaths {
  cache: string;
  root: string;
  hypervisor: string;
  dom0Kernel: string;
  dom0Initrd: string;
  run: string;
  exchange: string;
  serial: string;
  pidFile: string;
}

export function labPaths(): LabPaths {
  const cache = join(cacheRoot(), 'xen');
  const run = join(runRoot(), LAB_NAME);
  return {
    cache,
    root: join(cache, 'root'),
    hypervisor: join(cache, 'xen-4.17'),
    dom0Kernel: join(cache, 'root', 'boot', `vmlinuz-${DOM0_KERNEL}`),
    dom0Initrd: join(cache, 'dom0-initrd.cpio'),
    run,
    exchange: join(run, 'xchg'),
    serial: join(run, 'serial.log'),
    pidFile: join(run, 'qemu.pid'),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
/** lab/xen in the repo, from the TypeScript sources and from dist/. */
function sourceDir(): string {
  const repo = here.includes(join('dist', 'lab'))
    ? join(here, '..', '..', '..')
    : join(here, '..', '..');
  return join(repo, 'lab', 'xen');
}

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0)
    throw new RingsideError(
      'BACKEND',
      `${command} ${args.join(' ')} failed: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').at(-1)}`,
    );
  return result.stdout;
}

/** Downloads and unpacks the Debian packages and builds dom0's initramfs, once (cached). */
export function prepareLab(log: (line: string) => void = () => {}): LabPaths {
  const paths = labPaths();
  const debs = join(paths.cache, 'debs');
  mkdirSync(debs, { recursive: true });
  const wanted = [...XEN_PACKAGES, `linux-image-${DOM0_KERNEL}`];
  const have = readdirSync(debs);
  const missing = wanted.filter((name) => !have.some((file) => file.startsWith(`${name}_`)));
  if (missing.length > 0) {
    log(`downloading ${missing.join(' ')}`);
    run('apt-get', ['download', ...missing], debs);
  }
  const unpacked = join(paths.root, '.unpacked');
  if (!existsSync(unpacked)) {
    log(`unpacking into ${paths.root}`);
    rmSync(paths.root, { recursive: true, force: true });
    mkdirSync(paths.root, { recursive: true });
    for (const file of readdirSync(debs).filter((name) => name.endsWith('.deb')))
      run('dpkg-deb', ['-x', join(debs, file), paths.root]);
    writeFileSync(unpacked, wanted.join('\n'));
  }
  if (!existsSync(paths.hypervisor)) {
    // QEMU's multiboot loader takes the 32-bit ELF `xen`, not Debian's gzipped copy of it.
    writeFileSync(
      paths.hypervisor,
      execFileSync('gunzip', ['-c', join(paths.root, 'boot', 'xen-4.17-amd64.gz')], {
        maxBuffer: 64 << 20,
      }),
    );
  }
  const init = readFileSync(join(sourceDir(), 'dom0-init.sh'));
  const key = createHash('sha256')
    .update(init)
    .update(DOM0_MODULES.join())
    .digest('hex')
    .slice(0, 16);
  const stamp = `${paths.dom0Initrd}.${key}`;
  if (!existsSync(stamp)) {
    log('building dom0 initramfs');
    const tree = join(paths.cache, 'initrd-tree');
    rmSync(tree, { recursive: true, force: true });
    for (const dir of ['bin', 'modules', 'proc', 'sys', 'dev'])
      mkdirSync(join(tree, dir), { recursive: true });
    copyFileSync(
      join(guestCacheDir(), 'pkg-busybox', 'bin', 'busybox'),
      join(tree, 'bin', 'busybox'),
    );
    writeFileSync(join(tree, 'init'), init, { mode: 0o755 });
    const kernelDir = join(paths.root, 'lib', 'modules', DOM0_KERNEL, 'kernel');
    const found = run('find', [kernelDir, '-name', '*.ko']).split('\n');
    for (const module of DOM0_MODULES) {
      const path = found.find((file) => file.endsWith(`/${module}.ko`));
      if (!path)
        throw new RingsideError('NOT_FOUND', `dom0 kernel module ${module} is not in ${kernelDir}`);
      copyFileSync(path, join(tree, 'modules', `${module}.ko`));
    }
    const list = run('find', ['.'], tree);
    const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], {
      cwd: tree,
      input: list,
      maxBuffer: 256 << 20,
    });
    if (cpio.status !== 0)
      throw new RingsideError('BACKEND', `cpio failed: ${String(cpio.stderr)}`);
    writeFileSync(paths.dom0Initrd, cpio.stdout);
    for (const old of readdirSync(paths.cache).filter((name) =>
      name.startsWith('dom0-initrd.cpio.'),
    ))
      rmSync(join(paths.cache, old));
    writeFileSync(stamp, key);
  }
  return paths;
}

/** The xl configuration of the sample domU. */
export function domuConfig(type: DomuType, log: (line: string) => void = () => {}): string {
  const image = buildSampleGuest(log, 'x86_64');
  return [
    `name = "${DOMU_NAME}"`,
    `type = "${type}"`,
    'memory = 256',
    'vcpus = 1',
    `kernel = "${image.kernel}"`,
    `ramdisk = "${image.initrd}"`,
    'extra = "console=hvc0 nohz=off"',
    'on_crash = "preserve"',
    'on_reboot = "preserve"',
    'on_poweroff = "preserve"',
    '',
  ].join('\n');
}

/** Why the lab's tests cannot run here (no QEMU, the lab never prepared), or undefined. */
export function labUnavailable(): string | undefined {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0)
    return 'qemu-system-x86_64 is not installed';
  if (!existsSync(join(cacheRoot(), 'xen', 'root', '.unpacked')))
    return 'the Xen lab is not prepared (run `ringside lab xen up` once)';
  return undefined;
}

export function labRunning(paths = labPaths()): number | undefined {
  if (!existsSync(paths.pidFile)) return undefined;
  const pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export interface BootTimes {
  /** Seconds from starting QEMU to dom0's start script, to dom0's tools up, to the domU created. */
  dom0: number;
  tools: number;
  domu?: number;
  ready: number;
}

export interface UpOptions {
  domu?: DomuType | 'none';
  memoryMiB?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Boots the lab (Xen, dom0, and the domU unless `domu: 'none'`) and waits until dom0 serves commands. */
export async function labUp(options: UpOptions = {}): Promise<BootTimes> {
  const log = options.log ?? (() => {});
  const paths = prepareLab(log);
  if (labRunning(paths) !== undefined)
    throw new InputError(
      'the Xen lab is already running (ringside lab xen down stops it)',
      paths.pidFile,
    );
  rmSync(paths.exchange, { recursive: true, force: true });
  mkdirSync(paths.exchange, { recursive: true });
  copyFileSync(join(sourceDir(), 'dom0-start.sh'), join(paths.exchange, 'dom0-start.sh'));
  writeFileSync(join(paths.exchange, 'xen-root'), `${paths.root}\n`);
  const domu = options.domu ?? 'pvh';
  if (domu !== 'none') writeFileSync(join(paths.exchange, 'domU.cfg'), domuConfig(domu, log));
  rmSync(paths.serial, { force: true });
  const started = performance.now();
  run('qemu-system-x86_64', [
    '-name', LAB_NAME,
    // TCG emulates AMD SVM with nested paging: Xen runs HVM/PVH guests on it (no KVM needed).
    '-cpu', 'qemu64,+svm,+npt',
    '-m', String(options.memoryMiB ?? 3072),
    '-smp', '2',
    '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-serial', `file:${paths.serial}`,
    '-kernel', paths.hypervisor,
    '-append', 'console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 loglvl=all guest_loglvl=all noreboot console_timestamps=boot',
    // Multiboot modules: dom0's kernel (with its command line), then its initramfs.
    '-initrd', `${paths.dom0Kernel} console=hvc0 earlyprintk=xen,${paths.dom0Initrd}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${paths.exchange},mount_tag=xchg,security_model=none,multidevs=remap`,
    '-daemonize', '-pidfile', paths.pidFile,
  ]); // prettier-ignore
  const deadline = started + (options.timeoutMs ?? 900_000);
  const times: Partial<BootTimes> = {};
  for (;;) {
    const serial = existsSync(paths.serial) ? readFileSync(paths.serial, 'latin1') : '';
    const seconds = (performance.now() - started) / 1000;
    if (times.dom0 === undefined && serial.includes('XENLAB-STAGE dom0-start'))
      times.dom0 = seconds;
    if (times.tools === undefined && serial.includes('XENLAB-STAGE dom0-up')) times.tools = seconds;
    if (times.domu === undefined && serial.includes('XENLAB-STAGE domU-created'))
      times.domu = seconds;
    const error = /XENLAB-ERROR (.*)/.exec(serial);
    if (serial.includes('XENLAB-READY')) {
      times.ready = seconds;
      if (error) log(`dom0 reported: ${error[1]} (see ${join(paths.exchange, 'dom0.log')})`);
      return times as BootTimes;
    }
    if (labRunning(paths) === undefined)
      throw new RingsideError('BACKEND', `QEMU exited during the lab's boot; see ${paths.serial}`);
    if (performance.now() > deadline) {
      labDown(paths);
      throw new RingsideError(
        'BACKEND',
        `the Xen lab did not come up in time; see ${paths.serial}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function labDown(paths = labPaths()): boolean {
  const pid = labRunning(paths);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  return true;
}

export interface ExecResult {
  status: number;
  output: string;
}

let sequence = 0;

/** Runs a bash command in dom0 (as root, cwd /root) and waits for it. */
export async function labExec(
  command: string,
  timeoutMs = 300_000,
  paths = labPaths(),
): Promise<ExecResult> {
  if (labRunning(paths) === undefined)
    throw new InputError(
      'the Xen lab is not running (ringside lab xen up starts it)',
      paths.pidFile,
    );
  const id = `${process.pid}-${Date.now()}-${sequence++}`;
  const request = join(paths.exchange, `req-${id}.sh`);
  writeFileSync(`${request}.part`, `${command}\n`);
  renameSync(`${request}.part`, request);
  const rc = join(paths.exchange, `rc-${id}`);
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(rc)) {
    if (performance.now() > deadline)
      throw new RingsideError(
        'BACKEND',
        `dom0 command timed out after ${timeoutMs} ms: ${command}`,
      );
    if (labRunning(paths) === undefined) throw new RingsideError('BACKEND', 'the Xen lab stopped');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const out = join(paths.exchange, `out-${id}`);
  const result = {
    status: Number(readFileSync(rc, 'utf8').trim()),
    output: readFileSync(out, 'utf8'),
  };
  rmSync(rc, { force: true });
  rmSync(out, { force: true });
  return result;
}
