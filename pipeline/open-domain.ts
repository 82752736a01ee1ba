// One factory for every backend: a spec names how to reach the guest (Ringside's TCG plugin, QEMU's
// gdbstub, LibVMI, a memory snapshot, a recorded trace) and openDomain returns a Domain. Backends
// are imported only when asked for, so opening a snapshot loads no QEMU or LibVMI code.
import type { ArchitectureName } from '../introspect/arch/index.js';
import type { Domain } from '../introspect/domain/types.js';
import type { VcpuState } from '../introspect/domain/vcpu.js';
import { RingsideError } from '../introspect/errors.js';
import type { QmpClient } from '../introspect/backends/qemu/qmp.js';

export type DomainSpec =
  /** A QEMU guest started with Ringside's TCG plugin and its RAM in a shared file (full fidelity). */
  | {
      kind: 'qemu';
      name: string;
      pluginSocket: string;
      ramFile: string;
      /** Guest-physical address of the RAM file's first byte (ARM virt: 0x4000_0000). */
      ramBase?: bigint;
      /** QMP socket (or a connection the domain then owns), for pause/resume and snapshots. */
      qmp?: string | QmpClient;
    }
  /** A QEMU guest without the plugin: breakpoints through its gdbstub (slow under TCG). */
  | { kind: 'gdb'; name: string; gdbSocket: string; ramFile: string; qmp?: string | QmpClient }
  /**
   * Any running QEMU, no reconfiguration: RAM through its process, control over QMP, hooks as
   * hardware breakpoints in a gdbstub started at run time. By pid or by QEMU's -name.
   */
  | {
      kind: 'qemu-process';
      pid?: number;
      qemuName?: string;
      name?: string;
      qmp: string | QmpClient;
      breakpoints?: 'hardware' | 'software';
    }
  /**
   * A running libvirt domain (qemu:///system, or LIBVIRT_DEFAULT_URI), unchanged: the same as
   * 'qemu-process', with the QEMU found from libvirt's pid file and its monitor through libvirt's
   * QMP pass-through (`virsh qemu-monitor-command`).
   */
  | {
      kind: 'libvirt';
      domain: string;
      name?: string;
      breakpoints?: 'hardware' | 'software';
    }
  /** A guest through LibVMI: a Xen or KVMi domain by name, or a raw memory file. */
  | {
      kind: 'libvmi';
      name?: string;
      mode: 'xen' | 'kvm' | 'file';
      domain: string;
      events?: boolean;
      isf?: string;
      /** KVMi mode: the guest's introspection socket (required there). */
      kvmiSocket?: string;
    }
  /** A memory snapshot: QEMU ELF core, LiME or raw. */
  | { kind: 'snapshot'; path: string; name?: string; ramBase?: bigint }
  /** A recorded NDJSON trace: its events, no memory. */
  | { kind: 'replay'; path: string; name?: string; domains?: readonly string[] };

/** What a snapshot recorded beside its memory, which opening its kernel needs. */
export interface Recorded {
  vcpus: readonly VcpuState[];
  architecture: ArchitectureName | 'unknown';
}

/** A Domain, with what the snapshot recorded when it is one. */
export interface OpenedDomain {
  domain: Domain;
  recorded?: Recorded;
}

