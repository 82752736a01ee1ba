// The fallback live backend for a QEMU started without Ringside's plugin: exec hooks as gdbstub
// breakpoints. QEMU keeps them out of guest memory, but every insert or removal flushes its
// translated code and each hit is a stop, a step over and a continue, so it is far slower than the
// plugin; it offers no memory or register traps and no views, and says so in its capabilities.
import { Observable, Subject } from 'rxjs';
import { RingsideError } from '../../errors.js';
import { lifecycleEvent, type VmiEvent } from '../../events/event.js';
import type { Domain, DomainCapabilities, HookContext, HookSpec } from '../../domain/types.js';
import { GdbRemote, registerAt, stopThread } from './gdb-remote.js';
import type { QmpChannel } from './qmp.js';
import { RamFileMemory } from './ram-file-memory.js';
import type { PhysicalMemory } from '../../memory/types.js';
import type { VcpuState } from '../../domain/vcpu.js';
import { VmControl } from './vm-control.js';
import { readVcpuStates } from './monitor-registers.js';
import { reportHandlerError, runHandlers } from '../../domain/run-handlers.js';
import { HookTable, type HookEntry } from '../../domain/hook-table.js';

type Handler = (context: HookContext) => void;

/** Byte offsets of registers in QEMU's x86-64 `g` reply. */
const G_LAYOUT: Record<string, [number, number]> = {
  rax: [0, 8], rbx: [8, 8], rcx: [16, 8], rdx: [24, 8], rsi: [32, 8], rdi: [40, 8], rbp: [48, 8], rsp: [56, 8],
  r8: [64, 8], r9: [72, 8], r10: [80, 8], r11: [88, 8], r12: [96, 8], r13: [104, 8], r14: [112, 8], r15: [120, 8],
  rip: [128, 8], rflags: [136, 4], fs_base: [164, 8], gs_base: [172, 8], k_gs_base: [180, 8],
  cr0: [188, 8], cr2: [196, 8], cr3: [204, 8], cr4: [212, 8], efer: [228, 8],
}; // prettier-ignore

export interface GdbDomainOptions {
  name: string;
  gdbSocket: string;
  /** Guest RAM: a shared RAM file, or any physical memory (the QEMU process's, say). */
  ramFile?: string;
  physical?: PhysicalMemory;
  /**
   * software: gdb Z0; hardware: gdb Z1 (debug registers under KVM; under TCG QEMU keeps both out of
   * guest memory). Default software.
   */
  breakpoints?: 'software' | 'hardware';
  /** Most breakpoints at once (x86 has 4 debug registers); a hook past it is refused. */
  maxBreakpoints?: number;
  /** Runs after the stub is detached (e.g. stopping a gdbstub Ringside started). */
  onDetached?: () => Promise<void>;
  qmp?: QmpChannel;
  onHandlerError?: (error: unknown) => void;
}

/** QMP events that end the running kernel: a reset, or a shutdown (a reboot under libvirt starts so). */
const REBOOT_EVENTS = new Set(['RESET', 'SHUTDOWN']);

export class GdbDomain implements Domain {
  readonly capabilities: DomainCapabilities & { maxBreakpoints?: number } = {
    live: true,
    memAccess: 'none',
    breakpoints: 'debugger',
    altp2m: 'none',
    registerWriteTraps: false,
    singlestep: true,
    views: 1,
    captures: false,
  };
  readonly events$: Observable<VmiEvent>;
  private readonly events = new Subject<VmiEvent>();
  private readonly hooks = new HookTable<bigint, HookEntry>();
  /** Breakpoints in the stub (may lag `hooks` until the loop applies changes). */
  private readonly planted = new Set<bigint>();
  private changesPending = false;
  private synced$: { promise: Promise<void>; resolve: () => void } | undefined;
  private running = false;
  private closing = false;
  private closedError: Error | undefined;
  private readonly control: VmControl;
  private readonly failures = new Set<(error: Error) => void>();
  private loop: Promise<void> = Promise.resolve();
  /** 0 (Z0/z0) or 1 (Z1/z1). */
  private readonly type: 0 | 1;
  private readonly maxBreakpoints: number;
  private readonly onDetached: (() => Promise<void>) | undefined;
  /** Addresses hooked before the last reboot: a hit there is in a new kernel and is not reported. */
  private readonly stale = new Set<bigint>();
  private readonly rebootListeners = new Set<(reason: string) => void>();
  private readonly stopEvents: () => void;
  readonly vcpuStates: (() => Promise<readonly VcpuState[]>) | undefined;

