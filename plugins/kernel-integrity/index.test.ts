// Unit tests of the kernel-integrity detector on a fake guest: trapped writes to the syscall table,
// the IDT and the kernel text, CR0/CR4 traps, the periodic check on a virtual clock, refusals, judge.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { CR0_WP, CR4_SMAP, CR4_SMEP } from '../../introspect/os/linux/integrity.js';
import { FakeLinux, idtGate } from '../../introspect/os/linux/test-support/fake-linux.js';
import { readModule } from '../../introspect/os/linux/modules.js';
import { restorerOf } from '../../introspect/events/restorable.js';
import type { DomainResponder } from '../../introspect/domain/types.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest, hookHit, type FakeGuest } from '../test-support/fake-guest.js';
import { createKernelIntegrity } from './index.js';

const FUNCTIONS = ['sys_read', 'sys_write', 'sys_open', 'asm_common_interrupt', 'native_write_cr0'];

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText(FUNCTIONS);
  const table = linux.syscallTable([
    text.get('sys_read')!,
    text.get('sys_write')!,
    text.get('sys_open')!,
  ]);
  const idt = linux.idt(() => text.get('asm_common_interrupt')!);
  const [writer] = linux.process(666, 'insmod');
  // A rootkit module's code, outside the kernel text.
  const rootkit = linux.module('rootkit', new Uint8Array(0x40).fill(0xc3));
  return { linux, text, table, idt, task: writer!.task, rootkit };
}

const frameKey = (address: bigint) => `memory:${(address >> 12n).toString(16)}` as const;

