// The Domain of a guest that is not running: a memory snapshot or a recorded trace. Memory may be
// read (a snapshot's), nothing can be hooked, paused or resumed, and the capabilities say so.
import { EMPTY, Observable } from 'rxjs';
import { MemoryError, RingsideError } from '../errors.js';
import type { VmiEvent } from '../events/event.js';
import type { PhysicalMemory } from '../memory/types.js';
import type { Domain, DomainCapabilities, HookContext } from './types.js';

export const OFFLINE_CAPABILITIES: DomainCapabilities = Object.freeze({
  live: false,
  memAccess: 'none',
  breakpoints: 'none',
  altp2m: 'none',
  registerWriteTraps: false,
  singlestep: false,
  captures: false,
  views: 1,
});

/** Physical memory of a guest we have no memory of (a trace): every read is a hole. */
export function noMemory(name: string): PhysicalMemory {
  return {
    name,
    ranges: () => [],
    readInto: (address) => {
      throw new MemoryError('no guest memory in a recorded trace', BigInt(address), name);
    },
    close: () => undefined,
  };
}

export class OfflineDomain implements Domain {
  readonly capabilities = OFFLINE_CAPABILITIES;

  constructor(
    readonly name: string,
    readonly physical: PhysicalMemory,
    readonly events$: Observable<VmiEvent> = EMPTY,
    private readonly release: () => void = () => physical.close(),
  ) {}

  hook(): Observable<HookContext> {
    return new Observable<HookContext>((subscriber) =>
      subscriber.error(
        new RingsideError('CAPABILITY', `${this.name} is not running: nothing can be hooked`),
      ),
    );
  }

  synced(): Promise<void> {
    return Promise.resolve();
  }

  switchView(): Promise<void> {
    return Promise.reject(new RingsideError('CAPABILITY', `${this.name} has no views`));
  }

  /** A guest that does not run is always paused. */
  pause(): Promise<void> {
    return Promise.resolve();
  }

  resume(): Promise<void> {
    return Promise.resolve();
  }

  onNewGeneration(): () => void {
    return () => undefined;
  }

  close(): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