  private constructor(
    readonly name: string,
    readonly physical: PhysicalMemory,
    private readonly gdb: GdbRemote,
    qmp: QmpChannel | undefined,
    private readonly onHandlerError: (error: unknown) => void,
    options: GdbDomainOptions,
  ) {
    this.control = new VmControl(name, qmp);
    this.events$ = this.events.asObservable();
    this.type = options.breakpoints === 'hardware' ? 1 : 0;
    this.maxBreakpoints = options.maxBreakpoints ?? Infinity;
    this.onDetached = options.onDetached;
    if (options.maxBreakpoints !== undefined)
      this.capabilities.maxBreakpoints = options.maxBreakpoints;
    gdb.onClose((error) => this.fail(error));
    // Registers through the monitor (HMP `info registers`), without stopping the gdbstub's loop.
    this.vcpuStates = qmp ? () => readVcpuStates(qmp) : undefined;
    this.stopEvents =
      qmp?.onEvent(({ event, data }) => {
        if (!REBOOT_EVENTS.has(event)) return;
        const reason = (data as { reason?: unknown } | undefined)?.reason;
        this.rebooted(typeof reason === 'string' ? `${event} (${reason})` : event);
      }) ?? (() => undefined);
  }

  /** The kernel the hooks were planted in is gone: hits at those addresses are no longer its own. */
  private rebooted(reason: string): void {
    for (const address of this.hooks.keys()) this.stale.add(address);
    for (const address of this.planted) this.stale.add(address);
    for (const listener of [...this.rebootListeners]) listener(reason);
  }

  onReboot(listener: (reason: string) => void): () => void {
    this.rebootListeners.add(listener);
    return () => this.rebootListeners.delete(listener);
  }

  static async attach(options: GdbDomainOptions): Promise<GdbDomain> {
    if (!options.physical && options.ramFile === undefined)
      throw new RingsideError(
        'BAD_INPUT',
        `${options.name}: the gdbstub domain needs guest RAM (a RAM file or physical memory)`,
      );
    const physical = options.physical ?? new RamFileMemory(options.ramFile!);
    const gdb = await GdbRemote.connect(options.gdbSocket);
    const domain = new GdbDomain(
      options.name,
      physical,
      gdb,
      options.qmp,
      options.onHandlerError ?? reportHandlerError,
      options,
    );
    // QEMU stops the guest when a debugger connects; answer its status query, then let it run.
    await gdb.request('?');
    await gdb.request('qSupported:multiprocess+;swbreak+');
    domain.loop = domain.run();
    domain.events.next(lifecycleEvent(options.name, 'attached'));
    return domain;
  }

  hook(spec: HookSpec): Observable<HookContext> {
    return new Observable<HookContext>((subscriber) => {
      if (spec.kind !== 'exec') {
        subscriber.error(
          new RingsideError(
            'CAPABILITY',
            `${this.name}: ${spec.kind} hooks need Ringside's TCG plugin; this QEMU offers only the gdbstub (breakpoints)`,
          ),
        );
        return undefined;
      }
      if (this.closedError) {
        subscriber.error(this.closedError);
        return undefined;
      }
      if (!this.hooks.get(spec.address) && this.hooks.size >= this.maxBreakpoints) {
        subscriber.error(
          new RingsideError(
            'CAPABILITY',
            `${this.name}: all ${this.maxBreakpoints} hardware breakpoints are in use; ${spec.name ?? `0x${spec.address.toString(16)}`} gets none`,
          ),
        );
        return undefined;
      }
      this.stale.delete(spec.address);
      const handler: Handler = (context) => subscriber.next(context);
      const onFailure = (error: Error): void => subscriber.error(error);
      this.failures.add(onFailure);
      const { remove } = this.hooks.add(
        spec.address,
        handler,
        () => ({ handlers: new Set() }),
        () => undefined,
      );
      this.requestChanges();
      return () => {
        this.failures.delete(onFailure);
        remove();
        this.requestChanges();
      };
    });
  }

  synced(): Promise<void> {
    return this.synced$?.promise ?? Promise.resolve();
  }

  switchView(): Promise<void> {
    return Promise.reject(
      new RingsideError('CAPABILITY', `${this.name}: views need Ringside's TCG plugin`),
    );
  }

