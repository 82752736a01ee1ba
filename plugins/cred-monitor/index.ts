// cred.change events: a task's credentials replaced through commit_creds(new), read at its entry
// where current->real_cred still holds the old ones. A change made while the task is executing a
// program (current->in_execve) is the exec's doing: a set-user-ID file, flagged setuid_exec.
// Escalations that write the cred fields directly, bypassing commit_creds, are for the periodic
// cross-check in the same plugin: a task whose euid became 0 with no change seen is reported too.
import { Observable, merge } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { isRingsideError } from '../../introspect/errors.js';
import { argument } from '../../introspect/arch/index.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks, type TaskInfo } from '../../introspect/os/linux/tasks.js';
import {
  credentialCapture,
  currentTaskCaptures,
  currentTaskFieldCapture,
  decodeCredentials,
  envelope,
  hookEvents,
  hookTask,
  periodicEvents,
  processFields,
  readConfirmed,
  TASK_CAPTURES,
  TASK_CRED_CAPTURE,
  unreadable,
} from '../guest-context.js';
import { forgedRootEvents } from './forged-root.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export interface Credentials {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
}

export function readCredentials(kernel: LinuxKernel, cred: bigint): Credentials {
  const c = kernel.reader.struct(cred, 'cred');
  return {
    uid: c.u32('uid.val'),
    gid: c.u32('gid.val'),
    euid: c.u32('euid.val'),
    egid: c.u32('egid.val'),
  };
}

export const sameCredentials = (a: Credentials, b: Credentials): boolean =>
  a.uid === b.uid && a.gid === b.gid && a.euid === b.euid && a.egid === b.egid;

/** How often the cross-check of every task's credentials runs (ms). */
export const CRED_SCAN_INTERVAL_MS = 1000;

export const credMonitor: DetectorPlugin = {
  meta: {
    id: 'cred-monitor',
    version: '1.0.0',
    description:
      'Credential changes (uid/gid/euid/egid) from commit_creds, with setuid execs told apart',
    architectures: ['x86_64', 'aarch64'],
    symbols: ['commit_creds'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['cred.change'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    const address = kernel.symbols.address('commit_creds')!;
    const locator = currentTaskLocator(kernel);
    const r = kernel.reader;
    const hasInExecve = r.hasField('task_struct', 'in_execve');
    // Credentials last seen per task (address and start time: a freed task_struct is reused by the
    // next fork), so the scan reports only changes nobody committed.
    const seen = new Map<string, Credentials>();
    const identity = (address: bigint, startTime: bigint): string => `${address}:${startTime}`;
    // The plugin reads the old (current->real_cred) and new credentials at the hit and reports only
    // when they differ: most commit_creds calls (every exec) change nothing and cost no round trip.
    const inExecve = hasInExecve ? r.field('task_struct', 'in_execve') : undefined;
    const taskCaptures = domain.capabilities.captures
      ? currentTaskCaptures(kernel, locator)
      : undefined;
    const inExecveCapture = inExecve
      ? currentTaskFieldCapture(locator, inExecve.offset, 1)
      : undefined;
    // commit_creds(new): the new credentials are its first argument.
    const capture = taskCaptures
      ? [
          ...taskCaptures,
          credentialCapture(kernel, kernel.arch.argumentRegisters[0]!),
          ...(inExecveCapture ? [inExecveCapture] : []),
        ]
      : undefined;
    const hooked = hookEvents(
      domain,
      {
        kind: 'exec',
        address,
        name: 'commit_creds',
        ...(capture
          ? {
              capture,
              hold: false,
              reportIfDiffer: [TASK_CRED_CAPTURE, TASK_CAPTURES] as [number, number],
            }
          : {}),
      },
      (context) => {
        const { event } = context;
        const { task, process } = hookTask(kernel, context, locator);
        const captured = context.captures;
        const newCred = captured?.[TASK_CAPTURES];
        const before = { uid: task.uid, gid: task.gid, euid: task.euid, egid: task.egid };
        const after = newCred
          ? decodeCredentials(kernel, newCred)
          : readCredentials(kernel, argument(kernel.arch, event, 0));
        seen.set(identity(task.address, taskStart(task.address)), after);
        if (sameCredentials(before, after)) return undefined;
        const execByte = captured?.[TASK_CAPTURES + 1];
        const inExec = inExecve
          ? execByte
            ? ((execByte[0]! >> (inExecve.bitOffset % 8)) & 1) === 1
            : r.fieldNumber(task.address, 'task_struct', 'in_execve') !== 0
          : false;
        return {
          type: 'cred.change',
          ...envelope(event),
          process,
          user: {
            id: after.uid,
            group_id: after.gid,
            effective_id: after.euid,
            previous_id: before.uid,
            previous_effective_id: before.euid,
            setuid_exec: inExec,
          },
          vmi: { rip: address, hook: 'commit_creds', symbol: 'commit_creds' },
          details: { previous_group_id: before.gid, via: inExec ? 'exec' : 'commit_creds' },
        };
      },
      (event, error) => unreadable('cred.change', event, 'the credentials', error),
    );
    /** A task's start time, for the scan's identity (0 when it cannot be read any more). */
    const taskStart = (task: bigint): bigint => {
      try {
        return r.fieldValue(task, 'task_struct', 'start_time');
      } catch (error) {
        if (isRingsideError(error)) return 0n;
        throw error;
      }
    };
    const scanned = periodicEvents(CRED_SCAN_INTERVAL_MS, () => scan());
    const escalated = (task: TaskInfo): Credentials | undefined => {
      const before = seen.get(identity(task.address, task.startTime));
      return before && task.euid === 0 && before.euid !== 0 ? before : undefined;
    };
    const scan = async (): Promise<VmiEvent[]> => {
      const { tasks } = await readConfirmed(
        domain,
        kernel,
        () => listTasks(kernel),
        (list) => list.tasks.some((task) => escalated(task) !== undefined),
      );
      const events: VmiEvent[] = [];
      const alive = new Set<string>();
      for (const task of tasks) {
        const key = identity(task.address, task.startTime);
        alive.add(key);
        const before = escalated(task);
        seen.set(key, { uid: task.uid, gid: task.gid, euid: task.euid, egid: task.egid });
        if (!before) continue;
        events.push({
          type: 'cred.change',
          domain: domain.name,
          time: performance.now(),
          timestamp: new Date().toISOString(),
          process: processFields(kernel, task),
          user: {
            id: task.uid,
            group_id: task.gid,
            effective_id: task.euid,
            previous_id: before.uid,
            previous_effective_id: before.euid,
            setuid_exec: false,
          },
          details: { via: 'direct write (no commit_creds seen)' },
        });
      }
      for (const key of seen.keys()) if (!alive.has(key)) seen.delete(key);
      return events;
    };
    return merge(hooked, scanned);
  },
  judge: async ({ kernel, domain, timestamp }) =>
    forgedRootEvents(kernel, { domain, time: performance.now(), timestamp }),
};
