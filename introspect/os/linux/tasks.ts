// The kernel's process list: every thread-group leader on init_task.tasks, with ids, credentials,
// name, start time and address space, read through the kernel's types.
import type { LinuxKernel } from './linux-kernel.js';
import { DEFAULT_WALK_LIMIT, readListEntries, type WalkProblem } from './list-walk.js';
import { DisjointObjects, memoryCapacity } from './object-bounds.js';

/** include/linux/sched.h */
const PF_KTHREAD = 0x0020_0000n;
const TASK_COMM_LEN = 16;

export interface TaskInfo {
  /** Address of the task_struct. */
  address: bigint;
  pid: number;
  tgid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  comm: string;
  /** Nanoseconds since boot (task_struct.start_time, monotonic). */
  startTime: bigint;
  kernelThread: boolean;
  /** mm_struct address; 0 for kernel threads. */
  mm: bigint;
  /** Physical address of the process's top-level page table, when it has one. */
  pageTableRoot?: bigint;
}

export interface TaskList {
  tasks: TaskInfo[];
  /** Set when the walk stopped early (a corrupt or hostile list); the tasks before it are kept. */
  problem?: WalkProblem;
}

/** The task_struct fields readTask uses: only their span is read. */
const TASK_FIELDS = [
  'real_cred',
  'real_parent',
  'mm',
  'pid',
  'tgid',
  'comm',
  'start_time',
  'flags',
];

export function readTask(kernel: LinuxKernel, address: bigint): TaskInfo {
  const r = kernel.reader;
  const task = r.struct(address, 'task_struct', TASK_FIELDS);
  const cred = r.struct(task.u64('real_cred'), 'cred');
  const parent = task.u64('real_parent');
  const mm = task.u64('mm');
  const info: TaskInfo = {
    address,
    pid: Number(task.value('pid')),
    tgid: Number(task.value('tgid')),
    ppid: parent === 0n ? 0 : r.fieldNumber(parent, 'task_struct', 'tgid'),
    uid: cred.u32('uid.val'),
    gid: cred.u32('gid.val'),
    euid: cred.u32('euid.val'),
    egid: cred.u32('egid.val'),
    comm: task.cString('comm', TASK_COMM_LEN),
    startTime: task.value('start_time'),
    kernelThread: (task.value('flags') & PF_KTHREAD) !== 0n,
    mm,
  };
  if (mm !== 0n) {
    const pgd = r.u64(mm + r.offset('mm_struct', 'pgd'));
    if (pgd >= kernel.directMapBase) info.pageTableRoot = pgd - kernel.directMapBase;
  }
  return info;
}

/**
 * Walks init_task.tasks. A task that cannot be read ends the walk with a problem, not an exception;
 * so does a task overlapping another (a forged chain), and the walk holds no more tasks than RAM can.
 */
export function listTasks(kernel: LinuxKernel, limit = DEFAULT_WALK_LIMIT): TaskList {
  const r = kernel.reader;
  const initTask = kernel.symbols.address('init_task');
  if (initTask === undefined)
    return { tasks: [], problem: { address: 0n, message: 'no init_task symbol' } };
  const tasksOffset = r.offset('task_struct', 'tasks');
  const seen = DisjointObjects.of(r, 'task_struct');
  const { entries, problem } = readListEntries(
    r,
    initTask + tasksOffset,
    tasksOffset,
    'task',
    (address) => {
      seen.add(address);
      return readTask(kernel, address);
    },
    Math.min(limit, memoryCapacity(r, 'task_struct')),
  );
  return problem ? { tasks: entries, problem } : { tasks: entries };
}
