// A live QEMU guest as a Domain: memory from the shared RAM file, control over QMP, and hooks through
// Ringside's TCG plugin (hidden exec hooks, frame traps per emulated view, CR/MSR write traps).
import { Observable, Subject } from 'rxjs';
import { RingsideError } from '../../errors.js';
import { lifecycleEvent, type VmiEvent } from '../../events/event.js';
import type { PhysicalMemory } from '../../memory/types.js';
import type {
  ControlRegister,
  Domain,
  DomainCapabilities,
  DomainResponder,
  HookContext,
  HookSpec,
} from '../../domain/types.js';
import { PluginClient } from './plugin-client.js';
import { reportHandlerError, runHandlers } from '../../domain/run-handlers.js';
import { HookTable, type HookEntry, type HookHandler } from '../../domain/hook-table.js';
import {
  ACCESS,
  HitKind,
  MAX_CAPTURE_BYTES,
  MAX_CAPTURE_DEREFS,
  MAX_CAPTURES,
  REGISTER_TRAP,
  type CaptureSpec,
  type Hit,
} from './plugin-protocol.js';
import type { QmpClient } from './qmp.js';
import { RamFileMemory } from './ram-file-memory.js';
import { VmControl } from './vm-control.js';

type Handler = HookHandler;

/** What an exec hook asks of the plugin beyond its address. */
interface ExecHookConfig {
  notify: boolean;
  differ?: [number, number];
  captures: CaptureSpec[];
}

const REGISTER_NUMBER: Record<number, ControlRegister> = {
  0: 'cr0',
  3: 'cr3',
  4: 'cr4',
  0x100: 'msr',
};

export interface QemuDomainOptions {
  name: string;
  pluginSocket: string;
  ramFile: string;
  /** Guest-physical address of the RAM file's first byte when RAM is one block (ARM virt: 0x4000_0000). */
  ramBase?: bigint;
  /** A QMP connection for pause/resume; the domain owns it and closes it on close(). */
  qmp?: QmpClient;
  /** Reports errors thrown by hook handlers (default: stderr). */
  onHandlerError?: (error: unknown) => void;
  /**
   * Held hits through the hit ring (shared memory and futexes, see docs/qemu.md) instead of the
   * socket; the socket stays where the ring cannot work. Default: $RINGSIDE_HIT_RING === '1'.
   */
  hitRing?: boolean;
}

export class QemuDomain implements Domain {
  readonly capabilities: DomainCapabilities;
  /** Restore, pause and snapshot actions: with the RAM file and a QMP connection. */
  readonly responder?: DomainResponder;
  readonly events$: Observable<VmiEvent>;
  private readonly events = new Subject<VmiEvent>();
  private readonly execHooks = new HookTable<
    bigint,
    HookEntry & { id: number; config: ExecHookConfig; signature: string }
  >();
  private readonly memoryHooks = new HookTable<
    string,
    HookEntry & { view: number; frame: bigint; access: number }
  >();
  private readonly registerHooks = new HookTable<ControlRegister, HookEntry>();
  private readonly hookIds = new Map<number, bigint>();
  private nextHookId = 1;
  private pending: Promise<void> = Promise.resolve();
  private dirty = { exec: false, views: new Set<number>(), registers: false };
  private flushScheduled = false;
  private readonly failures = new Set<(error: Error) => void>();
  private closedError: Error | undefined;
  private readonly control: VmControl;

  private constructor(
    readonly name: string,
    readonly physical: PhysicalMemory,
    private readonly plugin: PluginClient,
    qmp: QmpClient | undefined,
    private readonly onHandlerError: (error: unknown) => void,
  ) {
    this.control = new VmControl(name, qmp);
    this.capabilities = {
      live: true,
      memAccess: 'tcg-plugin',
      breakpoints: 'hidden',
      altp2m: 'emulated',
      // The plugin decodes control-register writes for x86-64 guests only; its register set says which.
      registerWriteTraps: plugin.hello.registers.includes('cr0'),
      singlestep: false,
      views: plugin.hello.views,
      captures: true,
    };
    this.events$ = this.events.asObservable();
    const ram = physical instanceof RamFileMemory ? physical : undefined;
    if (ram && this.control.canAct) {
      const control = this.control;
      this.responder = {
        writePhysical: (address, bytes) => ram.writeFrom(address, bytes),
        dumpMemory: (path) => control.dump(path),
        stop: () => control.stop(),
      };
    }
    plugin.setHitHandler((hit) => this.dispatch(hit));
    plugin.onClose((error) => this.fail(error));
  }

