// Detectors that judge each process's state rather than a hook: one scan function serves both the
// snapshot (every finding) and the live guest (the scan every second, read while the guest runs and
// confirmed paused when something turns up; each finding reported once while it stands).
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../introspect/events/event.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { periodicEvents, readConfirmed } from './guest-context.js';
import type { DetectorPlugin, PluginMeta } from './types.js';

/** How often a live scan runs (ms). */
export const SCAN_INTERVAL_MS = 1000;

/** One thing a scan found: its event, and a key that stays the same while it stands. */
export interface ScanFinding {
  key: string;
  event: VmiEvent;
}

export type EventBase = Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>;

export type ProcessScan = (kernel: LinuxKernel, base: EventBase) => ScanFinding[];

export interface ScanOptions {
  intervalMs?: number;
  /** The live scan's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
}

/** A detector from a scan: periodic live, whole on a snapshot. */
export function scanningDetector(
  meta: PluginMeta,
  scan: ProcessScan,
  options: ScanOptions = {},
): DetectorPlugin {
  return {
    meta,
    start({ domain, kernel }): Observable<VmiEvent> {
      return defer(() => {
        let reported = new Set<string>();
        const check = async (): Promise<VmiEvent[]> => {
          const base = {
            domain: domain.name,
            time: performance.now(),
            timestamp: new Date().toISOString(),
          };
          const standing = await readConfirmed(
            domain,
            kernel,
            () => scan(kernel, base),
            (found) => found.some((finding) => !reported.has(finding.key)),
          );
          const fresh = standing.filter((finding) => !reported.has(finding.key));
          reported = new Set(standing.map((finding) => finding.key));
          return fresh.map((finding) => finding.event);
        };
        return periodicEvents(options.intervalMs ?? SCAN_INTERVAL_MS, check, options.scheduler);
      });
    },
    judge: async ({ kernel, domain, timestamp }) =>
      scan(kernel, { domain, time: performance.now(), timestamp }).map((finding) => finding.event),
  };
}

/** A process's identity across scans: its task and start time (a pid is reused). */
export const processKey = (task: { address: bigint; startTime: bigint }): string =>
  `${task.address.toString(16)}@${task.startTime}`;
