// The catalogue of event fields rules may name, with their types, so that a rule naming an unknown
// field, or comparing a field with a value of the wrong type, is rejected before anything runs.

export type FieldType = 'string' | 'number' | 'address' | 'boolean' | 'ip' | 'string[]';

export interface FieldDefinition {
  type: FieldType;
  description: string;
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
  'process.kernel_thread': { type: 'boolean', description: 'Kernel thread (no mm)' },
  'process.task': { type: 'address', description: 'task_struct address' },
  'process.parent.pid': { type: 'number', description: 'Parent pid' },
  'process.parent.name': { type: 'string', description: 'Parent comm' },
  'process.parent.executable': { type: 'string', description: 'Parent executable' },
  'user.id': { type: 'number', description: 'Real uid' },
  'user.group_id': { type: 'number', description: 'Real gid' },
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
  'details.via': {
    type: 'string',
    description: 'cred.change: how the change was made (commit_creds, exec, a direct write)',
  },
};
