// process.anomaly events for a container escape: a user process handed init's namespaces or
// credentials, as a kernel exploit's payload does (switch_task_namespaces(current, &init_nsproxy),
// commit_creds(&init_cred)). Every process outside containers shares init_nsproxy, so that alone
// proves nothing: it is an escape when the process sits in a PID namespace below init's, or when
// its mount namespace is init's while its parent's is not (no fork or unshare leads back up there).
// init_cred itself belongs to the idle tasks; a user process holding it got it by a kernel write.
import { isRingsideError } from '../../introspect/errors.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks, type TaskInfo } from '../../introspect/os/linux/tasks.js';
import { processFields, userFields } from '../guest-context.js';
import {
  processKey,
  scanningDetector,
  type EventBase,
  type ScanFinding,
  type ScanOptions,
} from '../process-scan.js';
import type { DetectorPlugin } from '../types.js';

const TASK_COMM_LEN = 16;

interface Namespaces {
  nsproxy: bigint;
  mnt: bigint | undefined;
}

/** What makes a process look escaped, or undefined when nothing does. */
export interface EscapeEvidence {
  nsproxy?: 'init_nsproxy' | 'init_mnt_ns';
  cred?: 'init_cred';
  pidNamespaceLevel?: number;
  parent?: { pid: number; name: string; nsproxy: bigint };
}

export function namespaceEscapes(kernel: LinuxKernel, base: EventBase): ScanFinding[] {
  const r = kernel.reader;
  const initNsproxy = kernel.symbols.address('init_nsproxy');
  const initCred = kernel.symbols.address('init_cred');
  if (initNsproxy === undefined) return [];
  const mntOf = (nsproxy: bigint): bigint | undefined => {
    if (nsproxy === 0n) return undefined;
    try {
      return r.u64(nsproxy + r.offset('nsproxy', 'mnt_ns'));
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return undefined;
    }
  };
  const initMnt = mntOf(initNsproxy);
  const namespaces = (task: bigint): Namespaces => {
    const nsproxy = r.u64(task + r.offset('task_struct', 'nsproxy'));
    return { nsproxy, mnt: mntOf(nsproxy) };
  };
  const pidLevel = (task: bigint): number | undefined => {
    if (!r.hasField('task_struct', 'thread_pid')) return undefined;
    const pid = r.u64(task + r.offset('task_struct', 'thread_pid'));
    return pid === 0n ? undefined : r.fieldNumber(pid, 'pid', 'level');
  };
  const findings: ScanFinding[] = [];
  for (const task of listTasks(kernel).tasks) {
    if (task.kernelThread || task.mm === 0n) continue;
    let evidence: EscapeEvidence | undefined;
    try {
      evidence = escapeEvidence(kernel, task, {
        initNsproxy,
        initCred,
        initMnt,
        namespaces,
        pidLevel,
      });
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      continue;
    }
    if (!evidence) continue;
    const what = [
      evidence.nsproxy === 'init_nsproxy'
        ? "init's namespaces (init_nsproxy)"
        : evidence.nsproxy
          ? "init's mount namespace"
          : undefined,
      evidence.cred ? "init's credentials (init_cred)" : undefined,
    ].filter(Boolean);
    const where =
      evidence.pidNamespaceLevel !== undefined && evidence.pidNamespaceLevel > 0
        ? ` from a PID namespace at level ${evidence.pidNamespaceLevel}`
        : evidence.parent
          ? `, while its parent ${evidence.parent.name} (pid ${evidence.parent.pid}) has not`
          : '';
    findings.push({
      key: `${processKey(task)}:${evidence.nsproxy ?? ''}:${evidence.cred ?? ''}`,
      event: {
        type: 'process.anomaly',
        ...base,
        process: processFields(kernel, task),
        user: userFields(task),
        details: {
          technique: 'namespace_escape',
          message: `${task.comm} (pid ${task.tgid}) holds ${what.join(' and ')}${where}`,
          ...(evidence.nsproxy ? { nsproxy: evidence.nsproxy } : {}),
          ...(evidence.cred ? { cred: evidence.cred } : {}),
          ...(evidence.pidNamespaceLevel !== undefined
            ? { pid_namespace_level: evidence.pidNamespaceLevel }
            : {}),
          ...(evidence.parent
            ? { parent_nsproxy: evidence.parent.nsproxy, parent_pid: evidence.parent.pid }
            : {}),
        },
      },
    });
  }
  return findings;
}

interface EscapeContext {
  initNsproxy: bigint;
  initCred: bigint | undefined;
  initMnt: bigint | undefined;
  namespaces: (task: bigint) => Namespaces;
  pidLevel: (task: bigint) => number | undefined;
}

/** The rule, for one user process (see the top of the file). */
export function escapeEvidence(
  kernel: LinuxKernel,
  task: TaskInfo,
  context: EscapeContext,
): EscapeEvidence | undefined {
  const r = kernel.reader;
  const own = context.namespaces(task.address);
  const level = context.pidLevel(task.address);
  const parentTask = r.u64(task.address + r.offset('task_struct', 'real_parent'));
  const parent = parentTask !== 0n ? context.namespaces(parentTask) : undefined;
  // The parent's namespaces only count when it has some (a dead parent has none) and they differ.
  const parentOutside =
    parent !== undefined &&
    parent.nsproxy !== 0n &&
    parent.mnt !== undefined &&
    context.initMnt !== undefined &&
    parent.mnt !== context.initMnt;
  const evidence: EscapeEvidence = {};
  if (own.nsproxy === context.initNsproxy && ((level ?? 0) > 0 || parentOutside))
    evidence.nsproxy = 'init_nsproxy';
  else if (own.mnt !== undefined && own.mnt === context.initMnt && parentOutside)
    evidence.nsproxy = 'init_mnt_ns';
  if (context.initCred !== undefined) {
    const cred = r.u64(task.address + r.offset('task_struct', 'cred'));
    const realCred = r.u64(task.address + r.offset('task_struct', 'real_cred'));
    if (cred === context.initCred || realCred === context.initCred) evidence.cred = 'init_cred';
  }
  if (!evidence.nsproxy && !evidence.cred) return undefined;
  if (level !== undefined) evidence.pidNamespaceLevel = level;
  if (parentOutside && parent)
    evidence.parent = {
      pid: r.fieldNumber(parentTask, 'task_struct', 'tgid'),
      name: r.cString(parentTask + r.offset('task_struct', 'comm'), TASK_COMM_LEN),
      nsproxy: parent.nsproxy,
    };
  return evidence;
}

export const createNamespaceEscape = (options: ScanOptions = {}): DetectorPlugin =>
  scanningDetector(
    {
      id: 'namespace-escape',
      version: '1.0.0',
      description:
        "User processes holding init's namespaces (from a container) or init's credentials",
      architectures: ['x86_64', 'aarch64'],
      symbols: ['init_task', 'init_nsproxy'],
      capabilities: { live: [true] },
      emits: ['process.anomaly'],
    },
    namespaceEscapes,
    options,
  );

export const namespaceEscape = createNamespaceEscape();
