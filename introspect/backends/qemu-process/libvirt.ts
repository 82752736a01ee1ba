// A libvirt domain as a running QEMU: its pid from libvirt's pid file, and its monitor through
// libvirt's documented QMP pass-through (`virsh qemu-monitor-command`), since libvirtd owns QMP.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InputError, RingsideError } from '../../errors.js';
import type { QmpChannel } from '../qemu/qmp.js';
import { LIBVIRT_PID_DIR, qemuByPid, type QemuProcess } from './qemu-processes.js';

/** libvirt's connection URI: LIBVIRT_DEFAULT_URI, else the system daemon. */
export const libvirtUri = (): string => process.env['LIBVIRT_DEFAULT_URI'] || 'qemu:///system';

interface VirshResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

const VIRSH_TIMEOUT_MS = 30_000;

/** Runs virsh; rejects only when virsh cannot be run at all. */
export function virsh(args: readonly string[], timeoutMs = VIRSH_TIMEOUT_MS): Promise<VirshResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'virsh',
      ['-q', '-c', libvirtUri(), ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const errno = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (errno?.code === 'ENOENT') {
          reject(
            new RingsideError(
              'NOT_FOUND',
              'virsh is not installed (Debian: libvirt-clients; scripts/setup.sh installs it)',
            ),
          );
          return;
        }
        if (errno?.killed) {
          reject(
            new RingsideError('BACKEND', `virsh ${args[0]}: no answer within ${timeoutMs} ms`),
          );
          return;
        }
        resolve({
          stdout,
          stderr,
          code: typeof errno?.code === 'number' ? errno.code : error ? 1 : 0,
        });
      },
    );
  });
}

/** virsh's own error line ("error: failed to get domain 'x'"), without the prefix noise. */
const virshError = (stderr: string): string =>
  stderr
    .split('\n')
    .map((line) => line.replace(/^error:\s*/, '').trim())
    .filter(Boolean)
    .join('; ') || 'virsh failed';

/** A domain name as libvirt spells them; refuses path tricks before it reaches a file name. */
function checkDomainName(domain: string): void {
  if (domain === '' || domain.includes('/') || domain.startsWith('.') || domain.includes('\0'))
    throw new InputError('not a libvirt domain name', `--libvirt ${JSON.stringify(domain)}`);
}

/** One line of `virsh qemu-monitor-event --loop`: `event NAME at SECS for domain 'D': {JSON}`. */
export function parseMonitorEvent(line: string): { event: string; data?: unknown } | undefined {
  const match = /^event ([A-Z0-9_]{1,64}) at [0-9.]{1,32} for domain .*?: (.*)$/.exec(line.trim());
  if (!match) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(match[2]!);
  } catch {
    data = undefined; // "<null>" when QEMU sent no data
  }
  return data === undefined || data === null ? { event: match[1]! } : { event: match[1]!, data };
}

/**
 * The QEMU monitor of a libvirt domain, through `virsh qemu-monitor-command` (one virsh run per
 * command, ~tens of ms). QEMU's events come through `virsh qemu-monitor-event --loop`, one virsh
 * process started when the first listener subscribes and ended on close.
 */
export class LibvirtMonitor implements QmpChannel {
  readonly path: string;
  private closed = false;
  private readonly listeners = new Set<(event: { event: string; data?: unknown }) => void>();
  private events: ChildProcess | undefined;

  constructor(readonly domain: string) {
    checkDomainName(domain);
    this.path = `libvirt:${domain}`;
  }

  async execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed)
      throw new RingsideError(
        'BACKEND',
        `QMP ${this.path}: ${command} after the monitor was closed`,
      );
    const message = JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) });
    const result = await virsh(['qemu-monitor-command', this.domain, message]);
    if (result.code !== 0)
      throw new RingsideError(
        'BACKEND',
        `QMP ${this.path}: ${command}: ${virshError(result.stderr)}`,
      );
    let reply: { return?: unknown; error?: { class: string; desc: string } };
    try {
      reply = JSON.parse(result.stdout) as typeof reply;
    } catch {
      throw new RingsideError(
        'BACKEND',
        `QMP ${this.path}: ${command}: virsh printed no JSON (${result.stdout.slice(0, 200)})`,
      );
    }
    if (reply.error)
      throw new RingsideError(
        'BACKEND',
        `QMP ${this.path} ${command}: ${reply.error.class}: ${reply.error.desc}`,
      );
    return reply.return as T;
  }

  onEvent(listener: (event: { event: string; data?: unknown }) => void): () => void {
    this.listeners.add(listener);
    if (!this.events && !this.closed) this.startEvents();
    return () => this.listeners.delete(listener);
  }

  private startEvents(): void {
    const child = spawn(
      'virsh',
      ['-q', '-c', libvirtUri(), 'qemu-monitor-event', this.domain, '--loop'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.events = child;
    child.on('error', () => undefined); // no virsh: execute() says so; events just never come
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      // A line is bounded: a stream that never ends a line is dropped, not accumulated.
      if (buffer.length > 1 << 20) buffer = '';
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const event = parseMonitorEvent(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (event) for (const listener of this.listeners) listener(event);
      }
    });
  }

  close(): void {
    this.closed = true;
    // Ends the event stream's virsh and lets go of it (nothing of it keeps Node running).
    this.events?.stdout?.destroy();
    this.events?.kill('SIGTERM');
    this.events?.unref();
    this.events = undefined;
  }
}

/** The running QEMU of libvirt domain `domain`: its pid file, checked against /proc. */
export async function findLibvirtQemu(domain: string): Promise<QemuProcess> {
  checkDomainName(domain);
  let pidText: string | undefined;
  try {
    pidText = readFileSync(`${LIBVIRT_PID_DIR}/${domain}.pid`, 'utf8').trim();
  } catch {
    pidText = undefined;
  }
  if (pidText === undefined || !/^\d+$/.test(pidText)) {
    // Say why: no such domain, not running, or not on this connection.
    const state = await virsh(['domstate', domain]);
    if (state.code !== 0) throw new InputError(virshError(state.stderr), `--libvirt ${domain}`);
    throw new InputError(
      `the domain is ${state.stdout.trim() || 'not running'} (no QEMU pid in ${LIBVIRT_PID_DIR}; only qemu:///system domains on this host can be attached)`,
      `--libvirt ${domain}`,
    );
  }
  const qemu = qemuByPid(Number(pidText));
  if (qemu.name !== domain)
    throw new InputError(
      `libvirt's pid file names pid ${pidText}, which runs QEMU -name ${qemu.name ?? '(none)'}: a stale pid file?`,
      `--libvirt ${domain}`,
    );
  return qemu;
}

/** The QEMU and its monitor (through libvirt) of a running libvirt domain. */
export async function openLibvirtDomain(
  domain: string,
): Promise<{ qemu: QemuProcess; monitor: LibvirtMonitor }> {
  const qemu = await findLibvirtQemu(domain);
  const monitor = new LibvirtMonitor(domain);
  // One harmless command proves the pass-through works (libvirtd up, rights, a QEMU domain).
  await monitor.execute('query-status');
  return { qemu, monitor };
}
