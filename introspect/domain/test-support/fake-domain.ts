// A Domain for unit tests of detectors: capabilities as the test sets them, hooks recorded as planted
// and removed (assertable), hits fired by the test with an event and optional captures, holds awaited.
import { Subject, Observable } from 'rxjs';
import type { VmiEvent } from '../../events/event.js';
import { BufferMemory } from '../../memory/buffer-memory.js';
import type { AddressSpace, PhysicalMemory } from '../../memory/types.js';
import { HookTable, type HookEntry } from '../hook-table.js';
import { runHandlers } from '../run-handlers.js';
import type { Capture, Domain, DomainCapabilities, HookContext, HookSpec } from '../types.js';

/** What a live backend with every trap and captures offers (the TCG plugin's capabilities). */
export const FULL_CAPABILITIES: DomainCapabilities = Object.freeze({
  live: true,
  memAccess: 'tcg-plugin',
  breakpoints: 'hidden',
  altp2m: 'emulated',
  registerWriteTraps: true,
  singlestep: true,
  captures: true,
  views: 2,
});

interface FakeHook extends HookEntry {
  spec: HookSpec;
}

/** Where a hook sits: an exec address, a frame, or a register. */
export type HookKey = `exec:${string}` | `memory:${string}` | `register:${string}`;

export function hookKey(spec: HookSpec): HookKey {
  if (spec.kind === 'exec') return `exec:${spec.address.toString(16)}`;
  if (spec.kind === 'memory') return `memory:${spec.frame.toString(16)}`;
  return `register:${spec.register}`;
}

/** What happened when a test fired a hook. */
export interface Hit {
  /** Some handler asked to hold the vCPU (and `fire` waited for it). */
  held: boolean;
  /** The backend would not have reported this hit (its `reportIfDiffer` captures were equal). */
  suppressed: boolean;
}

export interface FakeDomainOptions {
  name?: string;
  capabilities?: Partial<DomainCapabilities>;
  physical?: PhysicalMemory;
  /** Guest-virtual memory the captures are read from, as a backend reads them at a hit. */
  virtual?: Pick<AddressSpace, 'readInto'>;
}

/**
 * Reads a hook's captures the way a backend does at the hit: from the register, through each
 * pointer in `derefs`, then `length` bytes; undefined where a read faults.
 */
export function readCaptures(
  memory: Pick<AddressSpace, 'readInto'>,
  registers: Readonly<Record<string, bigint>>,
  captures: readonly Capture[],
): (Uint8Array | undefined)[] {
  return captures.map((capture) => {
    let address = registers[capture.register];
    if (address === undefined) return undefined;
    try {
      const pointer = new Uint8Array(8);
      for (const offset of capture.derefs ?? []) {
        memory.readInto(address + BigInt(offset), pointer);
        address = new DataView(pointer.buffer).getBigUint64(0, true);
      }
      const bytes = new Uint8Array(capture.length);
      memory.readInto(address + BigInt(capture.offset), bytes);
      return bytes;
    } catch {
      return undefined;
    }
  });
}

export class FakeDomain implements Domain {
  readonly name: string;
  readonly capabilities: DomainCapabilities;
  readonly physical: PhysicalMemory;
  readonly events = new Subject<VmiEvent>();
  readonly events$: Observable<VmiEvent> = this.events.asObservable();
  private readonly table = new HookTable<HookKey, FakeHook>();
  /** Every hook ever planted, in order (a hook removed and planted again appears twice). */
  readonly plantedLog: HookSpec[] = [];
  /** Every hook removed, in order. */
  readonly removedLog: HookSpec[] = [];
  /** Errors handlers threw or holds rejected with (a backend reports them; it does not stop). */
  readonly handlerErrors: unknown[] = [];
  pauses = 0;
  resumes = 0;
  closed = false;
  private readonly generationListeners = new Set<() => void>();
  private readonly virtual: Pick<AddressSpace, 'readInto'> | undefined;

  constructor(options: FakeDomainOptions = {}) {
    this.name = options.name ?? 'fake-guest';
    this.capabilities = { ...FULL_CAPABILITIES, ...options.capabilities };
    this.physical = options.physical ?? new BufferMemory(new Uint8Array(0x1000), 0n, this.name);
    this.virtual = options.virtual;
  }

  hook(spec: HookSpec): Observable<HookContext> {
    return new Observable<HookContext>((subscriber) => {
      const { remove } = this.table.add(
        hookKey(spec),
        (context) => subscriber.next(context),
        () => {
          this.plantedLog.push(spec);
          return { spec, handlers: new Set() };
        },
        (entry) => this.removedLog.push(entry.spec),
      );
      return remove;
    });
  }

  /** The specs of the hooks planted now. */
  planted(): HookSpec[] {
    return [...this.table.values()].map((entry) => entry.spec);
  }

  /** The planted hook at `key`, or an error naming what is planted (so a test fails clearly). */
  hookAt(key: HookKey): HookSpec {
    const entry = this.table.get(key);
    if (!entry)
      throw new Error(`no hook planted at ${key} (planted: ${[...this.table.keys()].join(', ')})`);
    return entry.spec;
  }

  /**
   * A hit of the hook at `key`: its handlers run with `event` and `captures` as a backend would run
   * them, and the returned promise settles once every hold has. `captures: 'read'` reads the hook's
   * captures from the guest-virtual memory given at construction, at the event's registers.
   * Captures a hook did not ask for are a test mistake; a hit its `reportIfDiffer` would have
   * suppressed runs no handler.
   */
  async fire(
    key: HookKey,
    event: VmiEvent,
    captures?: (Uint8Array | undefined)[] | 'read',
  ): Promise<Hit> {
    const spec = this.hookAt(key);
    if (captures && (spec.kind !== 'exec' || !spec.capture))
      throw new Error(`the hook at ${key} asked for no captures`);
    if (captures === 'read') {
      if (!this.virtual) throw new Error('the fake domain was given no memory to capture from');
      captures = readCaptures(
        this.virtual,
        event.registers ?? {},
        (spec as { capture: Capture[] }).capture,
      );
    }
    if (spec.kind === 'exec' && spec.reportIfDiffer && captures) {
      const [a, b] = spec.reportIfDiffer.map((index) => captures[index]);
      if (a && b && Buffer.from(a).equals(Buffer.from(b))) return { held: false, suppressed: true };
    }
    const holds = runHandlers(
      this.table.handlers(key),
      event,
      (error) => this.handlerErrors.push(error),
      captures,
    );
    if (holds) await holds;
    return { held: holds !== undefined, suppressed: false };
  }

  synced(): Promise<void> {
    return Promise.resolve();
  }

  switchView(): Promise<void> {
    return Promise.resolve();
  }

  pause(): Promise<void> {
    this.pauses++;
    return Promise.resolve();
  }

  resume(): Promise<void> {
    this.resumes++;
    for (const listener of this.generationListeners) listener();
    return Promise.resolve();
  }

  onNewGeneration(listener: () => void): () => void {
    this.generationListeners.add(listener);
    return () => this.generationListeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const entry of [...this.table.values()]) this.removedLog.push(entry.spec);
    this.table.clear();
    this.events.complete();
    return Promise.resolve();
  }
}
