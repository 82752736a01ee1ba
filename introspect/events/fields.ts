// The catalogue of event fields rules may name, with their types, so that a rule naming an unknown
// field, or comparing a field with a value of the wrong type, is rejected before anything runs.
import type { EventType } from './event.js';
import { EVENT_TYPES } from './event.js';

export type FieldType = 'string' | 'number' | 'address' | 'boolean' | 'ip' | 'string[]';

export interface FieldDefinition {
  type: FieldType;
  description: string;
  /** No detector fills it yet: a rule naming it loads, with a warning that it cannot fire. */
  unfilled?: true;
}

export const EVENT_FIELDS: Readonly<Record<string, FieldDefinition>> = {
  type: { type: 'string', description: 'Event type (breakpoint, mem_access, process.exec …)' },
  domain: { type: 'string', description: 'Guest name' },
  vcpu: { type: 'number', description: 'vCPU index' },
  time: { type: 'number', description: 'Monotonic time, ms' },
  'vmi.rip': { type: 'address', description: 'Instruction pointer' },
  'vmi.gpa': { type: 'address', description: 'Guest-physical address accessed' },
  'vmi.gva': { type: 'address', description: 'Guest-virtual address accessed or hooked' },
  'vmi.access': { type: 'string', description: 'r, w or x' },
  'vmi.size': { type: 'number', description: 'Bytes accessed' },
  'vmi.view': { type: 'number', description: 'View id' },
  'vmi.register': { type: 'string', description: 'Register written' },
  'vmi.old_value': { type: 'address', description: 'Value before the write' },
  'vmi.new_value': { type: 'address', description: 'Value after the write' },
  'vmi.symbol': { type: 'string', description: 'Kernel symbol of the address' },
  'vmi.hook': { type: 'string', description: 'Hook name' },
  'vmi.data': { type: 'string', description: 'Bytes, hex' },
  'vmi.disassembly': { type: 'string', description: 'Disassembly of the target' },
  'process.pid': { type: 'number', description: 'Process id (tgid of the thread group leader)' },
  'process.tgid': { type: 'number', description: 'Thread group id' },
  'process.ppid': { type: 'number', description: 'Parent process id' },
  'process.name': { type: 'string', description: 'Task comm' },
  'process.executable': { type: 'string', description: 'Path of the executable' },
  'process.args': { type: 'string[]', description: 'argv' },
  'process.command_line': { type: 'string', description: 'argv joined with spaces' },
  'process.command_line_truncated': {
    type: 'boolean',
    description: 'The command line was cut at the capture limit (1,024 bytes): match with care',
    unfilled: true,
  },
  'process.command_line_length': {
    type: 'number',
    description: 'Length in bytes of the whole command line before any cut',
    unfilled: true,
  },
  'process.working_directory': {
    type: 'string',
    description: 'Current working directory',
    unfilled: true,
  },
  'process.arguments': {
    type: 'string',
    description: 'The arguments after argv[0], joined with spaces (derived from argv)',
  },
  'process.argv0': { type: 'string', description: 'argv[0] (derived from argv)' },
  'process.kernel_thread': { type: 'boolean', description: 'Kernel thread (no mm)' },
  'process.task': { type: 'address', description: 'task_struct address' },
  'process.parent.pid': { type: 'number', description: 'Parent pid' },
  'process.parent.name': { type: 'string', description: 'Parent comm' },
  'process.parent.executable': {
    type: 'string',
    description: 'Parent executable',
    unfilled: true,
  },
  'user.id': { type: 'number', description: 'Real uid' },
  'user.group_id': { type: 'number', description: 'Real gid' },
  'user.name': {
    type: 'string',
    description: 'User name from the guest passwd file, or "unresolved"',
    unfilled: true,
  },
  'group.name': {
    type: 'string',
    description: 'Group name from the guest group file, or "unresolved"',
    unfilled: true,
  },
  'container.id': {
    type: 'string',
    description: 'Container id (cgroup), empty on the host',
    unfilled: true,
  },
  'container.name': { type: 'string', description: 'Container name', unfilled: true },
  'container.image.repository': {
    type: 'string',
    description: 'Image repository of the container',
    unfilled: true,
  },
  'container.image': { type: 'string', description: 'Image of the container', unfilled: true },
  'container.image.tag': { type: 'string', description: 'Image tag', unfilled: true },
  'container.privileged': {
    type: 'boolean',
    description: 'The container runs privileged',
    unfilled: true,
  },
  'process.parent.parent.name': {
    type: 'string',
    description: 'Name (comm) of the grandparent process',
    unfilled: true,
  },
  'process.parent.parent.parent.name': {
    type: 'string',
    description: 'Name of the third ancestor',
    unfilled: true,
  },
  'process.parent.parent.parent.parent.name': {
    type: 'string',
    description: 'Name of the fourth ancestor',
    unfilled: true,
  },
  'process.parent.parent.parent.parent.parent.name': {
    type: 'string',
    description: 'Name of the fifth ancestor',
    unfilled: true,
  },
  'process.parent.command_line': {
    type: 'string',
    description: 'Command line of the parent process',
    unfilled: true,
  },
  'user.effective_id': { type: 'number', description: 'Effective uid' },
  'user.previous_id': { type: 'number', description: 'uid before a credential change' },
  'user.previous_effective_id': {
    type: 'number',
    description: 'Effective uid before a credential change',
  },
  'user.setuid_exec': {
    type: 'boolean',
    description: 'The credential change came from executing a set-user-ID or set-group-ID file',
  },
  'module.name': { type: 'string', description: 'Kernel module name' },
  'module.base': { type: 'address', description: 'Module base address' },
  'module.size': { type: 'number', description: 'Module size' },
  'module.sha256': { type: 'string', description: 'SHA-256 of the module code' },
  'network.destination_ip': { type: 'ip', description: 'Destination IP' },
  'network.destination_port': { type: 'number', description: 'Destination port' },
  'network.source_ip': { type: 'ip', description: 'Source IP' },
  'network.source_port': { type: 'number', description: 'Source port' },
  'network.transport': { type: 'string', description: 'tcp, udp …' },
  'lifecycle.state': { type: 'string', description: 'attached, detached, paused …' },
  'lifecycle.reason': { type: 'string', description: 'Why the state changed' },
  'details.check': {
    type: 'string',
    description:
      'integrity.violation: the check that failed (syscall_table, idt, cr0.wp, cr4.smep, cr4.smap, lstar, hidden_module, function_hook, bpf_program)',
  },
  'details.message': {
    type: 'string',
    description: 'integrity.violation: what is wrong, in one line',
  },
  'details.target_location.where': {
    type: 'string',
    description:
      'kernel.write / integrity.violation: where the new pointer leads (kernel-text, module, elsewhere)',
  },
  'details.target_location.module': {
    type: 'string',
    description: 'The module the new pointer leads into',
  },
  'details.target_location.symbol': {
    type: 'string',
    description: 'The symbol (or [module]+0xoffset) the new pointer leads to',
  },
  'details.jump_target.where': {
    type: 'string',
    description:
      'kernel.write on kernel text: where the patched code now jumps (kernel-text, module, elsewhere)',
  },
  'details.jump_target.module': {
    type: 'string',
    description: 'The module patched kernel code now jumps into',
  },
  'details.jump_target.symbol': {
    type: 'string',
    description: 'The symbol (or [module]+0xoffset) patched kernel code now jumps to',
  },
  'details.technique': {
    type: 'string',
    description:
      'process.anomaly: what was found (code_injection, namespace_escape, kernel_thread_masquerade)',
  },
  'details.protection': {
    type: 'string',
    description:
      "process.anomaly code_injection: the mapping's rights as /proc/PID/maps prints them (rwx, r-x)",
  },
  'details.nsproxy': {
    type: 'string',
    description:
      "process.anomaly namespace_escape: init's namespaces held (init_nsproxy, or init_mnt_ns when only the mount namespace is init's)",
  },
  'details.cred': {
    type: 'string',
    description:
      "process.anomaly namespace_escape: init_cred when the process holds init's credentials",
  },
  'details.disguise': {
    type: 'string',
    description:
      'process.anomaly kernel_thread_masquerade: where the kernel-thread name is (comm or command_line)',
  },
  'details.via': {
    type: 'string',
    description: 'cred.change: how the change was made (commit_creds, exec, a direct write)',
  },
};

