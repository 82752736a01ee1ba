// LibvmiDomain in Xen mode against a recording fake of libvmi.so: hooks become LibVMI events and
// frame traps, LibVMI's callbacks (called through the C function pointer) become VmiEvents, and
// the listener keeps other calls away while vmi_events_listen runs.
import { firstValueFrom, take, toArray } from 'rxjs';
import { jest } from '@jest/globals';
import koffi from 'koffi';
import type { HookContext } from '../../domain/types.js';
import { EventResponse, EventType, MemAccess, Register, VmiEventStruct } from './layouts.js';
import { LibvmiDomain, libvmiCapabilities } from './libvmi-domain.js';
import { fakeLibvmi } from './test-support/fake-libvmi.js';

const openXen = () => {
  const library = fakeLibvmi();
  const domain = LibvmiDomain.open({
    mode: 'xen',
    domain: 'win-guest',
    events: true,
    library,
    listenTimeoutMs: 1,
    onHandlerError: (error) => {
      throw error;
    },
  });
  return { library, domain };
};

const typeOf = (pointer: bigint) => koffi.decode(pointer, VmiEventStruct).type as number;

describe('libvmiCapabilities', () => {
  it('Xen on x86: EPT traps, hidden breakpoints, altp2m views', () => {
    expect(libvmiCapabilities('xen', true, 'x64')).toMatchObject({
      memAccess: 'ept',
      breakpoints: 'hidden',
      altp2m: 'hardware',
    });
  });

  it('Xen on ARM: reads only, so hook-needing detectors are refused instead of stalling the guest', () => {
    expect(libvmiCapabilities('xen', true, 'arm64')).toMatchObject({
      live: true,
      memAccess: 'none',
      breakpoints: 'none',
      altp2m: 'none',
      registerWriteTraps: false,
    });
  });
});

