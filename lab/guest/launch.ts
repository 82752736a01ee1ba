// Starts the sample guest under QEMU (TCG, q35 or — for arm64 — virt, RAM in a shared file,
// QMP/gdbstub/control sockets), waits until its workload is up, and takes snapshots over QMP.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RingsideError } from '../../introspect/errors.js';
import { QmpClient } from '../../introspect/backends/qemu/qmp.js';
import {
  qemuArguments,
  qemuBinary,
  qemuEndpoints,
  ramBase,
  type QemuEndpoints,
  type QemuLaunchOptions,
} from '../../introspect/backends/qemu/launch-args.js';
import {
  buildSampleGuest,
  type GuestArchitecture,
  type GuestImage,
  type KernelSeries,
} from './build.js';
import { parseGuestView, READY_MARKER, type GuestView } from './guest-view.js';
import { runRoot } from './paths.js';
import { GuestControl } from './control.js';
import { pluginPath } from '../../introspect/backends/qemu/plugin-path.js';

export interface SampleGuestOptions {
  name?: string;
  /** x86_64 (default) or aarch64 (the arm64 kernel on QEMU's virt machine). */
  architecture?: GuestArchitecture;
  /** The kernel series of the matrix (default 6.1, bookworm's). */
  kernel?: KernelSeries;
  vcpus?: number;
  memoryMiB?: number;
  /** Keep QEMU running after this process exits (for `ringside guest start`). */
  detached?: boolean;
  bootTimeoutMs?: number;
  /** Ringside's TCG plugin (default: the built plugin, with its socket in the run directory); false for none. */
  plugin?: QemuLaunchOptions['plugin'] | false;
  /** A guest with nothing for Ringside: plain `-m` RAM, no gdbstub socket, no plugin; only QMP. */
  plain?: boolean;
  /** With `plain`: KVM instead of TCG (on a host where /dev/kvm works; lab/kvm/kvm-check.ts). */
  accelerator?: 'tcg' | 'kvm';
  log?: (line: string) => void;
}

export interface RunningGuest {
  name: string;
  image: GuestImage;
  endpoints: QemuEndpoints;
  pid: number;
  /** What the guest printed about itself once its workload was up. */
  view: GuestView;
  /** Writes an ELF core of guest memory with per-vCPU register notes (QMP dump-guest-memory). */
  snapshot(path: string): Promise<void>;
  /** Writes a raw image of guest RAM (QMP pmemsave, the guest paused); file offset = GPA − ramBase. */
  rawSnapshot(path: string): Promise<void>;
  /** Guest-physical address of the first byte of RAM (0 on q35, 0x4000_0000 on virt). */
  ramBase: bigint;
  memoryMiB: number;
  qmp(): Promise<QmpClient>;
  /** Runs a shell command inside the guest through its control channel. */
  control(): Promise<GuestControl>;
  stop(): Promise<void>;
}

export const QEMU_BINARY = qemuBinary('x86_64');

/** The kernel console per architecture: the 8250 UART on q35, the first PL011 on virt. */
const CONSOLE: Record<GuestArchitecture, string> = { x86_64: 'ttyS0', aarch64: 'ttyAMA0' };

