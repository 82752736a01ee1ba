// process.hidden events: tasks the ID tree, the pid links or a run queue know but the task list does
// not (unlinked by a rootkit). Live, the cross-view runs periodically while the guest runs and again
// with it paused when a task looks hidden; a task is reported once it has been hidden in two checks
// in a row (one being forked or reaped can sit between lists for an instant). On a snapshot, every
// hidden task is reported.
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { crossView, type CrossViewTask } from '../../introspect/os/linux/cross-view.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { periodicEvents, readConfirmed } from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const HIDDEN_INTERVAL_MS = 1000;

/** Hidden tasks of a cross-view, as events (also what a snapshot check reports). */
export function hiddenProcessEvents(
  kernel: LinuxKernel,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent[] {
  const view = crossView(kernel);
  return view.hidden.filter((task) => !task.exiting).map((task) => hiddenEvent(task, base));
}

function hiddenEvent(
  task: CrossViewTask,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent {
  const seenBy = Object.entries(task.views)
    .filter(([, seen]) => seen)
    .map(([name]) => name);
  return {
    type: 'process.hidden',
    ...base,
    process: {
      ...(task.tgid !== undefined ? { pid: task.tgid, tgid: task.tgid } : {}),
      ...(task.comm !== undefined ? { name: task.comm } : {}),
      ...(task.kernelThread !== undefined ? { kernel_thread: task.kernelThread } : {}),
      task: task.address,
    },
    details: {
      ...(task.pid !== undefined && task.pid !== task.tgid ? { thread_id: task.pid } : {}),
      seen_by: seenBy,
      missing_from: 'taskList',
      where: task.where,
      ...(task.unreadable ? { unreadable: task.unreadable } : {}),
    },
  };
}

export interface HiddenProcessOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
}

export function createHiddenProcess(options: HiddenProcessOptions = {}): DetectorPlugin {
  const plugin: DetectorPlugin = {
    meta: {
      id: 'hidden-process',
      version: '1.0.0',
      description:
        'Tasks missing from the task list but present in the PID tree, pid links or run queues (DKOM)',
      architectures: ['x86_64', 'aarch64'],
      // The PID tree (init_pid_ns) and run queues (runqueues) are views the cross-view uses where the
      // kernel has them; the task list itself is the one it cannot do without.
      symbols: ['init_task'],
      capabilities: { live: [true] },
      emits: ['process.hidden'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      // Per subscription: task address → consecutive checks it was hidden in; reported ones stay
      // until they reappear.
      return defer(() => {
        const suspects = new Map<bigint, number>();
        const reported = new Set<bigint>();
        const check = async (): Promise<VmiEvent[]> => {
          const base = {
            domain: domain.name,
            time: performance.now(),
            timestamp: new Date().toISOString(),
          };
          const hidden = await readConfirmed(
            domain,
            kernel,
            () => crossView(kernel).hidden.filter((task) => !task.exiting),
            (found) => found.length > 0,
          );
          const now = new Set(hidden.map((task) => task.address));
          for (const address of [...suspects.keys()])
            if (!now.has(address)) suspects.delete(address);
          for (const address of [...reported]) if (!now.has(address)) reported.delete(address);
          const events: VmiEvent[] = [];
          for (const task of hidden) {
            const count = (suspects.get(task.address) ?? 0) + 1;
            suspects.set(task.address, count);
            if (count >= 2 && !reported.has(task.address)) {
              reported.add(task.address);
              events.push(hiddenEvent(task, base));
            }
          }
          return events;
        };
        return periodicEvents(options.intervalMs ?? HIDDEN_INTERVAL_MS, check, options.scheduler);
      });
    },
    judge: async ({ kernel, domain, timestamp }) =>
      hiddenProcessEvents(kernel, { domain, time: performance.now(), timestamp }),
  };
  return plugin;
}

export const hiddenProcess = createHiddenProcess();