describe('LibvmiDomain on Xen (fake libvmi)', () => {
  it('declares EPT traps, hardware altp2m and hidden breakpoints', async () => {
    const { domain } = openXen();
    expect(domain.capabilities).toMatchObject({
      live: true,
      memAccess: 'ept',
      altp2m: 'hardware',
      breakpoints: 'hidden',
      registerWriteTraps: true,
    });
    await domain.close();
  });

  it('turns a memory hook into a frame trap and delivers the trap as a mem_access event', async () => {
    const { library, domain } = openXen();
    const seen: HookContext[] = [];
    const subscription = domain
      .hook({ kind: 'memory', frame: 0x1234n, access: { w: true }, view: 1 })
      .subscribe((context) => seen.push(context));
    await domain.synced();
    expect(library.memEvents).toEqual([{ gfn: 0x1234n, access: MemAccess.w, view: 1 }]);
    const [generic] = [...library.registered];
    expect(typeOf(generic!)).toBe(EventType.memory);

    // Give the listener's first async listen a moment to start, then fire as LibVMI would.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const response = library.fire(generic!, {
      vcpu_id: 1,
      slat_id: 1,
      u: { mem_event: { gfn: 0x1234n, out_access: MemAccess.w, offset: 0x18n } },
    });
    expect(response).toBe(EventResponse.emulate);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toMatchObject({
      type: 'mem_access',
      domain: 'win-guest',
      vcpu: 1,
      vmi: { gpa: 0x1234018n, access: 'w', view: 1 },
    });
    // A read of the same frame is not what the hook asked for.
    library.fire(generic!, { u: { mem_event: { gfn: 0x1234n, out_access: MemAccess.r } } });
    expect(seen).toHaveLength(1);

    subscription.unsubscribe();
    await domain.synced();
    expect(library.memEvents.at(-1)).toEqual({ gfn: 0x1234n, access: MemAccess.n, view: 1 });
    await domain.close();
    expect(library.registered.size).toBe(0);
    expect(library.calls).toContain('vmi_events_listen.async');
  });

  it('switches a vCPU view from its handler through the event response', async () => {
    const { library, domain } = openXen();
    domain
      .hook({ kind: 'memory', frame: 7n, access: { x: true } })
      .subscribe((context) => void domain.switchView(context.event.vcpu!, 3));
    await domain.synced();
    const [generic] = [...library.registered];
    const response = library.fire(generic!, {
      vcpu_id: 2,
      u: { mem_event: { gfn: 7n, out_access: MemAccess.x } },
    });
    expect(response).toBe(EventResponse.emulate | EventResponse.slatId);
    expect(koffi.decode(generic!, VmiEventStruct).slat_id).toBe(3);
    // Outside a handler LibVMI could only switch every vCPU: refused, not faked.
    await expect(domain.switchView(2, 3)).rejects.toThrow(/only from a handler/);
    await domain.close();
  });

  it('runs exec hooks as execute traps on the frame, hidden from the guest', async () => {
    const { library, domain } = openXen();
    const hits: HookContext[] = [];
    domain
      .hook({ kind: 'exec', address: 0xffffffff81012340n })
      .subscribe((context) => hits.push(context));
    await domain.synced();
    // The fake translates by keeping the low 20 bits: frame 0x12.
    expect(library.memEvents).toEqual([{ gfn: 0x12n, access: MemAccess.x, view: 0 }]);
    const [generic] = [...library.registered];
    const fire = (gla: bigint) =>
      library.fire(generic!, {
        u: { mem_event: { gfn: 0x12n, out_access: MemAccess.x, gla_valid: 1, gla } },
      });
    expect(fire(0xffffffff81012344n)).toBe(EventResponse.emulate);
    expect(hits).toHaveLength(0);
    fire(0xffffffff81012340n);
    expect(hits.map((hit) => hit.event.type)).toEqual(['breakpoint']);
    expect(hits[0]!.event.vmi!.gva).toBe(0xffffffff81012340n);
    expect(library.calls).not.toContain('vmi_write_pa');
    await domain.close();
  });

  it('registers one register event per register and names the MSR written', async () => {
    const { library, domain } = openXen();
    const events = firstValueFrom(domain.hook({ kind: 'register', register: 'msr' }).pipe(take(1)));
    const all = firstValueFrom(domain.events$.pipe(take(2), toArray()));
    await domain.synced();
    const [pointer] = [...library.registered];
    expect(Number(koffi.decode(pointer!, VmiEventStruct).u.reg_event.reg)).toBe(Register.msrAll);
    library.fire(pointer!, {
      vcpu_id: 0,
      u: { reg_event: { reg: BigInt(Register.msrAll), msr: 0xc0000082, value: 0x1234n } },
    });
    expect((await events).event.vmi).toMatchObject({
      register: 'msr:0xc0000082',
      new_value: 0x1234n,
    });
    // The lifecycle event of attaching came before; the raw event reaches events$ too.
    await domain.close();
    expect((await all).map((event) => event.type)).toEqual(['register_write', 'lifecycle']);
  });

  it('delivers events raised on the listener thread; handlers may call LibVMI meanwhile', async () => {
    const { library, domain } = openXen();
    const hits: { context: HookContext; memory: bigint }[] = [];
    domain
      .hook({ kind: 'register', register: 'cr4' })
      .subscribe((context) => hits.push({ context, memory: domain.instance.memorySize() }));
    await domain.synced();
    const [pointer] = [...library.registered];
    library.queue(pointer!, {
      vcpu_id: 1,
      u: { reg_event: { reg: BigInt(Register.cr4), value: 0x3606e0n, previous: 0x3706e0n } },
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    for (let waited = 0; hits.length === 0 && waited < 2000; waited++)
      await new Promise((resolve) => setTimeout(resolve, 1));
    clearInterval(timer);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.context.event).toMatchObject({
      type: 'register_write',
      vcpu: 1,
      vmi: { register: 'cr4', new_value: 0x3606e0n, old_value: 0x3706e0n },
    });
    // Inside the callback the instance answered; outside, it refuses while a listen runs.
    expect(hits[0]!.memory).toBe(65536n);
    expect(ticks).toBeGreaterThan(0);
    await domain.close();
  });

  it('keeps the VM paused while a handler holds, and resumes when its work settles', async () => {
    const { library, domain } = openXen();
    let release!: () => void;
    domain
      .hook({ kind: 'register', register: 'cr3' })
      .subscribe((context) => context.hold(new Promise<void>((resolve) => (release = resolve))));
    await domain.synced();
    const [pointer] = [...library.registered];
    library.fire(pointer!, { u: { reg_event: { reg: BigInt(Register.cr3), value: 1n } } });
    expect(library.calls.filter((call) => call === 'vmi_pause_vm')).toHaveLength(1);
    expect(library.calls).not.toContain('vmi_resume_vm');
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(library.calls).toContain('vmi_resume_vm');
    await domain.close();
  });

  it('refuses direct calls while a listen is in flight, and queues them through pause()', async () => {
    const { library, domain } = openXen();
    domain.hook({ kind: 'register', register: 'cr0' }).subscribe();
    await domain.synced();
    expect(() => domain.instance.memorySize()).toThrow(/refused: vmi_events_listen is running/);
    await domain.pause();
    expect(library.calls).toContain('vmi_pause_vm');
    await domain.close();
  });
});