/**
 * What each event type means for a rule, and the `details.*` fields of the catalogue its detector
 * sets. With the type's field groups (EVENT_TYPES) this says which fields an event of it can carry.
 */
export const EVENT_TYPE_CATALOGUE: Readonly<
  Record<EventType, { description: string; details: readonly string[] }>
> = {
  breakpoint: { description: 'An exec hook was hit (vmi.rip, vmi.hook)', details: [] },
  mem_access: { description: 'A trapped memory access (vmi.gpa, vmi.access)', details: [] },
  register_write: {
    description: 'A control register or MSR was written (vmi.register)',
    details: [],
  },
  singlestep: { description: 'One instruction stepped', details: [] },
  interrupt: { description: 'An interrupt or exception reached the hypervisor', details: [] },
  view_switch: { description: 'The vCPU changed memory view', details: [] },
  lifecycle: { description: 'The guest was attached, paused, resumed or lost', details: [] },
  'guest.reboot': {
    description:
      'The guest reset or shut down under a live monitor (lifecycle.reason: the QEMU event); its next kernel is hooked again',
    details: [],
  },
  'process.exec': { description: 'A program was executed', details: [] },
  'process.exit': { description: 'A process exited', details: [] },
  'process.hidden': {
    description: 'A process seen by one view of the kernel is missing from the task list',
    details: [],
  },
  'process.anomaly': {
    description:
      "A process's state shows an attack: injected code, a namespace escape, a kernel-thread disguise",
    details: [
      'details.technique',
      'details.message',
      'details.protection',
      'details.nsproxy',
      'details.cred',
      'details.disguise',
    ],
  },
  'cred.change': { description: "A task's credentials changed", details: ['details.via'] },
  'module.load': { description: 'A kernel module was loaded', details: [] },
  'module.unload': { description: 'A kernel module was unloaded', details: [] },
  'kernel.write': {
    description: 'Protected kernel memory was written',
    details: [
      'details.target_location.where',
      'details.target_location.module',
      'details.target_location.symbol',
      'details.jump_target.where',
      'details.jump_target.module',
      'details.jump_target.symbol',
    ],
  },
  'integrity.violation': {
    description: 'A kernel structure or register differs from its baseline',
    details: [
      'details.check',
      'details.message',
      'details.target_location.where',
      'details.target_location.module',
      'details.target_location.symbol',
    ],
  },
  'network.connect': { description: 'A process opened a TCP connection', details: [] },
};

/** The catalogue fields an event of this type can carry: the envelope, its groups, its details. */
export function fieldsOf(type: EventType): string[] {
  const groups: readonly string[] = EVENT_TYPES[type].groups;
  const details = EVENT_TYPE_CATALOGUE[type].details;
  return Object.keys(EVENT_FIELDS).filter((path) => {
    const dot = path.indexOf('.');
    if (dot < 0) return true;
    const head = path.slice(0, dot);
    return head === 'details' ? details.includes(path) : groups.includes(head);
  });
}
