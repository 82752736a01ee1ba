// Runs a hook's handlers while the vCPU is held: errors in one handler do not stop the others, and
// the returned promise (only when a handler asked to hold) settles once every hold has.
import type { HookContext } from './types.js';
import type { VmiEvent } from '../events/event.js';

export function runHandlers(
  handlers: Iterable<(context: HookContext) => void>,
  event: VmiEvent,
  onError: (error: unknown) => void,
  captures?: (Uint8Array | undefined)[],
): Promise<void> | undefined {
  const holds: Promise<unknown>[] = [];
  const context: HookContext = {
    event,
    hold: (work) => void holds.push(work),
    ...(captures && captures.length > 0 ? { captures } : {}),
  };
  for (const handler of [...handlers]) {
    try {
      handler(context);
    } catch (error) {
      onError(error);
    }
  }
  if (holds.length === 0) return undefined;
  return Promise.allSettled(holds).then((results) => {
    for (const result of results) if (result.status === 'rejected') onError(result.reason);
  });
}

/** Where handler errors go when the caller names no reporter. */
export const reportHandlerError = (error: unknown): void => {
  process.stderr.write(`ringside: hook handler failed: ${String(error)}\n`);
};
