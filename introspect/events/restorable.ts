// A trapped write that a response action can undo: the detector that saw it registers how to put the
// old bytes back, and the response stage finds that from the finding's event (see pipeline/response).
import type { VmiEvent } from './event.js';

export interface Restorer {
  /**
   * Puts the bytes before the write back, synchronously; returns what it did (addresses, bytes,
   * whether the writer's vCPU was still held). Throws when guest memory cannot be written.
   */
  restore(): Record<string, unknown>;
}

const restorers = new WeakMap<VmiEvent, Restorer>();

/** Marks `event` as undoable (the event stays plain data: nothing is added to it). */
export function markRestorable(event: VmiEvent, restorer: Restorer): VmiEvent {
  restorers.set(event, restorer);
  return event;
}

export const restorerOf = (event: VmiEvent): Restorer | undefined => restorers.get(event);
