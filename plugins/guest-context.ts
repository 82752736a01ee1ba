// What every Linux detector needs at a hook: the process running on the vCPU (from GS base), the
// envelope of a semantic event, and a hook turned into a stream of semantic events where a guest
// structure that cannot be read becomes an event saying so, never a dead detector.
import { Observable } from 'rxjs';
import type { HookContext, HookSpec, Domain } from '../introspect/domain/types.js';
import { isRingsideError } from '../introspect/errors.js';
import type { ProcessFields, UserFields, VmiEvent } from '../introspect/events/event.js';
import { currentTask } from '../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { readTask, type TaskInfo } from '../introspect/os/linux/tasks.js';

const TASK_COMM_LEN = 16;

/** The fields every semantic event copies from the raw event it comes from. */
export function envelope(
  event: VmiEvent,
): Pick<VmiEvent, 'domain' | 'vcpu' | 'time' | 'timestamp'> {
  return {
    domain: event.domain,
    time: event.time,
    ...(event.vcpu !== undefined ? { vcpu: event.vcpu } : {}),
    ...(event.timestamp !== undefined ? { timestamp: event.timestamp } : {}),
  };
}

/** The task running on the vCPU of a hook event (kernel mode: GS base points at the per-CPU area). */
export function currentTaskOf(kernel: LinuxKernel, event: VmiEvent, offset: bigint): TaskInfo {
  return readTask(kernel, currentTask(kernel, event.registers?.gs_base ?? 0n, offset));
}

/** Process fields of a task, with its parent's pid and name. */
export function processFields(kernel: LinuxKernel, task: TaskInfo): ProcessFields {
  const r = kernel.reader;
  const parent = r.u64(task.address + r.offset('task_struct', 'real_parent'));
  let parentName = '';
  try {
    if (parent !== 0n)
      parentName = r.cString(parent + r.offset('task_struct', 'comm'), TASK_COMM_LEN);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
  }
  return {
    pid: task.tgid,
    tgid: task.tgid,
    ppid: task.ppid,
    name: task.comm,
    kernel_thread: task.kernelThread,
    task: task.address,
    parent: { pid: task.ppid, name: parentName },
  };
}

export function userFields(task: TaskInfo): UserFields {
  return { id: task.uid, group_id: task.gid, effective_id: task.euid };
}

/** A semantic event that could not be read: it keeps the raw event's time and names the problem. */
export function unreadable(
  type: VmiEvent['type'],
  event: VmiEvent,
  what: string,
  error: Error,
): VmiEvent {
  return {
    type,
    ...envelope(event),
    details: { error: `could not read ${what}: ${error.message}` },
  };
}

/**
 * Plants a hook and maps each hit to zero or more semantic events while the vCPU is held. A guest
 * structure that cannot be read (a RingsideError) becomes `onUnreadable`'s event; other errors end
 * the stream, since they are bugs.
 */
export function hookEvents(
  domain: Domain,
  spec: HookSpec,
  map: (
    context: HookContext,
  ) => VmiEvent | VmiEvent[] | undefined | Promise<VmiEvent | VmiEvent[] | undefined>,
  onUnreadable: (event: VmiEvent, error: Error) => VmiEvent | undefined,
): Observable<VmiEvent> {
  return new Observable<VmiEvent>((subscriber) => {
    const emit = (result: VmiEvent | VmiEvent[] | undefined): void => {
      if (result === undefined) return;
      for (const item of Array.isArray(result) ? result : [result]) subscriber.next(item);
    };
    const fail = (context: HookContext, error: unknown): void => {
      if (isRingsideError(error)) {
        const event = onUnreadable(context.event, error);
        if (event) subscriber.next(event);
      } else subscriber.error(error);
    };
    const subscription = domain.hook(spec).subscribe({
      next: (context) => {
        try {
          const result = map(context);
          if (result instanceof Promise) {
            context.hold(result.then(emit, (error: unknown) => fail(context, error)));
          } else emit(result);
        } catch (error) {
          fail(context, error);
        }
      },
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => subscription.unsubscribe();
  });
}

/**
 * A periodic check of a running guest: read while it runs (no pause, no cost to the guest) and,
 * only when that read looks suspicious, read again with the guest paused, so a structure caught
 * half-updated is not reported. Returns the read that counts.
 */
export async function readConfirmed<T>(
  domain: Domain,
  kernel: LinuxKernel,
  read: () => T,
  suspicious: (result: T) => boolean,
): Promise<T> {
  kernel.newGeneration();
  let result: T | undefined;
  try {
    result = read();
  } catch (error) {
    if (!isRingsideError(error)) throw error;
  }
  if (result !== undefined && !suspicious(result)) return result;
  await domain.pause();
  try {
    kernel.newGeneration();
    return read();
  } finally {
    await domain.resume();
  }
}
