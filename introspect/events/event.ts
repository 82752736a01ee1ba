// The one envelope for everything that happens in a guest: raw hypervisor events (a hook hit, a memory
// trap) and the semantic events plugins derive from them (process.exec, cred.change). Rules match on either.

/**
 * Every event type, raw (straight from a backend's hooks) or semantic (derived by a plugin from raw
 * events and kernel structures), with the field groups it may carry. Each consumer keyed by event
 * type (ECS, OCSF, the rules' type catalogue) is a `satisfies Record<EventType, …>`, so a type added
 * here does not compile until each of them handles it.
 */
export const EVENT_TYPES = {
  breakpoint: { kind: 'raw', groups: ['vmi'] },
  mem_access: { kind: 'raw', groups: ['vmi'] },
  register_write: { kind: 'raw', groups: ['vmi'] },
  singlestep: { kind: 'raw', groups: ['vmi'] },
  interrupt: { kind: 'raw', groups: ['vmi'] },
  view_switch: { kind: 'raw', groups: ['vmi'] },
  lifecycle: { kind: 'raw', groups: ['lifecycle'] },
  // The guest reset or shut down under a live monitor: hooks are planted again in its next kernel.
  'guest.reboot': { kind: 'raw', groups: ['lifecycle'] },
  'process.exec': { kind: 'semantic', groups: ['process', 'user', 'vmi'] },
  'process.exit': { kind: 'semantic', groups: ['process', 'user', 'vmi'] },
  'process.hidden': { kind: 'semantic', groups: ['process'] },
  // A process whose state betrays an attack: injected code, an escape, a disguise (details.technique).
  'process.anomaly': { kind: 'semantic', groups: ['process', 'user'] },
  'cred.change': { kind: 'semantic', groups: ['process', 'user', 'vmi'] },
  'module.load': { kind: 'semantic', groups: ['process', 'module', 'vmi'] },
  'module.unload': { kind: 'semantic', groups: ['process', 'module', 'vmi'] },
  // The writer's task and user, and the module whose code the written value points into.
  'kernel.write': { kind: 'semantic', groups: ['process', 'user', 'module', 'vmi'] },
  'integrity.violation': { kind: 'semantic', groups: ['process', 'user', 'module', 'vmi'] },
  'network.connect': { kind: 'semantic', groups: ['process', 'user', 'network', 'vmi'] },
} as const satisfies Record<string, { kind: 'raw' | 'semantic'; groups: readonly FieldGroup[] }>;

export type EventType = keyof typeof EVENT_TYPES;

/** Events straight from a backend's hooks. */
export type RawEventType = {
  [T in EventType]: (typeof EVENT_TYPES)[T]['kind'] extends 'raw' ? T : never;
}[EventType];

/** Events a plugin derives from raw events and kernel structures. */
export type SemanticEventType = Exclude<EventType, RawEventType>;

const ALL_EVENT_TYPES = Object.keys(EVENT_TYPES) as EventType[];

export const RAW_EVENT_TYPES: readonly RawEventType[] = ALL_EVENT_TYPES.filter(
  (type): type is RawEventType => EVENT_TYPES[type].kind === 'raw',
);

export const SEMANTIC_EVENT_TYPES: readonly SemanticEventType[] = ALL_EVENT_TYPES.filter(
  (type): type is SemanticEventType => EVENT_TYPES[type].kind === 'semantic',
);

/** Whether a string (from a trace, a rule, a user module) names an event type. */
export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && Object.hasOwn(EVENT_TYPES, value);

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
  state: 'attached' | 'detached' | 'paused' | 'resumed' | 'exited' | 'error' | 'rebooted';
  reason?: string;
}

/** The field groups an event may carry, by the member that holds them. */
export interface FieldGroups {
  vmi: VmiFields;
  process: ProcessFields;
  user: UserFields;
  module: ModuleFields;
  network: NetworkFields;
  lifecycle: LifecycleFields;
}

export type FieldGroup = keyof FieldGroups;

/** The groups an event of type T may carry. */
export type GroupsOf<T extends EventType> = (typeof EVENT_TYPES)[T]['groups'][number];

/** What every event has, whatever its type. */
export interface EventEnvelope {
  /** Name of the guest (domain) the event comes from. */
  domain: string;
  vcpu?: number;
  /** Monotonic time in milliseconds (fractional), comparable within one Ringside run or trace. */
  time: number;
  /** Wall-clock time, ISO 8601, when the event was observed. */
  timestamp?: string;
  /** Register values that matter for this event (rip, rsp, cr3, rdi …). */
  registers?: Record<string, bigint>;
  /** Free-form evidence a plugin attaches (never used for matching unless a rule names it). */
  details?: Record<string, unknown>;
}

/**
 * The event of one type: the envelope, the groups its type carries (each optional: a detector that
 * could not read a structure leaves its group out) and none of the others.
 */
export type EventOfType<T extends EventType> = EventEnvelope & { type: T } & {
  [G in GroupsOf<T>]?: FieldGroups[G];
} & { [G in Exclude<FieldGroup, GroupsOf<T>>]?: never };

/** The event envelope shared by raw and semantic events: a union discriminated by `type`. */
export type VmiEvent<T extends EventType = EventType> = { [K in T]: EventOfType<K> }[T];

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