/** A trapped write, as a backend reports it: where it landed, through which address, from where. */
function writeHit(
  guest: FakeGuest,
  task: bigint,
  gpa: bigint,
  options: { gva?: bigint; rip?: bigint; size?: number } = {},
): VmiEvent {
  const { domain, vcpu, time, timestamp, registers } = hookHit(guest, { task });
  return {
    type: 'mem_access',
    domain,
    time,
    ...(vcpu !== undefined ? { vcpu } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(registers !== undefined ? { registers } : {}),
    vmi: { gpa, gva: options.gva ?? gpa, rip: options.rip ?? 0x1234n, size: options.size ?? 8 },
  };
}

function registerHit(
  guest: FakeGuest,
  task: bigint,
  old: bigint,
  value: bigint,
  vcpu = 0,
): VmiEvent {
  const { domain, time, registers } = hookHit(guest, { task, cpu: vcpu });
  return {
    type: 'register_write',
    domain,
    time,
    vcpu,
    ...(registers !== undefined ? { registers } : {}),
    vmi: { old_value: old, new_value: value },
  };
}

/** Module code a hooked entry points at (outside _stext.._etext). */
function moduleCode(linux: FakeLinux, rootkit: bigint): bigint {
  return readModule(linux.kernel(), rootkit).base;
}

describe('kernel-integrity, live', () => {
  it('with EPT traps, reports a write to a syscall entry with the old and new pointers and where they lead', async () => {
    const { linux, table, task, rootkit } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events, errors } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const planted = guest.domain.planted();
    expect(planted.filter((spec) => spec.kind === 'memory')).toHaveLength(3);
    expect(planted.filter((spec) => spec.kind === 'register').map((spec) => spec.name)).toEqual([
      'kernel-integrity:cr0',
      'kernel-integrity:cr4',
    ]);
    const target = moduleCode(linux, rootkit);
    const old = linux.get64(table + 8n);
    linux.set64(table + 8n, target);
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table + 8n));
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'kernel.write',
        process: expect.objectContaining({ pid: 666, name: 'insmod' }),
        vmi: expect.objectContaining({
          gva: table + 8n,
          symbol: 'sys_call_table+0x8',
          hook: 'syscall_table',
          old_value: old,
          new_value: target,
        }),
        details: expect.objectContaining({
          target_location: expect.objectContaining({ module: 'rootkit' }),
        }),
      }),
    ]);
    expect(events[0]!.vmi!.disassembly).toMatch(/ret/);
  });

  it('can put a written syscall entry or IDT gate back from its shadow, and keeps the shadow in step', async () => {
    const { linux, table, idt, task, rootkit } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const writes: [bigint, number][] = [];
    const responder: DomainResponder = {
      writePhysical: (address, bytes) => {
        writes.push([address, bytes.length]);
        linux.bytes.set(bytes, Number(address)); // identity-mapped fake: physical = virtual
      },
      dumpMemory: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
    Object.assign(guest.domain, { responder });
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const target = moduleCode(linux, rootkit);
    const old = linux.get64(table + 8n);
    linux.set64(table + 8n, target);
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table + 8n));
    const details = restorerOf(events[0]!)!.restore();
    expect(linux.get64(table + 8n)).toBe(old);
    expect(writes).toEqual([[table + 8n, 8]]);
    expect(details).toMatchObject({ address: table + 8n, vcpu_held: true });
    // The next write's "before" is the restored pointer, not the hook.
    linux.set64(table + 8n, target);
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table + 8n));
    expect(events[1]!.vmi).toMatchObject({ old_value: old, new_value: target });

    const gate = linux.bytes.slice(Number(idt) + 0x80 * 16, Number(idt) + 0x81 * 16);
    linux.bytes.set(idtGate(target), Number(idt) + 0x80 * 16);
    await guest.domain.fire(frameKey(idt), writeHit(guest, task, idt + 0x808n, { size: 8 }));
    restorerOf(events[2]!)!.restore();
    expect(linux.bytes.slice(Number(idt) + 0x80 * 16, Number(idt) + 0x81 * 16)).toEqual(gate);
  });

  it('marks nothing restorable where the backend cannot write guest memory', async () => {
    const { linux, table, task, rootkit } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    linux.set64(table + 8n, moduleCode(linux, rootkit));
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table + 8n));
    expect(events).toHaveLength(1);
    expect(restorerOf(events[0]!)).toBeUndefined();
  });

  it('reports an IDT gate re-pointed, with the decoded handlers', async () => {
    const { linux, text, idt, task, rootkit } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const target = moduleCode(linux, rootkit);
    linux.bytes.set(idtGate(target), Number(idt) + 0x80 * 16);
    await guest.domain.fire(frameKey(idt), writeHit(guest, task, idt + 0x800n, { size: 16 }));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'kernel.write',
        vmi: expect.objectContaining({
          symbol: 'idt_table+0x800',
          hook: 'idt',
          old_value: text.get('asm_common_interrupt'),
          new_value: target,
        }),
      }),
    ]);
  });

  it('reports patched kernel text with the branch it now takes, and tells text_poke apart', async () => {
    const { linux, text, task } = world();
    const pokingAddress = 0x7f00_0000_0000n;
    const poking = linux.alloc(8);
    linux.set64(poking, pokingAddress);
    linux.symbols.set('poking_addr', poking);
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const open = text.get('sys_open')!;
    const write = text.get('sys_write')!;
    // jmp rel32 to sys_write: e9 + (target - (open + 5))
    const jump = new Uint8Array(5);
    jump[0] = 0xe9;
    new DataView(jump.buffer).setInt32(1, Number(write - (open + 5n)), true);
    linux.bytes.set(jump, Number(open));
    await guest.domain.fire(frameKey(open), writeHit(guest, task, open, { size: 5 }));
    await guest.domain.fire(
      frameKey(open),
      writeHit(guest, task, open, { size: 5, gva: pokingAddress + (open & 0xfffn) }),
    );
    expect(events.map((event) => [event.vmi?.symbol, event.vmi?.hook])).toEqual([
      ['sys_open+0x0', 'kernel_text'],
      ['sys_open+0x0', 'text_poke'],
    ]);
    expect(events[0]!.details).toEqual(
      expect.objectContaining({
        old_data: '9090909090',
        jump_target: { address: write, symbol: 'sys_write+0x0', where: 'kernel-text' },
      }),
    );
    expect(events[1]!.details).toEqual(
      expect.objectContaining({ legitimate: 'text_poke through the poking mm' }),
    );
  });

  it('ignores a trapped write that falls outside the protected bytes or carries no address', async () => {
    const { linux, table, task } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table + 0x800n));
    const noAddress = writeHit(guest, task, table);
    delete noAddress.vmi;
    await guest.domain.fire(frameKey(table), noAddress);
    expect(events).toEqual([]);
  });

  it('reports a write whose writer cannot be read as an unreadable kernel.write and goes on', async () => {
    const { linux, table, task } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    const { events, errors } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    await guest.domain.fire(frameKey(table), writeHit(guest, 0xffff_dead_0000_0000n, table));
    await guest.domain.fire(frameKey(table), writeHit(guest, task, table));
    expect(errors).toEqual([]);
    expect(events.map((event) => [event.type, event.details?.error])).toEqual([
      ['kernel.write', expect.stringMatching(/^could not read the write: /)],
      ['kernel.write', undefined],
    ]);
  });

  it('with the TCG plugin, arms the write traps only while a vCPU runs with CR0.WP clear, and reports WP turned off', async () => {
    const { linux, task } = world();
    const guest = fakeGuest(linux); // memAccess: tcg-plugin
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const memoryHooks = () => guest.domain.planted().filter((spec) => spec.kind === 'memory');
    expect(memoryHooks()).toEqual([]);
    const on = 0x8005_0033n;
    const off = on & ~CR0_WP;
    const hit = await guest.domain.fire('register:cr0', registerHit(guest, task, on, off, 1));
    expect(hit.held).toBe(true);
    expect(memoryHooks()).toHaveLength(3);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'integrity.violation',
        vcpu: 1,
        vmi: expect.objectContaining({ register: 'cr0', hook: 'cr0.wp', old_value: on }),
        details: expect.objectContaining({
          check: 'cr0.wp',
          message: expect.stringMatching(/^CR0.WP turned off.*\(vCPU 1, from 0x/),
        }),
      }),
    ]);
    await guest.domain.fire('register:cr0', registerHit(guest, task, off, on, 1));
    expect(memoryHooks()).toEqual([]);
    expect(events).toHaveLength(1);
  });

  it('reports CR4.SMEP and SMAP turned off, and not a CR4 write that keeps them', async () => {
    const { linux, task } = world();
    const guest = fakeGuest(linux);
    const { events } = collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    );
    const on = 0x6f0n | CR4_SMEP | CR4_SMAP;
    await guest.domain.fire('register:cr4', registerHit(guest, task, on, on | 0x80n));
    await guest.domain.fire('register:cr4', registerHit(guest, task, on, 0x6f0n));
    expect(events.map((event) => event.details?.check)).toEqual(['cr4.smep', 'cr4.smap']);
  });

  it('checks the tables periodically against the baseline, reporting a change once while it stands', async () => {
    const { linux, table, rootkit } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    // A virtual clock advanced by hand: each tick lets one interval fire and its check settle.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const { events } = collect(createKernelIntegrity({ intervalMs: 10, scheduler }).start(guest));
    const tick = async (): Promise<void> => {
      scheduler.maxFrames += 10;
      scheduler.flush();
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    await tick();
    expect(events).toEqual([]);
    const original = linux.get64(table);
    linux.set64(table, moduleCode(linux, rootkit));
    await tick();
    await tick();
    expect(events).toEqual([
      expect.objectContaining({
        type: 'integrity.violation',
        vmi: expect.objectContaining({ symbol: 'sys_call_table+0x0', old_value: original }),
        details: expect.objectContaining({ check: 'syscall_table' }),
      }),
    ]);
    // A suspicious read is confirmed with the guest paused.
    expect(guest.domain.pauses).toBeGreaterThanOrEqual(1);
    expect(guest.domain.resumes).toBe(guest.domain.pauses);
    linux.set64(table, original);
    await tick();
    linux.set64(table, moduleCode(linux, rootkit));
    await tick();
    expect(events).toHaveLength(2);
  });

  it('removes every hook on unsubscribe', () => {
    const { linux } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { memAccess: 'ept' } });
    collect(
      createKernelIntegrity({ scheduler: new VirtualTimeScheduler() }).start(guest),
    ).subscription.unsubscribe();
    expect(guest.domain.planted()).toEqual([]);
    expect(guest.domain.removedLog).toHaveLength(5);
  });

  it('is refused without the syscall table, without memory traps or without register traps', () => {
    const linux = new FakeLinux();
    linux.kernelText(FUNCTIONS);
    const guest = fakeGuest(linux, X86_64, {
      capabilities: { memAccess: 'none', registerWriteTraps: false },
    });
    expect(missingRequirements(createKernelIntegrity(), guest.kernel, guest.domain)).toEqual([
      'kernel symbol sys_call_table is missing',
      'capability memAccess must be tcg-plugin or ept, but fake-guest has none',
      'capability registerWriteTraps must be true, but fake-guest has false',
    ]);
  });
});

