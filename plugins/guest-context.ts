// What every Linux detector needs at a hook: the process running on the vCPU (found as the
// architecture says: GS base on x86-64, SP_EL0 on AArch64), the
// envelope of a semantic event, and a hook turned into a stream of semantic events where a guest
// structure that cannot be read becomes an event saying so, never a dead detector.
import {
  catchError,
  defer,
  EMPTY,
  exhaustMap,
  interval,
  mergeMap,
  Observable,
  throwError,
  type ObservableInput,
  type SchedulerLike,
} from 'rxjs';
import type { Capture, HookContext, HookSpec, Domain } from '../introspect/domain/types.js';
import { isRingsideError, RingsideError } from '../introspect/errors.js';
import type { ProcessFields, UserFields, VmiEvent } from '../introspect/events/event.js';
import { currentTaskFrom, type CurrentTaskLocator } from '../introspect/os/linux/current-task.js';
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

/** The task running on the vCPU of a hook event (kernel mode). */
export function currentTaskOf(
  kernel: LinuxKernel,
  event: VmiEvent,
  locator: CurrentTaskLocator,
): TaskInfo {
  return readTask(kernel, currentTaskFrom(kernel, event.registers, locator));
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

/** What a hook needs to know of the task running at the hit, read by the backend at the hit. */
export interface CapturedTask {
  address: bigint;
  pid: number;
  tgid: number;
  comm: string;
  ppid: number;
  parentName: string;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  kernelThread: boolean;
}

/** How many captures currentTaskCaptures gives; a hook's own captures follow them. */
export const TASK_CAPTURES = 8;
/** The index of the credentials among them. */
export const TASK_CRED_CAPTURE = 6;
const PF_KTHREAD = 0x0020_0000;
const CRED_BYTES = 32;

/**
 * Captures of the current task an exec hook can ask for, so its handler need not hold the vCPU: the
 * task pointer, pid, tgid, comm, parent's tgid and comm, credentials, flags. Undefined where the
 * task pointer is a register's own value (AArch64's SP_EL0), which a capture cannot read: the
 * handler then reads the task while the vCPU is held.
 */
export function currentTaskCaptures(
  kernel: LinuxKernel,
  locator: CurrentTaskLocator,
): Capture[] | undefined {
  if (locator.perCpuOffset === undefined) return undefined;
  const r = kernel.reader;
  const at = (struct: string, field: string): number => Number(r.offset(struct, field));
  const register = locator.register;
  const current = Number(locator.perCpuOffset);
  const parent = at('task_struct', 'real_parent');
  return [
    { register, offset: current, length: 8 },
    { register, derefs: [current], offset: at('task_struct', 'pid'), length: 4 },
    { register, derefs: [current], offset: at('task_struct', 'tgid'), length: 4 },
    { register, derefs: [current], offset: at('task_struct', 'comm'), length: 16 },
    { register, derefs: [current, parent], offset: at('task_struct', 'tgid'), length: 4 },
    { register, derefs: [current, parent], offset: at('task_struct', 'comm'), length: 16 },
    {
      register,
      derefs: [current, at('task_struct', 'real_cred')],
      offset: at('cred', 'uid'),
      length: CRED_BYTES,
    },
    { register, derefs: [current], offset: at('task_struct', 'flags'), length: 4 },
  ];
}

/** A capture of one field of the current task (undefined where task captures are impossible). */
export function currentTaskFieldCapture(
  locator: CurrentTaskLocator,
  offset: number,
  length: number,
): Capture | undefined {
  if (locator.perCpuOffset === undefined) return undefined;
  return {
    register: locator.register,
    derefs: [Number(locator.perCpuOffset)],
    offset,
    length,
  };
}

/** The credential bytes a capture of `CRED_BYTES` at cred.uid holds, decoded by field. */
export function decodeCredentials(
  kernel: LinuxKernel,
  bytes: Uint8Array,
): { uid: number; gid: number; euid: number; egid: number } {
  const r = kernel.reader;
  const base = Number(r.offset('cred', 'uid'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const field = (name: string): number =>
    view.getUint32(Number(r.offset('cred', name)) - base, true);
  return { uid: field('uid'), gid: field('gid'), euid: field('euid'), egid: field('egid') };
}

export const credentialCapture = (kernel: LinuxKernel, register: string): Capture => ({
  register,
  offset: Number(kernel.reader.offset('cred', 'uid')),
  length: CRED_BYTES,
});

/** The current task from a hook's captures, or undefined when the backend did not capture. */
export function capturedTask(
  kernel: LinuxKernel,
  captures: HookContext['captures'],
): CapturedTask | undefined {
  if (!captures || captures.length < TASK_CAPTURES) return undefined;
  const [pointer, pid, tgid, comm, ppid, parentComm, cred, flags] = captures;
  if (!pointer || !pid || !tgid || !comm || !cred) {
    throw new RingsideError('GUEST_STRUCTURE', 'the current task could not be read at the hook');
  }
  const u32 = (bytes: Uint8Array): number =>
    new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  const text = (bytes: Uint8Array | undefined): string => {
    if (!bytes) return '';
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
  };
  const credentials = decodeCredentials(kernel, cred);
  return {
    address: new DataView(pointer.buffer, pointer.byteOffset, 8).getBigUint64(0, true),
    pid: u32(pid),
    tgid: u32(tgid),
    comm: text(comm),
    ppid: ppid ? u32(ppid) : 0,
    parentName: text(parentComm),
    ...credentials,
    kernelThread: flags ? (u32(flags) & PF_KTHREAD) !== 0 : false,
  };
}

/** The current task at a hook: from captures when the backend took them, else read now (held). */
export function hookTask(
  kernel: LinuxKernel,
  context: HookContext,
  locator: CurrentTaskLocator,
): { process: ProcessFields; user: UserFields; task: CapturedTask } {
  const captured = capturedTask(kernel, context.captures);
  if (captured) {
    return {
      task: captured,
      process: {
        pid: captured.tgid,
        tgid: captured.tgid,
        ppid: captured.ppid,
        name: captured.comm,
        kernel_thread: captured.kernelThread,
        task: captured.address,
        parent: { pid: captured.ppid, name: captured.parentName },
      },
      user: { id: captured.uid, group_id: captured.gid, effective_id: captured.euid },
    };
  }
  const task = currentTaskOf(kernel, context.event, locator);
  const process = processFields(kernel, task);
  return {
    task: {
      address: task.address,
      pid: task.pid,
      tgid: task.tgid,
      comm: task.comm,
      ppid: task.ppid,
      parentName: process.parent?.name ?? '',
      uid: task.uid,
      gid: task.gid,
      euid: task.euid,
      egid: task.egid,
      kernelThread: task.kernelThread,
    },
    process,
    user: userFields(task),
  };
}

/**
 * A check run every `intervalMs` while subscribed, never two at once (a tick that finds the last
 * check still running is dropped): its events are emitted; a guest structure it could not read
 * skips that round (the next one tries again); any other error ends the stream, since it is a bug.
 * The check is a promise (an async read) or an observable; the scheduler is injectable, so marble
 * tests run it on virtual time.
 */
export function periodicEvents(
  intervalMs: number,
  check: () => ObservableInput<VmiEvent[]>,
  scheduler?: SchedulerLike,
): Observable<VmiEvent> {
  return interval(intervalMs, scheduler).pipe(
    exhaustMap(() =>
      defer(check).pipe(
        catchError((error: unknown) => {
          if (isRingsideError(error)) return EMPTY;
          return throwError(() => error);
        }),
      ),
    ),
    mergeMap((events) => events),
  );
}
