// The koffi layouts of LibVMI's structures against the sizes and offsets the C compiler gives.
// Recorded with gcc 12.2 (x86-64) from libvmi.h and events.h of libvmi/libvmi commit
// 82bbee6c378da854d07887048b06dc4ee8e20d6a (2026-01-04, VMI_EVENTS_VERSION 9), by a program that
// printed sizeof() and offsetof() of each structure and member named below.
import koffi, { type TypeObject } from 'koffi';
import {
  AccessContext,
  DebugEvent,
  InterruptEvent,
  MemAccessEvent,
  RegEvent,
  SingleStepEvent,
  VMI_EVENTS_VERSION,
  VmiEventStruct,
  X86Registers,
} from './layouts.js';

const RECORDED_SIZES = {
  access_context_t: 48,
  x86_registers_t: 568,
  reg_event_t: 48,
  mem_access_event_t: 32,
  interrupt_event_t: 48,
  single_step_event_t: 32,
  debug_event_t: 32,
  vmi_event_t: 96,
};

/** C member → path in the koffi type (anonymous unions are named `u` here). */
const RECORDED_OFFSETS: [string, TypeObject, string, number][] = [
  ['access_context_t.version', AccessContext, 'version', 0],
  ['access_context_t.pm', AccessContext, 'pm', 8],
  ['access_context_t.npm', AccessContext, 'npm', 12],
  ['access_context_t.npt', AccessContext, 'npt', 16],
  ['access_context_t.tm', AccessContext, 'tm', 24],
  ['access_context_t.addr', AccessContext, 'addr', 32],
  ['access_context_t.ksym', AccessContext, 'addr', 32],
  ['access_context_t.pt', AccessContext, 'pt', 40],
  ['access_context_t.pid', AccessContext, 'pt', 40],
  ['x86_registers_t.rax', X86Registers, 'rax', 0],
  ['x86_registers_t.rsp', X86Registers, 'rsp', 32],
  ['x86_registers_t.rdi', X86Registers, 'rdi', 56],
  ['x86_registers_t.rflags', X86Registers, 'rflags', 128],
  ['x86_registers_t.rip', X86Registers, 'rip', 152],
  ['x86_registers_t.cr0', X86Registers, 'cr0', 160],
  ['x86_registers_t.cr3', X86Registers, 'cr3', 176],
  ['x86_registers_t.cr4', X86Registers, 'cr4', 184],
  ['x86_registers_t.msr_lstar', X86Registers, 'msr_lstar', 232],
  ['x86_registers_t.fs_base', X86Registers, 'fs_base', 256],
  ['x86_registers_t.gs_base', X86Registers, 'gs_base', 288],
  ['x86_registers_t.shadow_gs', X86Registers, 'shadow_gs', 512],
  ['x86_registers_t.vmtrace_pos', X86Registers, 'vmtrace_pos', 560],
  ['reg_event_t.reg', RegEvent, 'reg', 0],
  ['reg_event_t.equal', RegEvent, 'equal', 8],
  ['reg_event_t.async', RegEvent, 'async', 16],
  ['reg_event_t.onchange', RegEvent, 'onchange', 17],
  ['reg_event_t.in_access', RegEvent, 'in_access', 18],
  ['reg_event_t.out_access', RegEvent, 'out_access', 19],
  ['reg_event_t.value', RegEvent, 'value', 24],
  ['reg_event_t.previous', RegEvent, 'previous', 32],
  ['reg_event_t.msr', RegEvent, 'msr', 40],
  ['mem_access_event_t.gfn', MemAccessEvent, 'gfn', 0],
  ['mem_access_event_t.generic', MemAccessEvent, 'generic', 8],
  ['mem_access_event_t.in_access', MemAccessEvent, 'in_access', 9],
  ['mem_access_event_t.out_access', MemAccessEvent, 'out_access', 10],
  ['mem_access_event_t.gptw', MemAccessEvent, 'gptw', 11],
  ['mem_access_event_t.gla_valid', MemAccessEvent, 'gla_valid', 12],
  ['mem_access_event_t.gla', MemAccessEvent, 'gla', 16],
  ['mem_access_event_t.offset', MemAccessEvent, 'offset', 24],
  ['interrupt_event_t.intr', InterruptEvent, 'intr', 0],
  ['interrupt_event_t.insn_length', InterruptEvent, 'u.int3.insn_length', 8],
  ['interrupt_event_t.reinject', InterruptEvent, 'u.int3.reinject', 12],
  ['interrupt_event_t.gla', InterruptEvent, 'u.int3.gla', 16],
  ['interrupt_event_t.gfn', InterruptEvent, 'u.int3.gfn', 24],
  ['interrupt_event_t.offset', InterruptEvent, 'u.int3.offset', 32],
  ['interrupt_event_t.vector', InterruptEvent, 'u.next.vector', 8],
  ['interrupt_event_t.type', InterruptEvent, 'u.next.type', 12],
  ['interrupt_event_t.error_code', InterruptEvent, 'u.next.error_code', 16],
  ['interrupt_event_t.cr2', InterruptEvent, 'u.next.cr2', 24],
  ['single_step_event_t.vcpus', SingleStepEvent, 'vcpus', 0],
  ['single_step_event_t.enable', SingleStepEvent, 'enable', 4],
  ['single_step_event_t.gla', SingleStepEvent, 'gla', 8],
  ['single_step_event_t.gfn', SingleStepEvent, 'gfn', 16],
  ['single_step_event_t.offset', SingleStepEvent, 'offset', 24],
  ['vmi_event_t.version', VmiEventStruct, 'version', 0],
  ['vmi_event_t.type', VmiEventStruct, 'type', 4],
  ['vmi_event_t.slat_id', VmiEventStruct, 'slat_id', 6],
  ['vmi_event_t.next_slat_id', VmiEventStruct, 'next_slat_id', 8],
  ['vmi_event_t.data', VmiEventStruct, 'data', 16],
  ['vmi_event_t.callback', VmiEventStruct, 'callback', 24],
  ['vmi_event_t.vcpu_id', VmiEventStruct, 'vcpu_id', 32],
  ['vmi_event_t.page_mode', VmiEventStruct, 'page_mode', 36],
  ['vmi_event_t.reg_event', VmiEventStruct, 'u.reg_event', 40],
  ['vmi_event_t.mem_event', VmiEventStruct, 'u.mem_event', 40],
  ['vmi_event_t.ss_event', VmiEventStruct, 'u.ss_event', 40],
  ['vmi_event_t.interrupt_event', VmiEventStruct, 'u.interrupt_event', 40],
  ['vmi_event_t.x86_regs', VmiEventStruct, 'x86_regs', 88],
];

