// A periodic check of kernel state for live detectors: read while the guest runs, read again paused
// when something new looks wrong, and report each finding once while it stands (again if it goes
// away and comes back) — after it was seen in `confirmations` checks in a row.
import type { Domain } from '../introspect/domain/types.js';
import type { VmiEvent } from '../introspect/events/event.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { readConfirmed } from './guest-context.js';

export type EventBase = Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>;

export interface StandingCheckOptions<T> {
  /** What is wrong now (read with the guest running, or paused to confirm). */
  read: () => T[];
  /** Identity of a finding between checks. */
  key: (item: T) => string;
  event: (item: T, base: EventBase) => VmiEvent;
  /** Checks in a row an item must be seen in before it is reported (default 1); may differ by item. */
  confirmations?: number | ((item: T) => number);
}

/** A check function for periodicEvents. */
export function standingCheck<T>(
  domain: Domain,
  kernel: LinuxKernel,
  options: StandingCheckOptions<T>,
): () => Promise<VmiEvent[]> {
  const confirmations = options.confirmations ?? 1;
  const needed = (item: T): number =>
    typeof confirmations === 'number' ? confirmations : confirmations(item);
  const seen = new Map<string, number>();
  const reported = new Set<string>();
  return async () => {
    const standing = await readConfirmed(domain, kernel, options.read, (items) =>
      items.some((item) => !reported.has(options.key(item))),
    );
    const now = new Set(standing.map(options.key));
    for (const key of [...seen.keys()]) if (!now.has(key)) seen.delete(key);
    for (const key of [...reported]) if (!now.has(key)) reported.delete(key);
    const base = {
      domain: domain.name,
      time: performance.now(),
      timestamp: new Date().toISOString(),
    };
    const events: VmiEvent[] = [];
    for (const item of standing) {
      const key = options.key(item);
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      if (count >= needed(item) && !reported.has(key)) {
        reported.add(key);
        events.push(options.event(item, base));
      }
    }
    return events;
  };
}
