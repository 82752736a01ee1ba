// The hidden-process cross-view: every task found by any of the four task views, which views have it,
// and those found elsewhere but missing from the task list (a task unlinked from it, DKOM).
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';
import {
  idTreeView,
  MAX_TASKS_PER_VIEW,
  pidLinksView,
  readPidTree,
  runQueueView,
  TASK_VIEW_NAMES,
  taskListView,
  type TaskView,
  type TaskViewName,
} from './task-views.js';

/** include/linux/sched.h */
const PF_KTHREAD = 0x0020_0000n;
const EXIT_DEAD = 0x10n;
const TASK_DEAD = 0x80n;
const TASK_COMM_LEN = 16;

export interface CrossViewTask {
  /** Address of the task_struct. */
  address: bigint;
  /** From the task itself; undefined when it could not be read (then `unreadable` says why). */
  pid?: number;
  tgid?: number;
  comm?: string;
  kernelThread?: boolean;
  /**
   * Already released (EXIT_DEAD or TASK_DEAD): such a task leaves the lists before it last runs, so
   * it is not called hidden when a run queue still holds it.
   */
  exiting: boolean;
  /** Which views have it, and where each found it. */
  views: Record<TaskViewName, boolean>;
  where: Partial<Record<TaskViewName, string>>;
  /** Seen by the ID tree, the pid links or a run queue, but not on the task list. */
  hidden: boolean;
  unreadable?: string;
}

export interface ViewSummary {
  count: number;
  /** False when the view stopped somewhere (its problems say where): it may miss tasks. */
  complete: boolean;
  problems: WalkProblem[];
}

export interface CrossView {
  /** Every task seen, by pid (unreadable ones last). */
  tasks: CrossViewTask[];
  hidden: CrossViewTask[];
  views: Record<TaskViewName, ViewSummary>;
}

export interface CrossViewOptions {
  /** Tasks per view (default 1 << 16). */
  limit?: number;
}

function readIdentity(kernel: LinuxKernel, row: CrossViewTask): void {
  const r = kernel.reader;
  try {
    row.pid = r.fieldNumber(row.address, 'task_struct', 'pid');
    row.tgid = r.fieldNumber(row.address, 'task_struct', 'tgid');
    row.comm = r.cString(row.address + r.offset('task_struct', 'comm'), TASK_COMM_LEN);
    row.kernelThread = (r.fieldValue(row.address, 'task_struct', 'flags') & PF_KTHREAD) !== 0n;
    const state = r.hasField('task_struct', '__state') ? '__state' : 'state';
    row.exiting =
      (r.fieldValue(row.address, 'task_struct', 'exit_state') & EXIT_DEAD) !== 0n ||
      (r.fieldValue(row.address, 'task_struct', state) & TASK_DEAD) !== 0n;
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    row.unreadable = error.message;
  }
}

/** One view, or an empty one with a problem when the kernel lacks what it walks. */
function safely(name: TaskViewName, read: () => TaskView): TaskView {
  try {
    return read();
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return {
      name,
      tasks: new Map(),
      problems: [{ address: 0n, message: `${name} view not read: ${error.message}` }],
    };
  }
}

export function crossView(kernel: LinuxKernel, options: CrossViewOptions = {}): CrossView {
  const limit = options.limit ?? MAX_TASKS_PER_VIEW;
  let tree: ReturnType<typeof readPidTree> | undefined;
  const pidTree = () => (tree ??= readPidTree(kernel, limit));
  const views = [
    safely('taskList', () => taskListView(kernel, limit)),
    safely('idTree', () => idTreeView(kernel, pidTree(), limit)),
    safely('pidLinks', () => pidLinksView(kernel, pidTree(), limit)),
    safely('runQueues', () => runQueueView(kernel, limit)),
  ];

  const rows = new Map<bigint, CrossViewTask>();
  for (const view of views) {
    for (const [address, where] of view.tasks) {
      let row = rows.get(address);
      if (!row) {
        row = {
          address,
          exiting: false,
          views: { taskList: false, idTree: false, pidLinks: false, runQueues: false },
          where: {},
          hidden: false,
        };
        rows.set(address, row);
      }
      row.views[view.name] = true;
      row.where[view.name] = where;
    }
  }
  for (const row of rows.values()) {
    readIdentity(kernel, row);
    row.hidden =
      !row.views.taskList &&
      (row.views.idTree || row.views.pidLinks || row.views.runQueues) &&
      !row.exiting;
  }
  const tasks = [...rows.values()].sort(
    (a, b) =>
      (a.pid ?? Infinity) - (b.pid ?? Infinity) ||
      (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
  );
  const summaries = Object.fromEntries(
    TASK_VIEW_NAMES.map((name) => {
      const view = views.find((candidate) => candidate.name === name)!;
      return [
        name,
        { count: view.tasks.size, complete: view.problems.length === 0, problems: view.problems },
      ];
    }),
  ) as Record<TaskViewName, ViewSummary>;
  return { tasks, hidden: tasks.filter((row) => row.hidden), views: summaries };
}
