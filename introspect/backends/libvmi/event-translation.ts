// LibVMI's vmi_event_t (and the x86_registers_t it points at) as a Ringside VmiEvent: a pure function
// over the bytes, at the offsets of the koffi layouts (which layouts.test.ts checks against C).
import koffi from 'koffi';
import type { MemoryAccess, VmiEvent } from '../../events/event.js';
import {
  EventType,
  InterruptEvent,
  INT3,
  MemAccess,
  MemAccessEvent,
  RegEvent,
  Register,
  SingleStepEvent,
  VmiEventStruct,
  X86_REGISTER_NAMES,
  X86Registers,
  eventOffset,
} from './layouts.js';

export const VMI_EVENT_SIZE = koffi.sizeof(VmiEventStruct);
export const X86_REGISTERS_SIZE = koffi.sizeof(X86Registers);

const at = {
  type: koffi.offsetof(VmiEventStruct, 'type'),
  slatId: koffi.offsetof(VmiEventStruct, 'slat_id'),
  vcpu: koffi.offsetof(VmiEventStruct, 'vcpu_id'),
  memGfn: eventOffset(MemAccessEvent, 'gfn'),
  memOut: eventOffset(MemAccessEvent, 'out_access'),
  memGlaValid: eventOffset(MemAccessEvent, 'gla_valid'),
  memGla: eventOffset(MemAccessEvent, 'gla'),
  memOffset: eventOffset(MemAccessEvent, 'offset'),
  regReg: eventOffset(RegEvent, 'reg'),
  regValue: eventOffset(RegEvent, 'value'),
  regPrevious: eventOffset(RegEvent, 'previous'),
  regMsr: eventOffset(RegEvent, 'msr'),
  intIntr: eventOffset(InterruptEvent, 'intr'),
  // The INT3 arm of interrupt_event_t's union starts at the union.
  intGla: eventOffset(InterruptEvent, 'u') + 8,
  intGfn: eventOffset(InterruptEvent, 'u') + 16,
  intOffset: eventOffset(InterruptEvent, 'u') + 24,
  ssGla: eventOffset(SingleStepEvent, 'gla'),
  ssGfn: eventOffset(SingleStepEvent, 'gfn'),
  ssOffset: eventOffset(SingleStepEvent, 'offset'),
};

/** The registers a VmiEvent carries (the rest of x86_registers_t is segment state). */
const EVENT_REGISTERS = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rbp',
  'rsp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
  'cr0',
  'cr2',
  'cr3',
  'cr4',
  'fs_base',
  'gs_base',
  'shadow_gs',
] as const;
const REGISTER_OFFSET = new Map(X86_REGISTER_NAMES.map((name, index) => [name, index * 8]));

const REGISTER_NAMES = new Map<number, string>([
  [Register.cr0, 'cr0'],
  [Register.cr3, 'cr3'],
  [Register.cr4, 'cr4'],
]);

export interface RawLibvmiEvent {
  /** Exactly sizeof(vmi_event_t) bytes, copied out of the C event. */
  event: Uint8Array;
  /** sizeof(x86_registers_t) bytes from event->x86_regs, when LibVMI gave them. */
  registers?: Uint8Array;
}

/** The registers of an x86_registers_t, by Ringside's names. */
export function decodeRegisters(bytes: Uint8Array): Record<string, bigint> {
  if (bytes.length < X86_REGISTERS_SIZE)
    throw new RangeError(`x86_registers_t needs ${X86_REGISTERS_SIZE} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const registers: Record<string, bigint> = {};
  for (const name of EVENT_REGISTERS)
    registers[name] = view.getBigUint64(REGISTER_OFFSET.get(name)!, true);
  return registers;
}

/** The access that fired, most significant first (a write that also reads is a write). */
function accessOf(bits: number): MemoryAccess {
  if (bits & MemAccess.w) return 'w';
  if (bits & MemAccess.x) return 'x';
  return 'r';
}

/**
 * The VmiEvent for one LibVMI event, or undefined for event types Ringside does not hook (CPUID,
 * I/O, descriptor access …).
 */
export function translateEvent(
  raw: RawLibvmiEvent,
  domain: string,
  time: number,
): VmiEvent | undefined {
  if (raw.event.length < VMI_EVENT_SIZE)
    throw new RangeError(`vmi_event_t needs ${VMI_EVENT_SIZE} bytes, got ${raw.event.length}`);
  const view = new DataView(raw.event.buffer, raw.event.byteOffset, raw.event.byteLength);
  const u64 = (offset: number) => view.getBigUint64(offset, true);
  const registers = raw.registers ? decodeRegisters(raw.registers) : undefined;
  const base = {
    domain,
    vcpu: view.getUint32(at.vcpu, true),
    time,
    timestamp: new Date().toISOString(),
    ...(registers ? { registers } : {}),
  };
  const view_ = view.getUint16(at.slatId, true);
  const rip = registers?.rip;
  switch (view.getUint16(at.type, true)) {
    case EventType.memory: {
      const gpa = (u64(at.memGfn) << 12n) + u64(at.memOffset);
      const glaValid = view.getUint8(at.memGlaValid) !== 0;
      return {
        ...base,
        type: 'mem_access',
        vmi: {
          ...(rip !== undefined ? { rip } : {}),
          gpa,
          ...(glaValid ? { gva: u64(at.memGla) } : {}),
          access: accessOf(view.getUint8(at.memOut)),
          view: view_,
        },
      };
    }
    case EventType.interrupt: {
      if (view.getUint8(at.intIntr) !== INT3) return undefined;
      const gva = u64(at.intGla);
      return {
        ...base,
        type: 'breakpoint',
        vmi: {
          rip: rip ?? gva,
          gva,
          gpa: (u64(at.intGfn) << 12n) + u64(at.intOffset),
          view: view_,
        },
      };
    }
    case EventType.register: {
      const number = Number(u64(at.regReg));
      const msr = view.getUint32(at.regMsr, true);
      const register =
        REGISTER_NAMES.get(number) ??
        (number === Register.msrAll || number === Register.msrAny
          ? `msr:0x${msr.toString(16)}`
          : `reg:${number}`);
      return {
        ...base,
        type: 'register_write',
        vmi: {
          ...(rip !== undefined ? { rip } : {}),
          register,
          new_value: u64(at.regValue),
          old_value: u64(at.regPrevious),
          view: view_,
        },
      };
    }
    case EventType.singlestep: {
      const gva = u64(at.ssGla);
      return {
        ...base,
        type: 'singlestep',
        vmi: {
          rip: rip ?? gva,
          gva,
          gpa: (u64(at.ssGfn) << 12n) + u64(at.ssOffset),
          view: view_,
        },
      };
    }
    default:
      return undefined;
  }
}
