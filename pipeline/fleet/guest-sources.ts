// Where the agent finds guests: the ones its file names, and the QEMU processes of this host (the
// `ringside guests` listing). A new kind (libvirt domains) is one more GuestSource function.
import type { DomainSpec } from '../open-domain.js';
import type { AgentConfig } from './agent-config.js';

/** Detectors whose hooks fit a QEMU process's four hardware breakpoints (as `monitor --qemu-pid`). */
export const QEMU_PROCESS_PLUGINS = ['exec', 'exit', 'cred', 'hidden'];

export interface GuestCandidate {
  /** One attachment per key; a guest configured and also discovered (same QMP socket) is attached once. */
  key: string;
  name: string;
  spec: DomainSpec;
  /** How it is attached, for logs and metrics: replay, plugin, qemu-process. */
  mode: string;
  /** Detector names to run; none for a replay (its events are already semantic). */
  plugins: string[];
  /** A trace ends; a live guest that disappears may come back. */
  finite: boolean;
}

export type GuestSource = () => Promise<{ guests: GuestCandidate[]; skipped: string[] }>;

export function configuredGuests(config: Pick<AgentConfig, 'guests' | 'plugins'>): GuestSource {
  return () =>
    Promise.resolve({
      skipped: [],
      guests: config.guests.map((guest, index): GuestCandidate => {
        if ('replay' in guest)
          return {
            key: `replay:${guest.name}`,
            name: guest.name,
            spec: { kind: 'replay', path: guest.replay, name: guest.name },
            mode: 'replay',
            plugins: [],
            finite: true,
          };
        if ('pluginSocket' in guest)
          return {
            key: `plugin:${guest.pluginSocket}`,
            name: guest.name,
            spec: {
              kind: 'qemu',
              name: guest.name,
              pluginSocket: guest.pluginSocket,
              ramFile: guest.ram,
              ...(guest.qmp ? { qmp: guest.qmp } : {}),
            },
            mode: 'plugin',
            plugins: guest.plugins ?? config.plugins ?? [],
            finite: false,
          };
        const name = guest.name ?? guest.qemuName ?? `qemu-${guest.qemuPid ?? index}`;
        return {
          key: `qemu-process:${guest.qmp}`,
          name,
          spec: {
            kind: 'qemu-process',
            name,
            qmp: guest.qmp,
            ...(guest.qemuPid !== undefined ? { pid: guest.qemuPid } : {}),
            ...(guest.qemuName !== undefined ? { qemuName: guest.qemuName } : {}),
          },
          mode: 'qemu-process',
          plugins: guest.plugins ?? config.plugins ?? QEMU_PROCESS_PLUGINS,
          finite: false,
        };
      }),
    });
}

/**
 * Every QEMU process on this host with a QMP socket, attached through its process (any QEMU, no
 * reconfiguration). Ones without QMP cannot take breakpoints and are reported as skipped.
 */
export function qemuProcessGuests(config: AgentConfig): GuestSource {
  return async () => {
    const { listQemuProcesses } =
      await import('../../introspect/backends/qemu-process/qemu-processes.js');
    const guests: GuestCandidate[] = [];
    const skipped: string[] = [];
    for (const qemu of listQemuProcesses()) {
      const name = qemu.name ?? `qemu-${qemu.pid}`;
      if (!name.startsWith(config.namePrefix)) continue;
      const qmp = qemu.qmpSockets[0];
      if (qmp === undefined) {
        skipped.push(`${name} (pid ${qemu.pid}): no QMP socket, cannot plant breakpoints`);
        continue;
      }
      guests.push({
        key: `qemu-process:${qmp}`,
        name,
        spec: { kind: 'qemu-process', pid: qemu.pid, name, qmp },
        mode: 'qemu-process',
        plugins: config.plugins ?? QEMU_PROCESS_PLUGINS,
        finite: false,
      });
    }
    return { guests, skipped };
  };
}
