// A LibVMI guest as a Domain: Xen (vm_event, EPT, altp2m), KVMi, or a memory file. Hooks become
// LibVMI events; capabilities say what each mode really gives.
import koffi from 'koffi';
import { Observable, Subject } from 'rxjs';
import { RingsideError } from '../../errors.js';
import { lifecycleEvent, type VmiEvent } from '../../events/event.js';
import type {
  ControlRegister,
  Domain,
  DomainCapabilities,
  HookContext,
  HookSpec,
} from '../../domain/types.js';
import { HookTable, type HookEntry, type HookHandler } from '../../domain/hook-table.js';
import { reportHandlerError, runHandlers } from '../../domain/run-handlers.js';
import { EventListener, type DeliveredEvent } from './event-listener.js';
import { translateEvent } from './event-translation.js';
import {
  EventResponse,
  EventType,
  MemAccess,
  RegAccess,
  Register,
  VMI_EVENTS_VERSION,
  VmiEventStruct,
  type VmiModeName,
} from './layouts.js';
import { LibvmiInstance, type LibvmiOpenOptions } from './libvmi-instance.js';
import { LibvmiPhysicalMemory } from './libvmi-memory.js';

/** Xen allows up to ten altp2m views per domain (MAX_ALTP2M), view 0 being the host p2m. */
const XEN_ALTP2M_VIEWS = 10;
const slatId = koffi.offsetof(VmiEventStruct, 'slat_id');

/** What each LibVMI mode gives, honestly (see docs/xen.md). */
export function libvmiCapabilities(
  mode: VmiModeName,
  events: boolean,
  /** The host's architecture: Xen on ARM (a dom0 on arm64) gets none of the hooks below. */
  arch: string = process.arch,
): DomainCapabilities {
  // Xen on ARM ignores the EMULATE answer this domain gives a memory event (the vCPU retries the
  // store for ever: the ARM64 lab saw 122 events in 10 s and a stalled guest), has no single-step
  // monitor for hidden execute hooks, no altp2m and no CR traps: reads only, until a lift-and-re-arm
  // answer exists (docs/xen.md). Declared, so detectors needing hooks are refused, not stalled.
  if (mode === 'file' || !events || (mode === 'xen' && arch === 'arm64'))
    return {
      live: mode !== 'file',
      memAccess: 'none',
      breakpoints: 'none',
      altp2m: 'none',
      registerWriteTraps: false,
      singlestep: false,
      views: 1,
      captures: false,
    };
  if (mode === 'xen')
    return {
      live: true,
      memAccess: 'ept',
      // Execute traps on the frame in the EPT, the instruction emulated: guest memory untouched.
      breakpoints: 'hidden',
      altp2m: 'hardware',
      registerWriteTraps: true,
      // LibVMI can single-step (vmi_step_event), but the Domain has no hook for it yet.
      singlestep: false,
      views: XEN_ALTP2M_VIEWS,
      captures: false,
    };
  // KVMi: EPT access restrictions and CR/MSR traps, but no SLAT views and no emulate-through
  // response in LibVMI's KVM driver, so no hidden execution hooks.
  return {
    live: true,
    memAccess: 'ept',
    breakpoints: 'none',
    altp2m: 'none',
    registerWriteTraps: true,
    singlestep: false,
    views: 1,
    captures: false,
  };
}

export interface LibvmiDomainOptions extends LibvmiOpenOptions {
  /** The domain's name in events (default: `domain`). */
  name?: string;
  onHandlerError?: (error: unknown) => void;
  /** How long one vmi_events_listen call waits on the worker thread (ms, default 100). */
  listenTimeoutMs?: number;
}

interface MemoryHook extends HookEntry {
  view: number;
  frame: bigint;
  access: number;
}

interface ExecHook extends HookEntry {
  address: bigint;
  /** Known once the address was translated (the change is queued). */
  frame?: bigint;
}

interface CEvent extends HookEntry {
  /** Set once the event is registered (the change is queued). */
  pointer?: bigint;
}