  static async attach(options: QemuDomainOptions): Promise<QemuDomain> {
    const physical = new RamFileMemory(
      options.ramFile,
      options.ramBase !== undefined ? { base: options.ramBase } : {},
    );
    let plugin: PluginClient;
    try {
      plugin = await PluginClient.connect(options.pluginSocket);
    } catch (error) {
      physical.close();
      throw error;
    }
    const domain = new QemuDomain(
      options.name,
      physical,
      plugin,
      options.qmp,
      options.onHandlerError ?? reportHandlerError,
    );
    if (options.hitRing ?? process.env.RINGSIDE_HIT_RING === '1') await plugin.useRing();
    domain.events.next(lifecycleEvent(options.name, 'attached'));
    return domain;
  }

  hook(spec: HookSpec): Observable<HookContext> {
    return new Observable<HookContext>((subscriber) => {
      if (this.closedError) {
        subscriber.error(this.closedError);
        return undefined;
      }
      const handler: Handler = (context) => subscriber.next(context);
      const onFailure = (error: Error): void => subscriber.error(error);
      this.failures.add(onFailure);
      const remove = this.plant(spec, handler);
      return () => {
        this.failures.delete(onFailure);
        remove();
      };
    });
  }

  synced(): Promise<void> {
    return this.pending;
  }

