// Runs vmi_events_listen off Node's event loop (a koffi async call on a worker thread) and brings
// LibVMI's C callbacks back to JavaScript as copies of the event. Calls into the instance are
// serialized with it: allowed between listens and inside a callback, refused while one runs.
import koffi from 'koffi';
import { RingsideError } from '../../errors.js';
import type { LibvmiInstance } from './libvmi-instance.js';
import { EventCallback, VMI_SUCCESS, VmiEventStruct } from './layouts.js';
import { VMI_EVENT_SIZE, X86_REGISTERS_SIZE, type RawLibvmiEvent } from './event-translation.js';

/** What the listener hands to its owner: the copied event, and where to write the response. */
export interface DeliveredEvent extends RawLibvmiEvent {
  /** The live C event, valid only during the callback (to set slat_id in the response). */
  pointer: bigint;
}

/** Returns the event_response_t flags for LibVMI. */
export type EventSink = (event: DeliveredEvent) => number;

const REGS_OFFSET = koffi.offsetof(VmiEventStruct, 'x86_regs');

/** Copies a C vmi_event_t (and the registers it points at) out of LibVMI's memory. */
export function copyEvent(pointer: bigint): DeliveredEvent {
  const event = new Uint8Array(koffi.view(pointer, VMI_EVENT_SIZE).slice(0));
  const regs = new DataView(event.buffer).getBigUint64(REGS_OFFSET, true);
  const registers =
    regs === 0n ? undefined : new Uint8Array(koffi.view(regs, X86_REGISTERS_SIZE).slice(0));
  return { event, ...(registers ? { registers } : {}), pointer };
}

export class EventListener {
  /** The C function pointer LibVMI calls; put it in vmi_event_t.callback. */
  readonly callback: bigint;
  private running = false;
  private listening = false;
  private inCallback = false;
  private loop: Promise<void> | undefined;
  private readonly waiting: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly instance: LibvmiInstance,
    private readonly sink: EventSink,
    private readonly onFailure: (error: Error) => void,
    private readonly timeoutMs = 100,
  ) {
    this.callback = koffi.register(
      (_vmi: unknown, event: unknown) => this.deliver(event as bigint),
      koffi.pointer(EventCallback),
    );
    instance.setGate((destroying) =>
      this.listening && (destroying || !this.inCallback)
        ? destroying
          ? 'vmi_events_listen is in flight (vmi_destroy would free the instance under it); stop the listener first'
          : 'vmi_events_listen is running on another thread; call from a hook handler or through exclusive()'
        : undefined,
    );
  }

  /** True while LibVMI runs one of our callbacks (on whichever thread). */
  get inEvent(): boolean {
    return this.inCallback;
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Runs `work` between two listens, when no C call is in flight. */
  async exclusive<T>(work: () => T): Promise<T> {
    if (this.listening && !this.inCallback)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    return work();
  }

  /** Stops after the listen in flight returns; the callback pointer is released. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = undefined;
  }

  release(): void {
    koffi.unregister(this.callback);
  }

  private async run(): Promise<void> {
    const handle = this.instance.listenHandle();
    const listen = this.instance.functions.vmi_events_listen;
    while (this.running) {
      this.listening = true;
      // A failed async call (koffi's error) is a failed listen, never an unhandled rejection.
      const status = await new Promise<number>((resolve) =>
        listen.async(handle, this.timeoutMs, (error, result) => resolve(error ? -1 : result)),
      ).finally(() => {
        this.listening = false;
      });
      // Whoever waited for the instance runs now, before the next listen.
      for (const resolve of this.waiting.splice(0)) resolve();
      await Promise.resolve();
      if (status !== VMI_SUCCESS && this.running) {
        this.running = false;
        this.failure = new RingsideError(
          'BACKEND',
          `libvmi:${this.instance.name}: vmi_events_listen failed (the domain is gone or its vm_event ring broke)`,
        );
        this.onFailure(this.failure);
      }
    }
  }

  private deliver(pointer: bigint): number {
    this.inCallback = true;
    try {
      return this.sink(copyEvent(pointer));
    } catch (error) {
      this.onFailure(error instanceof Error ? error : new Error(String(error)));
      return 0;
    } finally {
      this.inCallback = false;
    }
  }
}
