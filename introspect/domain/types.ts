// The Domain: one guest, whatever the backend. Memory, control, and hooks as observables; the
// capabilities say honestly what this backend can do, so a plugin can refuse to start without them.
import type { Observable } from 'rxjs';
import type { VmiEvent } from '../events/event.js';
import type { PhysicalMemory } from '../memory/types.js';
import type { VcpuState } from './vcpu.js';

export interface DomainCapabilities {
  live: boolean;
  /** How memory-access traps on guest frames are made. */
  memAccess: 'tcg-plugin' | 'ept' | 'watchpoint' | 'none';
  /** How execution hooks are made: hidden ones leave guest memory untouched. */
  breakpoints: 'hidden' | 'int3' | 'debugger' | 'none';
  /** Several views of guest memory with per-frame permissions, switched per vCPU. */
  altp2m: 'emulated' | 'hardware' | 'none';
  /** Traps on writes to control registers and MSRs. */
  registerWriteTraps: boolean;
  singlestep: boolean;
  /** Exec hooks can read guest values at the hit (HookSpec `capture`) and report without holding. */
  captures: boolean;
  /** Number of views (1 when there is no altp2m). */
  views: number;
}

export type ControlRegister = 'cr0' | 'cr3' | 'cr4' | 'msr';

/**
 * A value read in the guest at an exec hook, by the backend, before the vCPU goes on: start from a
 * register, follow each pointer in `derefs` (read at +offset), then read `length` bytes at
 * +`offset`. E.g. current->pid: { register: 'gs_base', derefs: [current_task], offset: pid, length: 4 }.
 */
export interface Capture {
  register: string;
  derefs?: number[];
  offset: number;
  length: number;
}

export type HookSpec =
  /** Execution of a guest-virtual address (kernel addresses are the same in every process). */
  | {
      kind: 'exec';
      address: bigint;
      name?: string;
      /** Values read at the hit (see Capture); handlers get them in HookContext.captures. */
      capture?: Capture[];
      /**
       * false: report the hit without holding the vCPU (no round trip); handlers run later and
       * should rely on captures, since guest memory moves on. Default true.
       */
      hold?: boolean;
      /** Report only when these two captures differ (e.g. old and new credentials). */
      reportIfDiffer?: [number, number];
    }
  /** Accesses to a guest-physical frame (4 KiB), in one view. */
  | {
      kind: 'memory';
      frame: bigint;
      access: { r?: boolean; w?: boolean; x?: boolean };
      /**
       * Only reads and writes by kernel-mode code matter (a kernel frame user code cannot map):
       * backends that instrument accesses in software then skip user code.
       */
      kernelOnly?: boolean;
      view?: number;
      name?: string;
    }
  /** Writes to a control register or an MSR. */
  | { kind: 'register'; register: ControlRegister; name?: string };

/** What a hook handler gets while the vCPU is held. */
export interface HookContext {
  event: VmiEvent;
  /**
   * The hook's captures, read at the hit (undefined where the read faulted); absent when the
   * backend does not capture, and the handler then reads guest memory itself while the vCPU is held.
   */
  captures?: (Uint8Array | undefined)[];
  /** Keeps the vCPU held until the promise settles (its rejection is reported, not fatal). */
  hold(work: Promise<unknown>): void;
}

/**
 * What a live backend can do in response to a finding (see docs/rules.md, actions). Absent on
 * backends that cannot act: snapshot files and replayed traces.
 */
export interface DomainResponder {
  /** Writes guest-physical memory at once, synchronously, so it can run while a vCPU is held. */
  writePhysical(address: bigint, bytes: Uint8Array): void;
  /** Writes an ELF core of guest memory (with register notes) to `path`; the guest pauses meanwhile. */
  dumpMemory(path: string): Promise<void>;
  /** Stops the whole guest (it stays stopped until someone resumes it). */
  stop(): Promise<void>;
}

export interface Domain {
  readonly name: string;
  readonly capabilities: DomainCapabilities;
  /** Response actions this backend can take; undefined when it cannot act. */
  readonly responder?: DomainResponder;
  /** Guest-physical memory (live for a running guest). */
  readonly physical: PhysicalMemory;
  /** Every event of every hook, and lifecycle events. */
  readonly events$: Observable<VmiEvent>;
  /** Subscribing plants the hook; the last unsubscribe removes it. */
  hook(spec: HookSpec): Observable<HookContext>;
  /** Resolves once every hook change so far is in effect in the guest. */
  synced(): Promise<void>;
  switchView(vcpu: number, view: number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Counts a generation: any resume of the guest starts a new one (translation caches follow it). */
  onNewGeneration(listener: () => void): () => void;
  /**
   * The vCPUs' registers now (CR3, CR0, CR4, RIP…), where the backend reads them without a hook
   * (QEMU's monitor); absent elsewhere.
   */
  vcpuStates?(): Promise<readonly VcpuState[]>;
  /**
   * Calls `listener` when the guest resets or shuts down (QEMU's RESET/SHUTDOWN events): the kernel
   * the hooks were planted in is gone. Hits of hooks planted before it are dropped from then on.
   * Absent where the backend cannot tell.
   */
  onReboot?(listener: (reason: string) => void): () => void;
  /** Removes every hook and lets the guest run on. */
  close(): Promise<void>;
}