describe('LibvmiDomain frees and resumes on every path (fake libvmi)', () => {
  afterEach(() => jest.restoreAllMocks());

  /** Records koffi.free calls (still freeing), with how many library calls came before each. */
  const spyFree = (library: ReturnType<typeof fakeLibvmi>) => {
    const frees: { pointer: bigint; after: string[] }[] = [];
    const free = koffi.free.bind(koffi);
    jest.spyOn(koffi, 'free').mockImplementation((pointer: unknown) => {
      frees.push({ pointer: pointer as bigint, after: [...library.calls] });
      free(pointer as never);
    });
    return frees;
  };

  it('keeps a C event LibVMI failed to clear until vmi_destroy, and still destroys', async () => {
    const { library, domain } = openXen();
    const frees = spyFree(library);
    domain.hook({ kind: 'register', register: 'cr0' }).subscribe();
    await domain.synced();
    const [pointer] = [...library.registered];
    library.clearStatus = 1;
    await expect(domain.close()).rejects.toThrow(/could not clear an event/);
    expect(library.calls).toContain('vmi_destroy');
    const freed = frees.find((free) => free.pointer === pointer);
    expect(freed).toBeDefined();
    // Freed only once LibVMI, which still had it registered, was gone.
    expect(freed!.after).toContain('vmi_destroy');
  });

  it('frees a cleared event at once when LibVMI let go of it', async () => {
    const { library, domain } = openXen();
    const frees = spyFree(library);
    const subscription = domain.hook({ kind: 'register', register: 'cr4' }).subscribe();
    await domain.synced();
    const [pointer] = [...library.registered];
    subscription.unsubscribe();
    await domain.synced();
    const freed = frees.find((free) => free.pointer === pointer);
    expect(freed!.after).toContain('vmi_clear_event');
    expect(freed!.after).not.toContain('vmi_destroy');
    await domain.close();
  });

  it('resumes a VM a handler still holds paused when the domain closes, once', async () => {
    const errors: unknown[] = [];
    const library = fakeLibvmi();
    const domain = LibvmiDomain.open({
      mode: 'xen',
      domain: 'held',
      events: true,
      library,
      listenTimeoutMs: 1,
      onHandlerError: (error) => errors.push(error),
    });
    let release!: () => void;
    domain
      .hook({ kind: 'register', register: 'cr3' })
      .subscribe((context) => context.hold(new Promise<void>((resolve) => (release = resolve))));
    await domain.synced();
    const [pointer] = [...library.registered];
    library.fire(pointer!, { u: { reg_event: { reg: BigInt(Register.cr3), value: 1n } } });
    await domain.close();
    const resumed = library.calls.indexOf('vmi_resume_vm');
    expect(resumed).toBeGreaterThan(library.calls.indexOf('vmi_pause_vm'));
    expect(resumed).toBeLessThan(library.calls.indexOf('vmi_destroy'));
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(library.calls.filter((call) => call === 'vmi_resume_vm')).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('destroys the instance when the listener failed, reporting the failure as a lifecycle event', async () => {
    const { library, domain } = openXen();
    const lifecycle = firstValueFrom(domain.events$.pipe(toArray()));
    library.listenError = new Error('listen crashed');
    domain.hook({ kind: 'register', register: 'cr0' }).subscribe();
    await domain.synced();
    for (let waited = 0; library.listenError !== undefined && waited < 200; waited++)
      await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await domain.close();
    expect(library.calls).toContain('vmi_destroy');
    expect(library.registered.size).toBe(0);
    const events = await lifecycle;
    expect(events.map((event) => event.lifecycle?.reason ?? event.type)).toEqual(
      expect.arrayContaining([expect.stringMatching(/vmi_events_listen failed/)]),
    );
  });
});