export async function startSampleGuest(options: SampleGuestOptions = {}): Promise<RunningGuest> {
  const log = options.log ?? (() => {});
  const name = options.name ?? 'sample';
  const architecture = options.architecture ?? 'x86_64';
  const binary = qemuBinary(architecture);
  const image = buildSampleGuest(log, architecture, options.kernel);
  const runDir = join(runRoot(), name);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const launch: QemuLaunchOptions = {
    name,
    architecture,
    runDir,
    memoryMiB: options.memoryMiB ?? 256,
    vcpus: options.vcpus ?? 2,
    kernel: image.kernel,
    initrd: image.initrd,
    // nohz=off keeps a periodic tick in an idle guest, so hook changes (applied when a vCPU next runs) never wait long.
    append: `console=${CONSOLE[architecture]} panic=-1 quiet nohz=off`,
    ...(options.plain ? { plain: true } : {}),
    ...(options.accelerator ? { accelerator: options.accelerator } : {}),
  };
  if (options.plugin !== false && !options.plain) {
    launch.plugin = options.plugin ?? { path: pluginPath(), socket: join(runDir, 'plugin.sock') };
  }
  const endpoints = qemuEndpoints(launch);
  log(`starting ${binary} (${launch.vcpus} vCPUs, ${launch.memoryMiB} MiB) in ${runDir}`);
  const child = spawn(binary, qemuArguments(launch), {
    detached: options.detached ?? false,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(
        new RingsideError(
          'BACKEND',
          `cannot start ${binary}: ${error.message} (run scripts/setup.sh)`,
        ),
      ),
    ),
  );

  // A loaded shared host boots slower: RINGSIDE_BOOT_TIMEOUT_MS raises the default for every test.
  const deadline =
    Date.now() + (options.bootTimeoutMs ?? Number(process.env.RINGSIDE_BOOT_TIMEOUT_MS ?? 120_000));
  let consoleText = '';
  for (;;) {
    const state = await Promise.race([
      exited.then((code) => ({ exited: code })),
      spawnFailed,
      new Promise<null>((done) => setTimeout(() => done(null), 250)),
    ]);
    if (state && 'exited' in state) {
      throw new RingsideError(
        'BACKEND',
        `QEMU exited (code ${state.exited}) before the guest was ready: ${stderr.trim()}`,
      );
    }
    consoleText = existsSync(endpoints.consoleLog)
      ? readFileSync(endpoints.consoleLog, 'utf8')
      : '';
    if (consoleText.includes(READY_MARKER)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RingsideError(
        'BACKEND',
        `the sample guest did not become ready; console:\n${consoleText.slice(-2000)}`,
      );
    }
  }
  if (options.detached) {
    child.stderr?.destroy();
    child.unref();
  }
  const view = parseGuestView(consoleText);
  log(`guest ready: Linux ${view.release}, ${view.processes.length} processes`);

  const qmp = (): Promise<QmpClient> => QmpClient.connect(endpoints.qmpSocket);
  return {
    name,
    image,
    endpoints,
    pid: child.pid!,
    view,
    qmp,
    control: () => GuestControl.connect(endpoints.controlSocket),
    ramBase: ramBase(architecture),
    memoryMiB: launch.memoryMiB,
    async snapshot(path: string): Promise<void> {
      await takeSnapshot(endpoints.qmpSocket, path);
    },
    async rawSnapshot(path: string): Promise<void> {
      await takeRawSnapshot(endpoints.qmpSocket, path, ramBase(architecture), launch.memoryMiB);
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(endpoints.ramFile, { force: true });
    },
  };
}

/** Takes an ELF core snapshot (with register notes) of a running QEMU guest over QMP. */
export async function takeSnapshot(qmpSocket: string, path: string): Promise<void> {
  const client = await QmpClient.connect(qmpSocket);
  try {
    await snapshotWith(client, path);
  } finally {
    client.close();
  }
}

/** The same through a QMP client already connected (QEMU serves one at a time: a domain's, say). */
export async function snapshotWith(client: QmpClient, path: string): Promise<void> {
  rmSync(path, { force: true });
  await client.execute('dump-guest-memory', {
    paging: false,
    protocol: `file:${resolve(path)}`,
    detach: false,
  });
}

/** Writes guest RAM as a raw image (QMP pmemsave), with the guest paused so the image is consistent. */
export async function takeRawSnapshot(
  qmpSocket: string,
  path: string,
  base: bigint,
  memoryMiB: number,
): Promise<void> {
  const client = await QmpClient.connect(qmpSocket);
  try {
    rmSync(path, { force: true });
    await client.execute('stop');
    try {
      await client.execute('pmemsave', {
        val: Number(base),
        size: memoryMiB << 20,
        filename: resolve(path),
      });
    } finally {
      await client.execute('cont');
    }
  } finally {
    client.close();
  }
}
