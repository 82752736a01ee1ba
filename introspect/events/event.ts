// The one envelope for everything that happens in a guest: raw hypervisor events (a hook hit, a memory
// trap) and the semantic events plugins derive from them (process.exec, cred.change). Rules match on either.

/** Events straight from a backend's hooks. */
export type RawEventType =
  | 'breakpoint'
  | 'mem_access'
  | 'register_write'
  | 'singlestep'
  | 'interrupt'
  | 'view_switch'
  | 'lifecycle';

/** Events a plugin derives from raw events and kernel structures. */
export type SemanticEventType =
  | 'process.exec'
  | 'process.exit'
  | 'process.hidden'
  | 'cred.change'
  | 'module.load'
  | 'module.unload'
  | 'kernel.write'
  | 'integrity.violation'
  | 'network.connect';

export type EventType = RawEventType | SemanticEventType;

export const RAW_EVENT_TYPES: readonly RawEventType[] = [
  'breakpoint',
  'mem_access',
  'register_write',
  'singlestep',
  'interrupt',
  'view_switch',
  'lifecycle',
];

export const SEMANTIC_EVENT_TYPES: readonly SemanticEventType[] = [
  'process.exec',
  'process.exit',
  'process.hidden',
  'cred.change',
  'module.load',
  'module.unload',
  'kernel.write',
  'integrity.violation',
  'network.connect',
];

export type MemoryAccess = 'r' | 'w' | 'x';

/** What the hypervisor side saw: addresses are bigint in memory and "0x…" strings in traces. */
export interface VmiFields {
  /** Instruction pointer of the vCPU when the event fired. */
  rip?: bigint;
  /** Guest-physical address of a memory access. */
  gpa?: bigint;
  /** Guest-virtual address of a memory access or hook. */
  gva?: bigint;
  access?: MemoryAccess;
  /** Bytes accessed. */
  size?: number;
  /** altp2m / emulated view id the vCPU was in. */
  view?: number;
  /** Register written (register_write): 'cr0', 'cr3', 'cr4', 'msr:0xc0000082' … */
  register?: string;
  old_value?: bigint;
  new_value?: bigint;
  /** Kernel symbol nearest to the address involved, as `name+0xoff`. */
  symbol?: string;
  /** Name of the hook that fired. */
  hook?: string;
  /** Hex-encoded bytes (written data, code). */
  data?: string;
  /** Disassembly of the code at the new target, one instruction per line. */
  disassembly?: string;
}

export interface ProcessFields {
  pid?: number;
  tgid?: number;
  ppid?: number;
  name?: string;
  executable?: string;
  args?: string[];
  command_line?: string;
  kernel_thread?: boolean;
  /** Task address in the guest kernel. */
  task?: bigint;
  parent?: { pid?: number; name?: string; executable?: string };
}

export interface UserFields {
  id?: number;
  group_id?: number;
  effective_id?: number;
  previous_id?: number;
  /** Effective uid before a credential change. */
  previous_effective_id?: number;
  /** The credential change came from executing a set-user-ID / set-group-ID file. */
  setuid_exec?: boolean;
}

export interface ModuleFields {
  name?: string;
  base?: bigint;
  size?: number;
  sha256?: string;
}

export interface NetworkFields {
  destination_ip?: string;
  destination_port?: number;
  source_ip?: string;
  source_port?: number;
  transport?: string;
}

export interface LifecycleFields {
  state: 'attached' | 'detached' | 'paused' | 'resumed' | 'exited' | 'error';
  reason?: string;
}

/** The event envelope shared by raw and semantic events. */
export interface VmiEvent {
  type: EventType;
  /** Name of the guest (domain) the event comes from. */
  domain: string;
  vcpu?: number;
  /** Monotonic time in milliseconds (fractional), comparable within one Ringside run or trace. */
  time: number;
  /** Wall-clock time, ISO 8601, when the event was observed. */
  timestamp?: string;
  /** Register values that matter for this event (rip, rsp, cr3, rdi …). */
  registers?: Record<string, bigint>;
  vmi?: VmiFields;
  process?: ProcessFields;
  user?: UserFields;
  module?: ModuleFields;
  network?: NetworkFields;
  lifecycle?: LifecycleFields;
  /** Free-form evidence a plugin attaches (never used for matching unless a rule names it). */
  details?: Record<string, unknown>;
}

/** A lifecycle event of a domain (attached, detached, error …), stamped now. */
export function lifecycleEvent(
  domain: string,
  state: LifecycleFields['state'],
  reason?: string,
): VmiEvent {
  return {
    type: 'lifecycle',
    domain,
    time: performance.now(),
    lifecycle: reason === undefined ? { state } : { state, reason },
  };
}
