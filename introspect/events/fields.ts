// The catalogue of event fields rules may name, with their types, so that a rule naming an unknown
// field, or comparing a field with a value of the wrong type, is rejected before anything runs.

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
      'integrity.violation: the check that failed (syscall_table, idt, cr0.wp, cr4.smep, cr4.smap, lstar)',
  },
  'details.message': {
    type: 'string',
    description: 'integrity.violation: what is wrong, in one line',
  },
  'details.via': {
    type: 'string',
    description: 'cred.change: how the change was made (commit_creds, exec, a direct write)',
  },
};