  pause(): Promise<void> {
    return this.control.pause();
  }

  resume(): Promise<void> {
    return this.control.resume();
  }

  onNewGeneration(listener: () => void): () => void {
    return this.control.onNewGeneration(listener);
  }

  async close(): Promise<void> {
    if (!this.closedError) {
      this.closing = true;
      this.hooks.clear();
      this.requestChanges();
      await this.synced().catch(() => undefined);
      await this.loop;
      // Detach (process 1 in multiprocess mode): QEMU removes what is left and lets the guest run.
      try {
        await this.gdb.request('D;1');
      } catch {
        this.gdb.send('c');
      }
      this.gdb.close();
    }
    this.stopEvents();
    if (this.onDetached) await this.onDetached().catch(() => undefined);
    this.control.close();
    this.events.next(lifecycleEvent(this.name, 'detached'));
    this.events.complete();
    this.physical.close();
  }

  /** Marks the breakpoint set dirty and stops a running guest so that the loop applies it. */
  private requestChanges(): void {
    this.changesPending = true;
    if (!this.synced$) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.synced$ = { promise, resolve };
    }
    if (this.running) this.gdb.interrupt();
  }

  private async applyChanges(): Promise<void> {
    this.changesPending = false;
    for (const address of [...this.planted]) {
      if (!this.hooks.get(address)) {
        await this.gdb.request(`z${this.type},${address.toString(16)},1`);
        this.planted.delete(address);
      }
    }
    for (const address of this.hooks.keys()) {
      if (!this.planted.has(address)) {
        await this.gdb.request(`Z${this.type},${address.toString(16)},1`);
        this.planted.add(address);
      }
    }
    const synced = this.synced$;
    this.synced$ = undefined;
    synced?.resolve();
  }

  /** The control loop: the guest is stopped at the top of each turn (attach, a hit, an interrupt). */
  private async run(): Promise<void> {
    try {
      let stop = '';
      for (;;) {
        if (this.changesPending) await this.applyChanges();
        if (this.closing && this.hooks.size === 0 && this.planted.size === 0) return;
        const thread = stopThread(stop);
        if (thread !== undefined && /^T05/.test(stop)) await this.onStop(thread);
        if (this.changesPending) await this.applyChanges();
        if (this.closing) return;
        this.running = true;
        this.gdb.send('c');
        stop = await this.gdb.next(0);
        this.running = false;
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async onStop(thread: number): Promise<void> {
    await this.gdb.request(`Hgp1.${thread.toString(16)}`);
    const reply = await this.gdb.request('g');
    const registers: Record<string, bigint> = {};
    for (const [name, [offset, size]] of Object.entries(G_LAYOUT))
      registers[name] = registerAt(reply, offset, size);
    const rip = registers.rip!;
    const hooked = this.hooks.get(rip);
    if (!hooked && !this.planted.has(rip)) return; // an interrupt that landed elsewhere
    this.control.newGeneration();
    if (this.stale.has(rip)) {
      // A breakpoint of the kernel before a reboot, hit in the new one: step over it, report nothing.
      if (this.planted.has(rip)) await this.stepOver(rip, thread);
      return;
    }
    const event: VmiEvent = {
      type: 'breakpoint',
      domain: this.name,
      vcpu: thread - 1,
      time: performance.now(),
      timestamp: new Date().toISOString(),
      registers,
      vmi: { rip, gva: rip },
    };
    const settled = runHandlers(this.hooks.handlers(rip), event, this.onHandlerError);
    this.events.next(event);
    if (settled) await settled;
    if (this.planted.has(rip)) await this.stepOver(rip, thread);
  }

  /** Steps over the breakpoint: remove it, single-step this vCPU, put it back. */
  private async stepOver(rip: bigint, thread: number): Promise<void> {
    await this.gdb.request(`z${this.type},${rip.toString(16)},1`);
    this.gdb.send(`vCont;s:p1.${thread.toString(16)}`);
    await this.gdb.next();
    await this.gdb.request(`Z${this.type},${rip.toString(16)},1`);
  }

  private fail(error: Error): void {
    if (this.closedError || this.closing) return;
    this.closedError = error;
    for (const failure of [...this.failures]) failure(error);
    this.synced$?.resolve();
    this.events.next(lifecycleEvent(this.name, 'error', error.message));
    this.events.error(error);
  }
}