export async function openDomain(spec: DomainSpec): Promise<OpenedDomain> {
  switch (spec.kind) {
    case 'qemu': {
      const [{ QemuDomain }, qmp] = await Promise.all([
        import('../introspect/backends/qemu/qemu-domain.js'),
        connectQmp(spec.qmp),
      ]);
      const domain = await QemuDomain.attach({
        name: spec.name,
        pluginSocket: spec.pluginSocket,
        ramFile: spec.ramFile,
        ...(spec.ramBase !== undefined ? { ramBase: spec.ramBase } : {}),
        ...(qmp ? { qmp } : {}),
      });
      return { domain };
    }
    case 'gdb': {
      const [{ GdbDomain }, qmp] = await Promise.all([
        import('../introspect/backends/qemu/gdb-domain.js'),
        connectQmp(spec.qmp),
      ]);
      const domain = await GdbDomain.attach({
        name: spec.name,
        gdbSocket: spec.gdbSocket,
        ramFile: spec.ramFile,
        ...(qmp ? { qmp } : {}),
      });
      return { domain };
    }
    case 'qemu-process': {
      const [{ openQemuProcessDomain }, { findQemu }] = await Promise.all([
        import('../introspect/backends/qemu-process/open-domain.js'),
        import('../introspect/backends/qemu-process/qemu-processes.js'),
      ]);
      const qemu = findQemu(spec);
      const qmp = (await connectQmp(spec.qmp))!;
      try {
        const domain = await openQemuProcessDomain({
          qemu,
          qmp,
          ...(spec.name !== undefined ? { name: spec.name } : {}),
          ...(spec.breakpoints ? { breakpoints: spec.breakpoints } : {}),
        });
        return { domain };
      } catch (error) {
        qmp.close();
        throw error;
      }
    }
    case 'libvirt': {
      const [{ openQemuProcessDomain }, { openLibvirtDomain }] = await Promise.all([
        import('../introspect/backends/qemu-process/open-domain.js'),
        import('../introspect/backends/qemu-process/libvirt.js'),
      ]);
      const { qemu, monitor } = await openLibvirtDomain(spec.domain);
      try {
        const domain = await openQemuProcessDomain({
          qemu,
          qmp: monitor,
          name: spec.name ?? spec.domain,
          ...(spec.breakpoints ? { breakpoints: spec.breakpoints } : {}),
        });
        return { domain };
      } catch (error) {
        monitor.close();
        throw error;
      }
    }
    case 'libvmi': {
      const { LibvmiDomain } = await import('../introspect/backends/libvmi/index.js');
      const domain = LibvmiDomain.open({
        mode: spec.mode,
        domain: spec.domain,
        ...(spec.name !== undefined ? { name: spec.name } : {}),
        ...(spec.events !== undefined ? { events: spec.events } : {}),
        ...(spec.isf !== undefined ? { profile: { isf: spec.isf } } : {}),
        ...(spec.kvmiSocket !== undefined ? { kvmiSocket: spec.kvmiSocket } : {}),
      });
      return { domain };
    }
    case 'snapshot': {
      const [{ openSnapshot }, { OfflineDomain }] = await Promise.all([
        import('../introspect/backends/snapshot/index.js'),
        import('../introspect/domain/offline-domain.js'),
      ]);
      const snapshot = openSnapshot(
        spec.path,
        spec.ramBase !== undefined ? { ramBase: spec.ramBase } : {},
      );
      const name = spec.name ?? spec.path.split('/').pop() ?? spec.path;
      return {
        domain: new OfflineDomain(name, snapshot.memory, undefined, () => snapshot.close()),
        recorded: { vcpus: snapshot.layout.vcpus, architecture: snapshot.layout.architecture },
      };
    }
    case 'replay': {
      const [{ replayTrace }, { OfflineDomain, noMemory }] = await Promise.all([
        import('../introspect/backends/replay/index.js'),
        import('../introspect/domain/offline-domain.js'),
      ]);
      const name = spec.name ?? spec.path;
      const events = replayTrace(spec.path, spec.domains ? { domains: spec.domains } : {});
      return { domain: new OfflineDomain(name, noMemory(spec.path), events) };
    }
    default: {
      const unknown: never = spec;
      throw new RingsideError(
        'BAD_INPUT',
        `unknown domain kind ${(unknown as { kind: string }).kind}`,
      );
    }
  }
}

async function connectQmp(path: string | QmpClient | undefined): Promise<QmpClient | undefined> {
  if (path === undefined || typeof path !== 'string') return path;
  const { QmpClient } = await import('../introspect/backends/qemu/qmp.js');
  return QmpClient.connect(path);
}
