// The detectors that can also judge a memory snapshot, run on one: kernel integrity (syscall table,
// IDT, CR0/CR4 from the vCPU registers the dump recorded) and hidden processes. Same code as live.
import type { VmiEvent } from '../introspect/events/event.js';
import { checkIntegrity, type CpuControlState } from '../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { hiddenProcessEvents } from './hidden-process/index.js';
import { violationEvent } from './kernel-integrity/evidence.js';

export interface SnapshotCheckOptions {
  /** Names the guest in events. */
  domain: string;
  /** Control registers per vCPU, when the snapshot recorded them. */
  cpus?: readonly CpuControlState[];
  /** Wall-clock time the snapshot was taken, for the events (default now). */
  timestamp?: string;
}

export async function checkSnapshot(
  kernel: LinuxKernel,
  options: SnapshotCheckOptions,
): Promise<VmiEvent[]> {
  const base = {
    domain: options.domain,
    time: performance.now(),
    timestamp: options.timestamp ?? new Date().toISOString(),
  };
  const events: VmiEvent[] = [];
  for (const violation of checkIntegrity(kernel, options.cpus ?? [])) {
    events.push(await violationEvent(kernel, violation, base));
  }
  events.push(...hiddenProcessEvents(kernel, base));
  return events;
}
