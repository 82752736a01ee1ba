// LibVMI events as C structures (encoded by koffi into C memory, in the layouts checked against gcc)
// translated into Ringside's VmiEvent.
import koffi from 'koffi';
import { copyEvent } from './event-listener.js';
import { VMI_EVENT_SIZE, decodeRegisters, translateEvent } from './event-translation.js';
import { EventType, INT3, MemAccess, Register, VmiEventStruct, X86Registers } from './layouts.js';

function encodeEvent(fields: Record<string, unknown>): Uint8Array {
  const bytes = Buffer.alloc(VMI_EVENT_SIZE);
  koffi.encode(bytes, VmiEventStruct, { version: 9, ...fields });
  return bytes;
}

function encodeRegisters(values: Record<string, bigint>): Uint8Array {
  const bytes = Buffer.alloc(koffi.sizeof(X86Registers));
  koffi.encode(bytes, X86Registers, values);
  return bytes;
}

const registers = encodeRegisters({
  rip: 0xffffffff81234567n,
  rsp: 0xffffc90000123f00n,
  cr3: 0x6e10000n,
  rdi: 7n,
  gs_base: 0xffff888007a00000n,
});

describe('translateEvent', () => {
  it('makes a mem_access event from a memory event: gpa from gfn + offset, the access that fired', () => {
    const event = translateEvent(
      {
        event: encodeEvent({
          type: EventType.memory,
          slat_id: 2,
          vcpu_id: 1,
          u: {
            mem_event: {
              gfn: 0x1234n,
              out_access: MemAccess.r | MemAccess.w,
              gla_valid: 1,
              gla: 0xffff888001234010n,
              offset: 0x10n,
            },
          },
        }),
        registers,
      },
      'xen-guest',
      42,
    );
    expect(event).toMatchObject({
      type: 'mem_access',
      domain: 'xen-guest',
      vcpu: 1,
      time: 42,
      vmi: {
        rip: 0xffffffff81234567n,
        gpa: 0x1234010n,
        gva: 0xffff888001234010n,
        access: 'w',
        view: 2,
      },
    });
    expect(event!.registers).toMatchObject({ cr3: 0x6e10000n, rdi: 7n, rsp: 0xffffc90000123f00n });
  });

  it('leaves gva out when LibVMI says the linear address is not valid', () => {
    const event = translateEvent(
      {
        event: encodeEvent({
          type: EventType.memory,
          u: { mem_event: { gfn: 1n, out_access: MemAccess.x, gla_valid: 0, gla: 5n } },
        }),
      },
      'g',
      0,
    );
    expect(event!.vmi).toEqual({ gpa: 0x1000n, access: 'x', view: 0 });
  });

  it('makes a breakpoint from an INT3 interrupt event, and ignores other interrupts', () => {
    const int3 = translateEvent(
      {
        event: encodeEvent({
          type: EventType.interrupt,
          vcpu_id: 3,
          u: {
            interrupt_event: {
              intr: INT3,
              u: { int3: { gla: 0xffffffff81000100n, gfn: 0x1000n, offset: 0x100n } },
            },
          },
        }),
        registers,
      },
      'g',
      0,
    );
    expect(int3).toMatchObject({
      type: 'breakpoint',
      vcpu: 3,
      vmi: { gva: 0xffffffff81000100n, gpa: 0x1000100n, rip: 0xffffffff81234567n },
    });
    const other = translateEvent(
      { event: encodeEvent({ type: EventType.interrupt, u: { interrupt_event: { intr: 2 } } }) },
      'g',
      0,
    );
    expect(other).toBeUndefined();
  });

  it('names the register of a register event: cr3, or the MSR number', () => {
    const cr3 = translateEvent(
      {
        event: encodeEvent({
          type: EventType.register,
          u: { reg_event: { reg: BigInt(Register.cr3), value: 0x2000n, previous: 0x1000n } },
        }),
      },
      'g',
      0,
    );
    expect(cr3!.vmi).toMatchObject({ register: 'cr3', new_value: 0x2000n, old_value: 0x1000n });
    const msr = translateEvent(
      {
        event: encodeEvent({
          type: EventType.register,
          u: { reg_event: { reg: BigInt(Register.msrAll), msr: 0xc0000082, value: 0xdeadn } },
        }),
      },
      'g',
      0,
    );
    expect(msr!.vmi).toMatchObject({ register: 'msr:0xc0000082', new_value: 0xdeadn });
  });

  it('makes a singlestep event, and nothing from event types Ringside does not hook', () => {
    const step = translateEvent(
      {
        event: encodeEvent({
          type: EventType.singlestep,
          u: { ss_event: { gla: 0xffffffff81000010n, gfn: 0x1000n, offset: 0x10n } },
        }),
      },
      'g',
      0,
    );
    expect(step).toMatchObject({
      type: 'singlestep',
      vmi: { gva: 0xffffffff81000010n, gpa: 0x1000010n, rip: 0xffffffff81000010n },
    });
    expect(translateEvent({ event: encodeEvent({ type: 6 }) }, 'g', 0)).toBeUndefined();
  });

  it('rejects a buffer shorter than vmi_event_t', () => {
    expect(() => translateEvent({ event: new Uint8Array(40) }, 'g', 0)).toThrow(/96 bytes/);
    expect(() => decodeRegisters(new Uint8Array(100))).toThrow(/568 bytes/);
  });
});

describe('copyEvent', () => {
  it('copies a C event and the registers it points at out of C memory', () => {
    const regs = koffi.alloc(X86Registers, 1) as bigint;
    const event = koffi.alloc(VmiEventStruct, 1) as bigint;
    try {
      koffi.encode(regs, X86Registers, { rip: 0x1234n, cr3: 0x5000n });
      koffi.encode(event, VmiEventStruct, {
        version: 9,
        type: EventType.memory,
        vcpu_id: 1,
        x86_regs: regs,
        u: { mem_event: { gfn: 2n, out_access: MemAccess.w } },
      });
      const copied = copyEvent(event);
      // A copy: changing C memory afterwards does not change what was delivered.
      koffi.encode(regs, X86Registers, { rip: 0n });
      expect(translateEvent(copied, 'g', 0)).toMatchObject({
        vcpu: 1,
        registers: { rip: 0x1234n, cr3: 0x5000n },
        vmi: { gpa: 0x2000n, access: 'w' },
      });
      expect(copied.pointer).toBe(event);
    } finally {
      koffi.free(event);
      koffi.free(regs);
    }
  });
});