/** Offset of a dotted member path, through nested structs and unions. */
function offsetOfPath(type: TypeObject, path: string): number {
  let offset = 0;
  let current = koffi.type(type);
  for (const name of path.split('.')) {
    const member = current.members?.[name];
    if (!member) throw new Error(`${current.name} has no member ${name}`);
    offset += member.offset;
    current = member.type;
  }
  return offset;
}

describe('LibVMI structure layouts through koffi', () => {
  it('have the sizes the C compiler gives', () => {
    expect({
      access_context_t: koffi.sizeof(AccessContext),
      x86_registers_t: koffi.sizeof(X86Registers),
      reg_event_t: koffi.sizeof(RegEvent),
      mem_access_event_t: koffi.sizeof(MemAccessEvent),
      interrupt_event_t: koffi.sizeof(InterruptEvent),
      single_step_event_t: koffi.sizeof(SingleStepEvent),
      debug_event_t: koffi.sizeof(DebugEvent),
      vmi_event_t: koffi.sizeof(VmiEventStruct),
    }).toEqual(RECORDED_SIZES);
  });

  it.each(RECORDED_OFFSETS)('put %s where the C compiler does', (_name, type, path, offset) => {
    expect(offsetOfPath(type, path)).toBe(offset);
  });

  it('are for the events ABI version the layouts were recorded from', () => {
    expect(VMI_EVENTS_VERSION).toBe(9);
    // Eight-byte alignment: an event embedded in another structure lands where C puts it.
    expect(koffi.alignof(VmiEventStruct)).toBe(8);
  });
});
