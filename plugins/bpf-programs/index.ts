// eBPF programs that can tamper: every program in the kernel's prog_idr is read (type, name, tag,
// loader's uid, links) and one that calls bpf_probe_write_user or bpf_override_return, or is an LSM
// program, is reported as an integrity.violation (details.check bpf_program) naming it and where
// it is attached, and the processes holding it (by a descriptor of it or of a link to it). Helpers
// are read from the verified instructions (not the JIT image); whether the holder is an expected
// loader is left to the rules (the kernel keeps only the loader's uid).
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import {
  bpfHolders,
  listBpfPrograms,
  tamperingReasons,
  type BpfHolder,
  type BpfProgram,
} from '../../introspect/os/linux/bpf-programs.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { periodicEvents } from '../guest-context.js';
import { standingCheck, type EventBase } from '../standing-check.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const BPF_INTERVAL_MS = 1000;

export interface TamperingProgram {
  program: BpfProgram;
  reasons: string[];
  /** Processes holding it through a descriptor (its loader, while it keeps it). */
  holders: BpfHolder[];
}

export function tamperingPrograms(kernel: LinuxKernel): TamperingProgram[] {
  const found = listBpfPrograms(kernel).programs.flatMap((program) => {
    const reasons = tamperingReasons(program);
    return reasons.length ? [{ program, reasons }] : [];
  });
  // Descriptor tables are read only when there is something to attribute.
  const holders = found.length
    ? bpfHolders(kernel, new Set(found.map(({ program }) => program.address)))
    : new Map<bigint, BpfHolder[]>();
  return found.map((entry) => ({ ...entry, holders: holders.get(entry.program.address) ?? [] }));
}

/** Where a program is attached, as far as its links and attach target say. */
export const attachPoint = (program: BpfProgram): string | undefined =>
  program.links[0] ?? program.attachTo;

export function bpfProgramEvent(
  { program, reasons, holders }: TamperingProgram,
  base: EventBase,
): VmiEvent {
  const at = attachPoint(program);
  const name = program.name || `id ${program.id}`;
  const holder = holders[0];
  const held = holders.length
    ? `; held by ${[...new Set(holders.map((entry) => `${entry.name} (pid ${entry.pid})`))].join(', ')}`
    : '';
  return {
    type: 'integrity.violation',
    ...base,
    vmi: { symbol: at ?? `bpf_prog ${program.id}`, hook: 'bpf', gva: program.address },
    ...(program.uid !== undefined ? { user: { id: program.uid } } : {}),
    ...(holder ? { process: { pid: holder.pid, name: holder.name } } : {}),
    details: {
      check: 'bpf_program',
      message: `eBPF ${program.typeName} program ${name} (id ${program.id}${at ? `, attached to ${at}` : ', not attached by a link'}) ${reasons.join(' and ')}${held}`,
      reasons,
      program: {
        id: program.id,
        type: program.typeName,
        name: program.name,
        tag: program.tag,
        jited: program.jited,
        instructions: program.instructions,
        helpers: program.helpers,
        links: program.links,
        ...(program.attachTo ? { attach_to: program.attachTo } : {}),
        ...(program.uid !== undefined ? { uid: program.uid } : {}),
        held_by: holders.map((entry) => ({ pid: entry.pid, name: entry.name, via: entry.via })),
      },
    },
  };
}

export interface BpfProgramsOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
}

export function createBpfPrograms(options: BpfProgramsOptions = {}): DetectorPlugin {
  return {
    meta: {
      id: 'bpf-programs',
      version: '1.0.0',
      description:
        'eBPF programs that can tamper: bpf_probe_write_user or bpf_override_return callers, LSM programs',
      architectures: ['x86_64', 'aarch64'],
      symbols: ['prog_idr', '__bpf_call_base'],
      capabilities: { live: [true] },
      emits: ['integrity.violation'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      return defer(() =>
        periodicEvents(
          options.intervalMs ?? BPF_INTERVAL_MS,
          standingCheck(domain, kernel, {
            read: () => tamperingPrograms(kernel),
            key: ({ program }) => `${program.id}:${program.address}:${program.tag}`,
            event: bpfProgramEvent,
          }),
          options.scheduler,
        ),
      );
    },
    judge: async ({ kernel, domain, timestamp }) => {
      const base = { domain, time: performance.now(), timestamp };
      return tamperingPrograms(kernel).map((found) => bpfProgramEvent(found, base));
    },
  };
}

export const bpfPrograms = createBpfPrograms();