describe('kernel-integrity on a snapshot', () => {
  it('reports entries pointing outside the kernel text, and control registers, and nothing on a clean kernel', async () => {
    const { linux, table, idt, rootkit } = world();
    const plugin = createKernelIntegrity();
    const kernel = linux.kernel();
    const context = { kernel, domain: 'dump', timestamp: '2026-12-03T10:00:00.000Z' };
    expect(await plugin.judge!({ ...context, cpus: [{ vcpu: 0, cr0: 0x8005_0033n }] })).toEqual([]);
    const target = moduleCode(linux, rootkit);
    linux.set64(table + 16n, target);
    linux.bytes.set(idtGate(target), Number(idt) + 3 * 16);
    const events = await plugin.judge!({
      ...context,
      kernel: linux.kernel(),
      cpus: [{ vcpu: 1, cr0: 0x8005_0033n & ~CR0_WP }],
    });
    expect(events.map((event) => [event.type, event.vmi?.symbol, event.details?.check])).toEqual([
      ['integrity.violation', 'sys_call_table+0x10', 'syscall_table'],
      ['integrity.violation', 'idt_table+0x30', 'idt'],
      ['integrity.violation', 'cr0', 'cr0.wp'],
    ]);
    expect(events[0]).toEqual(
      expect.objectContaining({
        domain: 'dump',
        timestamp: '2026-12-03T10:00:00.000Z',
        vmi: expect.objectContaining({
          new_value: target,
          disassembly: expect.stringMatching(/ret/),
        }),
        details: expect.objectContaining({
          target_location: expect.objectContaining({ module: 'rootkit' }),
        }),
      }),
    );
  });

  it('judges an AArch64 kernel whose VBAR_EL1 leaves the vector tables', async () => {
    const linux = new FakeLinux();
    const text = linux.kernelText(['vectors', ...FUNCTIONS]);
    linux.syscallTable([text.get('sys_read')!]);
    const events = await createKernelIntegrity().judge!({
      kernel: linux.kernel(AARCH64),
      domain: 'arm',
      timestamp: '2026-12-03T10:00:00.000Z',
      cpus: [
        { vcpu: 0, vbar: text.get('vectors')! },
        { vcpu: 1, vbar: text.get('sys_read')! },
      ],
    });
    expect(events.map((event) => [event.vcpu, event.details?.check])).toEqual([[1, 'vbar_el1']]);
  });
});