  switchView(vcpu: number, view: number): Promise<void> {
    if (view < 0 || view >= this.capabilities.views) {
      return Promise.reject(
        new RingsideError(
          'BAD_INPUT',
          `view ${view} does not exist (0–${this.capabilities.views - 1})`,
        ),
      );
    }
    return this.plugin.switchView(vcpu, view);
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

  /** The plugin's counters; `reset`: hold median and p99 start afresh after this report. */
  stats(reset = false) {
    return this.plugin.stats(reset);
  }

  /** Held hits through the hit ring (true when it took) or, with false, the socket again. */
  async useHitRing(enabled: boolean): Promise<boolean> {
    if (!enabled) {
      await this.plugin.stopRing();
      return false;
    }
    return this.plugin.useRing();
  }

  get hitRing(): boolean {
    return this.plugin.ringAttached;
  }

  /** Where the hit ring's round trips spend their time, medians in µs (undefined without one). */
  hitRingLatency(reset = false) {
    return this.plugin.ringLatency(reset);
  }

  async close(): Promise<void> {
    if (!this.plugin.closed) {
      this.execHooks.clear();
      this.memoryHooks.clear();
      this.registerHooks.clear();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all([
            this.plugin.setExecHooks([]),
            this.plugin.setRegisterTraps(0),
            ...Array.from({ length: this.capabilities.views }, (_, view) =>
              this.plugin.setWatches(view, []),
            ),
          ]),
          new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
        ]);
      } catch {
        // The plugin drops every hook itself when its peer goes away.
      } finally {
        clearTimeout(timer);
      }
      this.plugin.close();
    }
    this.control.close();
    this.events.next(lifecycleEvent(this.name, 'detached'));
    this.events.complete();
    this.physical.close();
  }

  private plant(spec: HookSpec, handler: Handler): () => void {
    switch (spec.kind) {
      case 'exec': {
        const config = this.execConfig(spec);
        const signature = JSON.stringify(config);
        const existing = this.execHooks.get(spec.address);
        if (existing && existing.signature !== signature) {
          throw new RingsideError(
            'BAD_INPUT',
            `0x${spec.address.toString(16)} is already hooked with other captures or hold; one configuration per address`,
          );
        }
        const { created, entry, remove } = this.execHooks.add(
          spec.address,
          handler,
          () => ({ id: this.nextHookId++, handlers: new Set(), config, signature }),
          (removed) => {
            this.hookIds.delete(removed.id);
            this.markDirty('exec');
          },
        );
        if (created) {
          this.hookIds.set(entry.id, spec.address);
          this.markDirty('exec');
        }
        return remove;
      }
      case 'memory': {
        const view = spec.view ?? 0;
        const access =
          (spec.access.r ? ACCESS.r : 0) |
          (spec.access.w ? ACCESS.w : 0) |
          (spec.access.x ? ACCESS.x : 0) |
          (spec.kernelOnly ? ACCESS.kernel : 0);
        if ((access & ~ACCESS.kernel) === 0)
          throw new RingsideError('BAD_INPUT', 'a memory hook needs at least one of r, w, x');
        const key = `${view}:${spec.frame}:${access}`;
        const { created, remove } = this.memoryHooks.add(
          key,
          handler,
          () => ({ handlers: new Set(), view, frame: spec.frame, access }),
          () => this.markDirty('views', view),
        );
        if (created) this.markDirty('views', view);
        return remove;
      }
      case 'register': {
        const { created, remove } = this.registerHooks.add(
          spec.register,
          handler,
          () => ({ handlers: new Set() }),
          () => this.markDirty('registers'),
        );
        if (created) this.markDirty('registers');
        return remove;
      }
    }
  }

  /** Changes made in one tick go to the plugin together: one flush of translated code, not many. */
  private markDirty(what: 'exec' | 'views' | 'registers', view = 0): void {
    if (what === 'exec') this.dirty.exec = true;
    else if (what === 'registers') this.dirty.registers = true;
    else this.dirty.views.add(view);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const done = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() =>
      this.sendChanges(),
    );
    this.pending = Promise.all([this.pending, done]).then(() => undefined);
    // A failure surfaces through the hook observables; keep `pending` itself from rejecting unhandled.
    this.pending.catch(() => undefined);
  }

  private async sendChanges(): Promise<void> {
    this.flushScheduled = false;
    const { exec, views, registers } = this.dirty;
    this.dirty = { exec: false, views: new Set(), registers: false };
    if (this.closedError) return;
    const work: Promise<void>[] = [];
    if (exec)
      work.push(
        this.plugin.setExecHooks(
          [...this.execHooks.entries()].map(([address, hook]) => ({
            address,
            id: hook.id,
            notify: hook.config.notify,
            ...(hook.config.differ ? { differ: hook.config.differ } : {}),
            captures: hook.config.captures,
          })),
        ),
      );
    for (const view of views) {
      const frames = new Map<bigint, number>();
      for (const hook of this.memoryHooks.values()) {
        if (hook.view !== view) continue;
        // Access bits add up; "kernel code only" holds for the frame only if every hook says so.
        const known = frames.get(hook.frame);
        const kernel =
          (known === undefined || (known & ACCESS.kernel) !== 0) &&
          (hook.access & ACCESS.kernel) !== 0;
        const bits = ((known ?? 0) | hook.access) & ~ACCESS.kernel;
        frames.set(hook.frame, kernel ? bits | ACCESS.kernel : bits);
      }
      work.push(
        this.plugin.setWatches(
          view,
          [...frames].map(([frame, access]) => ({ frame, access })),
        ),
      );
    }
    if (registers) {
      let mask = 0;
      for (const register of this.registerHooks.keys()) mask |= REGISTER_TRAP[register];
      work.push(this.plugin.setRegisterTraps(mask));
    }
    await Promise.all(work);
  }

  private registerNames: string[] | undefined;

  private registersOf(hit: Hit): Record<string, bigint> {
    const names = (this.registerNames ??= this.plugin.hello.registers.map((name) =>
      name === 'eflags' ? 'rflags' : name,
    ));
    const registers: Record<string, bigint> = {};
    const count = Math.min(names.length, hit.registers.length);
    for (let index = 0; index < count; index++) registers[names[index]!] = hit.registers[index]!;
    return registers;
  }

  /** Checks an exec hook's captures against what the plugin can do, naming registers by index. */
  private execConfig(spec: Extract<HookSpec, { kind: 'exec' }>): ExecHookConfig {
    const registers = this.plugin.hello.registers;
    const captures = (spec.capture ?? []).map((capture): CaptureSpec => {
      const index = registers.indexOf(capture.register === 'rflags' ? 'eflags' : capture.register);
      if (index < 0)
        throw new RingsideError(
          'BAD_INPUT',
          `capture register ${capture.register} is not one the plugin reads (${registers.join(', ')})`,
        );
      const derefs = capture.derefs ?? [];
      if (
        derefs.length > MAX_CAPTURE_DEREFS ||
        capture.length <= 0 ||
        capture.length > MAX_CAPTURE_BYTES
      )
        throw new RingsideError(
          'BAD_INPUT',
          `a capture follows at most ${MAX_CAPTURE_DEREFS} pointers and reads 1 to ${MAX_CAPTURE_BYTES} bytes`,
        );
      return { register: index, derefs, offset: capture.offset, length: capture.length };
    });
    if (captures.length > MAX_CAPTURES)
      throw new RingsideError('BAD_INPUT', `at most ${MAX_CAPTURES} captures per hook`);
    const differ = spec.reportIfDiffer;
    if (differ && differ.some((index) => index < 0 || index >= captures.length))
      throw new RingsideError('BAD_INPUT', 'reportIfDiffer names a capture the hook does not have');
    return { notify: spec.hold === false, ...(differ ? { differ } : {}), captures };
  }

  /** Handles one hit; returns a promise only when a handler asked to hold the vCPU. */
  private dispatch(hit: Hit): void | Promise<void> {
    this.control.newGeneration();
    const registers = this.registersOf(hit);
    const base = {
      domain: this.name,
      vcpu: hit.vcpu,
      time: performance.now(),
      timestamp: new Date().toISOString(),
      registers,
    };
    let event: VmiEvent;
    let handlers: Iterable<Handler>;
    switch (hit.kind) {
      case HitKind.ExecHook:
      case HitKind.ExecNotify: {
        const address = this.hookIds.get(hit.hook);
        handlers = address !== undefined ? this.execHooks.handlers(address) : [];
        event = {
          ...base,
          type: 'breakpoint',
          vmi: { rip: registers.rip ?? 0n, gva: address ?? registers.rip ?? 0n, view: hit.view },
        };
        break;
      }
      case HitKind.MemoryAccess:
      case HitKind.ExecWatch: {
        const access = hit.kind === HitKind.ExecWatch ? ACCESS.x : Number(hit.aux2 & 0xffn);
        const frame = hit.address >> 12n;
        handlers = [...this.memoryHooks.values()]
          .filter(
            (hook) =>
              hook.view === hit.view && hook.frame === frame && (hook.access & access) !== 0,
          )
          .flatMap((hook) => [...hook.handlers]);
        event = {
          ...base,
          type: 'mem_access',
          vmi: {
            rip: registers.rip ?? 0n,
            gpa: hit.address,
            ...(hit.kind === HitKind.MemoryAccess
              ? { gva: hit.aux1, size: Number(hit.aux2 >> 8n) }
              : {}),
            access: access === ACCESS.w ? 'w' : access === ACCESS.r ? 'r' : 'x',
            view: hit.view,
          },
        };
        break;
      }
      case HitKind.RegisterWrite: {
        const register = REGISTER_NUMBER[hit.hook] ?? 'cr0';
        handlers = this.registerHooks.handlers(register);
        const name = register === 'msr' ? `msr:0x${hit.address.toString(16)}` : register;
        const old = register === 'msr' ? undefined : registers[register];
        event = {
          ...base,
          type: 'register_write',
          vmi: {
            rip: registers.rip ?? 0n,
            register: name,
            new_value: hit.aux1,
            ...(old !== undefined ? { old_value: old } : {}),
            view: hit.view,
          },
        };
        break;
      }
      default:
        return;
    }
    const settled = runHandlers(handlers, event, this.onHandlerError, hit.captures);
    if (hit.kind === HitKind.ExecNotify) {
      this.events.next(event);
      return;
    }
    this.events.next(event);
    return settled;
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const failure of [...this.failures]) failure(error);
    this.events.next(lifecycleEvent(this.name, 'error', error.message));
    this.events.error(error);
  }
}
