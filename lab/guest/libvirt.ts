// The sample guest as a transient libvirt domain (type='qemu', TCG, no Ringside arguments at all):
// starts libvirtd when it is not running, defines and starts the domain with `virsh create`, waits
// until the workload is up, and destroys it (and stops the daemons it started) on stop().
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingsideError } from '../../introspect/errors.js';
import { QEMU_BINARY } from './launch.js';
import { buildSampleGuest } from './build.js';
import { parseGuestView, READY_MARKER, type GuestView } from './guest-view.js';
import { GuestControl } from './control.js';

const URI = 'qemu:///system';

export interface LibvirtGuest {
  domain: string;
  pid: number;
  view: GuestView;
  memoryMiB: number;
  control(): Promise<GuestControl>;
  /** Destroys the domain, removes its files, stops the daemons this helper started. */
  stop(): Promise<void>;
}

const virsh = (...args: string[]) =>
  spawnSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8', timeout: 60_000 });

/** libvirt wants the emulator's absolute path. */
function emulatorPath(): string {
  for (const dir of (process.env['PATH'] ?? '/usr/bin').split(':')) {
    const candidate = join(dir, QEMU_BINARY);
    if (dir.startsWith('/') && existsSync(candidate)) return candidate;
  }
  throw new RingsideError('NOT_FOUND', `${QEMU_BINARY} is not on the PATH (run scripts/setup.sh)`);
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

/** Starts virtlogd and libvirtd (daemonised) unless libvirt already answers; returns what it started. */
function ensureLibvirtd(): string[] {
  if (virsh('version').status === 0) return [];
  const started: string[] = [];
  for (const [daemon, pidFile] of [
    ['/usr/sbin/virtlogd', '/run/virtlogd.pid'],
    ['/usr/sbin/libvirtd', '/run/libvirtd.pid'],
  ] as const) {
    if (!existsSync(daemon))
      throw new RingsideError(
        'NOT_FOUND',
        `${daemon} is missing (scripts/setup.sh installs libvirt)`,
      );
    execFileSync(daemon, ['-d']);
    started.push(pidFile);
  }
  const deadline = Date.now() + 20_000;
  while (virsh('version').status !== 0) {
    if (Date.now() > deadline)
      throw new RingsideError('BACKEND', 'libvirtd did not answer in 20 s');
    spawnSync('sleep', ['0.2']);
  }
  return started;
}

function stopDaemons(pidFiles: readonly string[]): void {
  // Leave libvirtd to whoever else runs domains on it.
  if (virsh('list', '--name').stdout.trim() !== '') return;
  for (const pidFile of [...pidFiles].reverse()) {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 1) process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export async function startLibvirtSampleGuest(options: {
  domain: string;
  memoryMiB?: number;
  vcpus?: number;
  bootTimeoutMs?: number;
}): Promise<LibvirtGuest> {
  const memoryMiB = options.memoryMiB ?? 256;
  const image = buildSampleGuest();
  const started = ensureLibvirtd();
  const dir = mkdtempSync(join(tmpdir(), `${options.domain}-`));
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd');
  copyFileSync(image.kernel, kernel);
  copyFileSync(image.initrd, initrd);
  const consoleLog = join(dir, 'console.log');
  const controlSocket = join(dir, 'control.sock');
  // QEMU runs as root here (static DAC label, no relabelling): the files live in a private temp dir.
  const xml = `<domain type='qemu'>
  <name>${escapeXml(options.domain)}</name>
  <memory unit='MiB'>${memoryMiB}</memory>
  <vcpu>${options.vcpus ?? 2}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${escapeXml(kernel)}</kernel>
    <initrd>${escapeXml(initrd)}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet nohz=off</cmdline>
  </os>
  <!-- libvirt 9.0 spells "no ACPI" as -no-acpi, which QEMU 10 no longer has -->
  <features><acpi/></features>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>${escapeXml(emulatorPath())}</emulator>
    <serial type='file'><source path='${escapeXml(consoleLog)}'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='${escapeXml(controlSocket)}'/><target port='1'/></serial>
    <memballoon model='none'/>
  </devices>
  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>
</domain>
`;
  const xmlFile = join(dir, 'domain.xml');
  writeFileSync(xmlFile, xml);
  const cleanup = (): void => {
    virsh('destroy', options.domain);
    rmSync(dir, { recursive: true, force: true });
    stopDaemons(started);
  };
  const created = virsh('create', xmlFile);
  if (created.status !== 0) {
    cleanup();
    throw new RingsideError('BACKEND', `virsh create ${options.domain}: ${created.stderr.trim()}`);
  }
  try {
    const pid = Number(readFileSync(`/run/libvirt/qemu/${options.domain}.pid`, 'utf8').trim());
    const deadline = Date.now() + (options.bootTimeoutMs ?? 180_000);
    let consoleText = '';
    while (!consoleText.includes(READY_MARKER)) {
      if (Date.now() > deadline)
        throw new RingsideError(
          'BACKEND',
          `${options.domain} did not become ready; console:\n${consoleText.slice(-2000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 250));
      consoleText = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
    }
    return {
      domain: options.domain,
      pid,
      view: parseGuestView(consoleText),
      memoryMiB,
      control: () => GuestControl.connect(controlSocket),
      stop: async () => cleanup(),
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