export class LibvmiDomain implements Domain {
  readonly capabilities: DomainCapabilities;
  readonly events$: Observable<VmiEvent>;
  readonly physical: LibvmiPhysicalMemory;
  private readonly events = new Subject<VmiEvent>();
  // Keyed by view, frame and access; by hooked address; by register (the shared bookkeeping).
  private readonly memoryHooks = new HookTable<string, MemoryHook>();
  private readonly execHooks = new HookTable<bigint, ExecHook>();
  private readonly registerEvents = new HookTable<ControlRegister, CEvent>();
  private genericMemoryEvent: bigint | undefined;
  private listener: EventListener | undefined;
  private readonly generationListeners = new Set<() => void>();
  private pendingView: { vcpu: number; view: number } | undefined;
  private currentVcpu: number | undefined;
  private closed = false;
  /** Handlers holding the VM paused (each paused it once). */
  private holds = 0;
  /** C events LibVMI may still point at: freed after vmi_destroy. */
  private readonly retired: bigint[] = [];
  /** C-side hook changes, in order; each waits for a pause between two listens. */
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    readonly instance: LibvmiInstance,
    private readonly onHandlerError: (error: unknown) => void,
    private readonly listenTimeoutMs: number,
  ) {
    this.capabilities = libvmiCapabilities(instance.mode, instance.eventsEnabled);
    this.physical = new LibvmiPhysicalMemory(instance);
    this.events$ = this.events.asObservable();
  }

  static open(options: LibvmiDomainOptions): LibvmiDomain {
    const instance = LibvmiInstance.open(options);
    const domain = new LibvmiDomain(
      options.name ?? options.domain,
      instance,
      options.onHandlerError ?? reportHandlerError,
      options.listenTimeoutMs ?? 100,
    );
    domain.events.next(lifecycleEvent(domain.name, 'attached'));
    return domain;
  }

  hook(spec: HookSpec): Observable<HookContext> {
    return new Observable<HookContext>((subscriber) => {
      if (this.closed) {
        subscriber.error(new RingsideError('BACKEND', `${this.name}: the domain is closed`));
        return undefined;
      }
      const handler: HookHandler = (context) => subscriber.next(context);
      let planted: { remove: () => void; applied: Promise<void> };
      try {
        planted = this.plant(spec, handler);
      } catch (error) {
        subscriber.error(error);
        return undefined;
      }
      planted.applied.catch((error: unknown) => subscriber.error(error));
      return () => planted.remove();
    });
  }

  /** Resolves once every hook change so far is set in LibVMI (between two listens). */
  synced(): Promise<void> {
    return this.pending.catch(() => undefined);
  }

  /**
   * LibVMI switches one vCPU's view only in the response to that vCPU's event; outside a hook
   * handler it can only switch every vCPU (vmi_slat_switch), which is not what was asked.
   */
  switchView(vcpu: number, view: number): Promise<void> {
    if (this.capabilities.altp2m === 'none')
      return Promise.reject(this.lacks('switching views', 'altp2m'));
    if (view < 0 || view >= this.capabilities.views)
      return Promise.reject(
        new RingsideError(
          'BAD_INPUT',
          `view ${view} does not exist (0–${this.capabilities.views - 1})`,
        ),
      );
    if (this.currentVcpu !== vcpu)
      return Promise.reject(
        new RingsideError(
          'CAPABILITY',
          `${this.name}: LibVMI switches vCPU ${vcpu}'s view only from a handler of an event of that vCPU`,
        ),
      );
    this.pendingView = { vcpu, view };
    return Promise.resolve();
  }

  pause(): Promise<void> {
    return this.whenFree(() => this.instance.pause());
  }

  resume(): Promise<void> {
    this.newGeneration();
    return this.whenFree(() => this.instance.resume());
  }

  onNewGeneration(listener: () => void): () => void {
    this.generationListeners.add(listener);
    return () => this.generationListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Every step runs whatever failed before it: the instance is always destroyed, the guest
    // always resumed from holds, and the first failure is thrown at the end.
    const failures: unknown[] = [];
    const attempt = (work: () => unknown) => {
      try {
        const result = work();
        if (result instanceof Promise)
          return result.catch((error: unknown) => failures.push(error));
      } catch (error) {
        failures.push(error);
      }
      return undefined;
    };
    await this.synced();
    await attempt(() => this.listener?.stop());
    for (const hook of this.memoryHooks.values())
      attempt(() => this.instance.setMemoryEvent(hook.frame, MemAccess.n, hook.view));
    for (const hook of this.execHooks.values())
      if (hook.frame !== undefined)
        attempt(() => this.instance.setMemoryEvent(hook.frame!, MemAccess.n, 0));
    for (const event of this.registerEvents.values())
      if (event.pointer !== undefined) attempt(() => this.freeEvent(event.pointer!));
    if (this.genericMemoryEvent !== undefined)
      attempt(() => this.freeEvent(this.genericMemoryEvent!));
    // A handler still holding the VM paused: resume it now, or the guest stays paused for good.
    for (; this.holds > 0; this.holds--) attempt(() => this.instance.resume());
    this.memoryHooks.clear();
    this.execHooks.clear();
    this.registerEvents.clear();
    attempt(() => this.instance.destroy());
    // LibVMI has let go of every event pointer only once the instance is gone.
    for (const pointer of this.retired.splice(0)) koffi.free(pointer);
    this.listener?.release();
    this.events.next(lifecycleEvent(this.name, 'detached'));
    this.events.complete();
    if (failures.length > 0) throw failures[0];
  }

  private whenFree(work: () => void): Promise<void> {
    if (this.listener?.active) return this.listener.exclusive(work);
    try {
      work();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Queues C-side work after the changes before it, run when no listen is in flight. */
  private schedule(work: () => void): Promise<void> {
    // The listener starts after the work: a listen in flight would refuse the rest of it.
    const next = this.pending
      .catch(() => undefined)
      .then(() => this.whenFree(work))
      .finally(() => {
        if (!this.closed && this.listener) this.listener.start();
      });
    this.pending = next;
    return next;
  }

  private newGeneration(): void {
    for (const listener of this.generationListeners) listener();
  }

  private lacks(what: string, capability: string): RingsideError {
    return new RingsideError(
      'CAPABILITY',
      `${this.name}: ${what} needs ${capability}, which LibVMI in ${this.instance.mode} mode${this.instance.eventsEnabled ? '' : ' without events'} does not give`,
    );
  }

  private plant(
    spec: HookSpec,
    handler: HookHandler,
  ): { remove: () => void; applied: Promise<void> } {
    switch (spec.kind) {
      case 'memory': {
        if (this.capabilities.memAccess === 'none')
          throw this.lacks('a memory hook', 'memory-access traps');
        const view = spec.view ?? 0;
        if (view < 0 || view >= this.capabilities.views)
          throw new RingsideError('BAD_INPUT', `view ${view} does not exist`);
        const access =
          (spec.access.r ? MemAccess.r : 0) |
          (spec.access.w ? MemAccess.w : 0) |
          (spec.access.x ? MemAccess.x : 0);
        if (access === 0)
          throw new RingsideError('BAD_INPUT', 'a memory hook needs at least one of r, w, x');
        const key = `${view}:${spec.frame}:${access}`;
        const { created, remove } = this.memoryHooks.add(
          key,
          handler,
          () => ({ view, frame: spec.frame, access, handlers: new Set() }),
          () => {
            if (!this.closed) void this.schedule(() => this.applyFrame(view, spec.frame));
          },
        );
        const applied = created
          ? this.schedule(() => this.applyFrame(view, spec.frame))
          : this.pending;
        return { remove, applied };
      }
      case 'exec': {
        if (this.capabilities.breakpoints === 'none')
          throw this.lacks('an execution hook', 'hidden breakpoints');
        const { entry, created, remove } = this.execHooks.add(
          spec.address,
          handler,
          () => ({ address: spec.address, handlers: new Set() }),
          (removed) => {
            if (!this.closed)
              void this.schedule(() => {
                if (removed.frame !== undefined) this.applyFrame(0, removed.frame);
              });
          },
        );
        const applied = created
          ? this.schedule(() => {
              const physical = this.instance.translateKernel(spec.address);
              if (physical === undefined) {
                this.execHooks.delete(spec.address);
                throw new RingsideError(
                  'BAD_INPUT',
                  `${this.name}: exec hook address 0x${spec.address.toString(16)} is not mapped in the kernel`,
                );
              }
              entry.frame = physical >> 12n;
              this.applyFrame(0, entry.frame);
            })
          : this.pending;
        return { remove, applied };
      }
      case 'register': {
        if (!this.capabilities.registerWriteTraps)
          throw this.lacks('a register hook', 'register-write traps');
        const reg = spec.register === 'msr' ? Register.msrAll : Register[spec.register];
        const { entry, created, remove } = this.registerEvents.add(
          spec.register,
          handler,
          () => ({ handlers: new Set() }),
          (removed) => {
            if (!this.closed)
              void this.schedule(() => {
                if (removed.pointer !== undefined) this.freeEvent(removed.pointer);
              });
          },
        );
        const applied = created
          ? this.schedule(() => {
              entry.pointer = this.allocateEvent({
                type: EventType.register,
                u: { reg_event: { reg: BigInt(reg), in_access: RegAccess.w } },
              });
            })
          : this.pending;
        return { remove, applied };
      }
    }
  }

  /** The traps on one frame of one view: the union of its memory hooks and exec hooks. */
  private applyFrame(view: number, frame: bigint): void {
    let access = 0;
    for (const hook of this.memoryHooks.values())
      if (hook.view === view && hook.frame === frame) access |= hook.access;
    if (view === 0)
      for (const hook of this.execHooks.values()) if (hook.frame === frame) access |= MemAccess.x;
    if (access !== 0) this.ensureGenericMemoryEvent();
    this.instance.setMemoryEvent(frame, access === 0 ? MemAccess.n : access, view);
  }

  /** One generic memory event receives every frame trap set with vmi_set_mem_event. */
  private ensureGenericMemoryEvent(): void {
    if (this.genericMemoryEvent !== undefined) return;
    this.genericMemoryEvent = this.allocateEvent({
      type: EventType.memory,
      u: {
        mem_event: {
          gfn: 0xffffffffffffffffn,
          generic: 1,
          in_access: MemAccess.r | MemAccess.w | MemAccess.x,
        },
      },
    });
  }

  /** A vmi_event_t in C memory (LibVMI keeps the pointer), registered with our callback. */
  private allocateEvent(fields: Record<string, unknown>): bigint {
    const listener = this.ensureListener();
    const pointer = koffi.alloc(VmiEventStruct, 1) as bigint;
    koffi.encode(pointer, VmiEventStruct, {
      version: VMI_EVENTS_VERSION,
      callback: listener.callback,
      ...fields,
    });
    try {
      this.instance.registerEvent(pointer);
    } catch (error) {
      koffi.free(pointer);
      throw error;
    }
    return pointer;
  }

  /**
   * Clears a C event and frees it only when LibVMI has let go of it: a failed vmi_clear_event keeps
   * the pointer in LibVMI's tables, and a clear inside an event callback is deferred by LibVMI with
   * the pointer kept; both are freed after vmi_destroy instead (a use-after-free otherwise).
   */
  private freeEvent(pointer: bigint): void {
    try {
      this.instance.clearEvent(pointer);
    } catch (error) {
      this.retired.push(pointer);
      throw error;
    }
    if (this.listener?.inEvent) this.retired.push(pointer);
    else koffi.free(pointer);
  }

  private ensureListener(): EventListener {
    this.listener ??= new EventListener(
      this.instance,
      (event) => this.dispatch(event),
      (error) => this.fail(error),
      this.listenTimeoutMs,
    );
    return this.listener;
  }

  /** One LibVMI event: handlers run now; a hold pauses the whole VM until it settles. */
  private dispatch(delivered: DeliveredEvent): number {
    this.newGeneration();
    const event = translateEvent(delivered, this.name, performance.now());
    if (!event) return EventResponse.none;
    let handlers: HookHandler[] = [];
    let response: number = EventResponse.none;
    switch (event.type) {
      case 'mem_access': {
        const gpa = event.vmi?.gpa ?? 0n;
        const frame = gpa >> 12n;
        const bit = MemAccess[event.vmi?.access ?? 'r'];
        for (const hook of this.memoryHooks.values())
          if (hook.view === (event.vmi?.view ?? 0) && hook.frame === frame && hook.access & bit)
            handlers.push(...hook.handlers);
        // Let the access happen without lifting the trap.
        response = EventResponse.emulate;
        if (event.vmi?.access === 'x') {
          const hook = event.vmi.gva !== undefined ? this.execHooks.get(event.vmi.gva) : undefined;
          if (hook) {
            const breakpoint: VmiEvent = {
              ...event,
              type: 'breakpoint',
              vmi: { ...event.vmi, gva: hook.address },
            };
            this.run([...hook.handlers], breakpoint, event.vcpu);
          }
        }
        break;
      }
      case 'register_write': {
        const name = event.vmi?.register ?? '';
        const register: ControlRegister = name.startsWith('msr')
          ? 'msr'
          : (name as ControlRegister);
        handlers = [...this.registerEvents.handlers(register)];
        break;
      }
      default:
        break;
    }
    this.run(handlers, event, event.vcpu);
    if (this.pendingView) {
      new DataView(koffi.view(delivered.pointer, slatId + 2)).setUint16(
        slatId,
        this.pendingView.view,
        true,
      );
      response |= EventResponse.slatId;
      this.pendingView = undefined;
    }
    return response;
  }

  private run(handlers: HookHandler[], event: VmiEvent, vcpu: number | undefined): void {
    this.currentVcpu = vcpu;
    let held: Promise<void> | undefined;
    try {
      held = runHandlers(handlers, event, this.onHandlerError);
      this.events.next(event);
    } finally {
      this.currentVcpu = undefined;
    }
    if (held) {
      // LibVMI answers an event when its callback returns; a handler that holds keeps the whole
      // VM paused instead, until its work settles.
      this.instance.pause();
      this.holds++;
      void held.then(() => {
        // After close, close has resumed the VM already.
        if (this.closed || this.holds === 0) return;
        this.holds--;
        return this.whenFree(() => this.instance.resume()).catch(this.onHandlerError);
      });
    }
  }

  private fail(error: Error): void {
    this.events.next(lifecycleEvent(this.name, 'error', error.message));
  }
}
