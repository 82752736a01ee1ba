// The detectors that can also judge a memory snapshot, run on one: kernel integrity (syscall table,
// IDT, CR0/CR4 from the vCPU registers the dump recorded), hidden processes (same code as live), and
// credentials that no legitimate path produces: a real uid of 0 while cred->user still belongs to
// another user (setuid() and execs switch the user_struct; a patched cred copy does not).
import type { VmiEvent } from '../introspect/events/event.js';
import { checkIntegrity, type CpuControlState } from '../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { isRingsideError } from '../introspect/errors.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
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
  events.push(...forgedRootEvents(kernel, base));
  return events;
}

export function forgedRootEvents(
  kernel: LinuxKernel,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent[] {
  const r = kernel.reader;
  if (!r.hasField('cred', 'user') || !r.hasField('user_struct', 'uid')) return [];
  const events: VmiEvent[] = [];
  for (const task of listTasks(kernel).tasks) {
    if (task.uid !== 0 || task.kernelThread) continue;
    try {
      const cred = r.u64(task.address + r.offset('task_struct', 'real_cred'));
      const owner = r.u32(r.u64(cred + r.offset('cred', 'user')) + r.offset('user_struct', 'uid'));
      if (owner === 0) continue;
      events.push({
        type: 'cred.change',
        ...base,
        process: {
          pid: task.tgid,
          tgid: task.tgid,
          ppid: task.ppid,
          name: task.comm,
          task: task.address,
        },
        user: {
          id: task.uid,
          group_id: task.gid,
          effective_id: task.euid,
          previous_id: owner,
          previous_effective_id: owner,
          setuid_exec: false,
        },
        details: { via: `uid 0 while cred->user is uid ${owner}'s (no setuid, no exec made it)` },
      });
    } catch (error) {
      if (!isRingsideError(error)) throw error;
    }
  }
  return events;
}
