// Four independent views of the kernel's tasks, for a cross-view that finds a task unlinked from one
// of them (DKOM): the task list (with each group's threads), the PID namespace's ID tree, the pid
// structures' task links, and the run queues. Pure walks of guest memory, on a live guest or a
// snapshot alike; each is bounded and reports what it could not read instead of throwing.
import { GuestStructureError, isRingsideError, RingsideError } from '../../errors.js';
import { hex } from '../../memory/address.js';
import { walkHlist } from './hlist-walk.js';
import type { KernelReader } from './kernel-reader.js';
import type { LinuxKernel } from './linux-kernel.js';
import { walkList, type ListWalk, type WalkProblem } from './list-walk.js';
import { DisjointObjects, memoryCapacity } from './object-bounds.js';
import { perCpuAddresses } from './per-cpu.js';
import { walkRbTree } from './rbtree-walk.js';
import { walkXarray } from './xarray-walk.js';

export type TaskViewName = 'taskList' | 'idTree' | 'pidLinks' | 'runQueues';
export const TASK_VIEW_NAMES: readonly TaskViewName[] = [
  'taskList',
  'idTree',
  'pidLinks',
  'runQueues',
];

/** No view believes in more tasks than this (PID_MAX_LIMIT is 4M, but a real guest has far fewer). */
export const MAX_TASKS_PER_VIEW = 1 << 16;
/** Problems kept per view; the rest are counted. */
const MAX_PROBLEMS = 32;
/** MAX_RT_PRIO is 100: an rt_prio_array with more queues than this is corrupt types. */
const MAX_RT_QUEUES = 1024;
/** Task-group nesting is shallow; a deeper chain of group run queues is corrupt. */
const MAX_GROUP_DEPTH = 16;

/** enum pid_type (include/linux/pid.h). */
export const PID_TYPES = ['PID', 'TGID', 'PGID', 'SID'] as const;

export interface TaskView {
  name: TaskViewName;
  /** task_struct address → where this view found it ('pid 42', 'cpu 1 cfs', …). */
  tasks: Map<bigint, string>;
  /** What could not be read; the view holds what was found before and beside it. */
  problems: WalkProblem[];
}

export interface PidEntry {
  /** Address of the struct pid. */
  pid: bigint;
  /** Its index in the ID tree (plus the IDR's base: the number it is allocated under). */
  index: bigint;
  /** pid->numbers[level].nr: the number it carries in the namespace; undefined when unreadable. */
  number?: number;
}

export interface PidTree {
  pids: PidEntry[];
  problems: WalkProblem[];
}

/**
 * Collects a view's tasks up to its limit. Every walk also draws on a budget of nodes (four per
 * task the view may hold), so hostile lists that all repeat the same tasks cannot cost limit² reads.
 */
class ViewBuilder {
  readonly tasks = new Map<bigint, string>();
  readonly problems: WalkProblem[] = [];
  private readonly maxSteps: number;
  private steps = 0;
  private stopped = false;
  /** No more tasks than RAM can hold, and none overlapping another: hostile sleds stop at once. */
  readonly limit: number;
  private readonly disjoint: DisjointObjects;

  constructor(
    private readonly reader: KernelReader,
    readonly name: TaskViewName,
    limit: number,
  ) {
    this.limit = Math.min(limit, memoryCapacity(reader, 'task_struct'));
    this.maxSteps = 4 * this.limit;
    this.disjoint = DisjointObjects.of(reader, 'task_struct');
  }

  /** False once the view is full or refuses a forged task: the caller stops walking. */
  add(task: bigint, where: string): boolean {
    if (this.stopped) return false;
    if (this.tasks.has(task)) return true;
    if (this.tasks.size >= this.limit) {
      this.stop(task, `more than ${this.limit} tasks; stopped`);
      return false;
    }
    const other = this.disjoint.overlapping(task);
    if (other !== undefined) {
      this.stop(
        task,
        `${where}: task ${hex(task)} overlaps task ${hex(other)}: a forged list; stopped`,
      );
      return false;
    }
    this.disjoint.add(task);
    this.tasks.set(task, where);
    return true;
  }

  get full(): boolean {
    return this.stopped;
  }

  /**
   * Runs one bounded walk within the budget and returns its nodes, less a last node that could not
   * be read (a wild pointer is no entry); the walk's problem is recorded under `context`.
   */
  walk(context: string, run: (limit: number) => ListWalk): bigint[] {
    if (this.stopped) return [];
    const limit = this.maxSteps - this.steps;
    if (limit <= 0) {
      this.stop(0n, `more than ${this.maxSteps} list and tree nodes walked; stopped`);
      return [];
    }
    const walk = run(limit);
    this.steps += walk.nodes.length;
    if (!walk.problem) return walk.nodes;
    this.problem(walk.problem.address, `${context}: ${walk.problem.message}`);
    const last = walk.nodes.at(-1);
    return last !== undefined && !this.readable(last) ? walk.nodes.slice(0, -1) : walk.nodes;
  }

  private readable(address: bigint): boolean {
    try {
      this.reader.u64(address);
      return true;
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return false;
    }
  }

  private dropped = 0;

  /** Records a problem; past MAX_PROBLEMS they are only counted (a hostile guest can make millions). */
  problem(address: bigint, message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ address, message });
    else this.dropped++;
  }

  private stop(address: bigint, message: string): void {
    if (!this.stopped) this.problem(address, message);
    this.stopped = true;
  }

  /** Runs a part of the walk; a read failure inside it becomes a problem naming `what`. */
  guard(what: string, address: bigint, body: () => void): void {
    try {
      body();
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      this.problem(address, `${what} at ${hex(address)} unreadable: ${error.message}`);
    }
  }

  view(): TaskView {
    if (this.dropped > 0)
      this.problems.push({ address: 0n, message: `and ${this.dropped} more problems` });
    return { name: this.name, tasks: this.tasks, problems: this.problems };
  }
}

/**
 * An array field's count and element size, checked: the types come from guest memory, and a loop
 * over a hostile count of 2^32 would never end. The array must fit in its struct and hold at most `max`.
 */
function arrayOf(reader: KernelReader, struct: string, field: string, max = 1 << 16) {
  const location = reader.field(struct, field);
  const type = reader.types.get(reader.types.resolve(location.type));
  if (type.kind !== 'array')
    throw new RingsideError('UNSUPPORTED', `the kernel's ${struct}.${field} is not an array`);
  const elementSize = reader.types.sizeOf(type.element);
  const id = reader.types.findStruct(struct);
  const structSize = id === undefined ? 0 : reader.types.sizeOf(id);
  if (type.count > max || location.offset + type.count * elementSize > structSize)
    throw new GuestStructureError(
      `the kernel's ${struct}.${field} has ${type.count} elements of ${elementSize} bytes: more than ${max} or past the struct (${structSize} bytes): corrupt types`,
    );
  return { count: type.count, elementSize };
}

const arrayElementSize = (reader: KernelReader, struct: string, field: string): number =>
  arrayOf(reader, struct, field).elementSize;

/** Offset in task_struct of pid_links[type]. */
function pidLinkOffset(reader: KernelReader, type: number): bigint {
  return (
    reader.offset('task_struct', 'pid_links') +
    BigInt(type * arrayElementSize(reader, 'task_struct', 'pid_links'))
  );
}

/** View 1: init_task.tasks (thread-group leaders), and each leader's threads on signal->thread_head. */
export function taskListView(kernel: LinuxKernel, limit = MAX_TASKS_PER_VIEW): TaskView {
  const r = kernel.reader;
  const view = new ViewBuilder(kernel.reader, 'taskList', limit);
  const initTask = kernel.symbols.address('init_task');
  if (initTask === undefined) {
    view.problem(0n, 'no init_task symbol');
    return view.view();
  }
  const tasksOffset = r.offset('task_struct', 'tasks');
  const leaders = view.walk('task list', (steps) =>
    walkList(r, initTask + tasksOffset, Math.min(steps, view.limit)),
  );
  const threadHead = r.hasField('signal_struct', 'thread_head');
  const member = r.offset('task_struct', threadHead ? 'thread_node' : 'thread_group');
  for (const node of leaders) {
    const leader = node - tasksOffset;
    if (!view.add(leader, 'tasks')) break;
    view.guard('thread group of the task', leader, () => {
      // Up to 6.6 the threads are also on the leader's thread_group; thread_head is on 3.14 and later.
      const head = threadHead
        ? r.u64(leader + r.offset('task_struct', 'signal')) +
          r.offset('signal_struct', 'thread_head')
        : leader + r.offset('task_struct', 'thread_group');
      for (const thread of view.walk(`threads of ${hex(leader)}`, (steps) =>
        walkList(r, head, steps),
      ))
        if (!view.add(thread - member, `thread of ${hex(leader)}`)) return;
    });
    if (view.full) break;
  }
  return view.view();
}

/** The struct pids in init_pid_ns's ID tree (init_pid_ns.idr), with the numbers they carry. */
export function readPidTree(kernel: LinuxKernel, limit = MAX_TASKS_PER_VIEW): PidTree {
  const r = kernel.reader;
  const namespace = kernel.symbols.address('init_pid_ns');
  if (namespace === undefined)
    return { pids: [], problems: [{ address: 0n, message: 'no init_pid_ns symbol' }] };
  const idr = namespace + r.offset('pid_namespace', 'idr');
  const walk = walkXarray(r, idr + r.offset('idr', 'idr_rt'), { entries: limit });
  const problems = [...walk.problems];
  const pids: PidEntry[] = [];
  let base = 0n;
  let level = 0;
  try {
    base = r.fieldValue(idr, 'idr', 'idr_base');
    level = r.fieldNumber(namespace, 'pid_namespace', 'level');
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problems.push({ address: idr, message: `unreadable init_pid_ns: ${error.message}` });
  }
  const upidSize = BigInt(r.types.sizeOf(r.types.findStruct('upid') ?? 0));
  const numberOffset =
    r.offset('pid', 'numbers') + BigInt(level) * upidSize + r.offset('upid', 'nr');
  for (const { index, entry } of walk.entries) {
    if ((entry & 1n) !== 0n) {
      problems.push({
        address: entry,
        message: `ID ${index + base} holds the value entry ${hex(entry)}, not a struct pid`,
      });
      continue;
    }
    const pid: PidEntry = { pid: entry, index: index + base };
    try {
      pid.number = r.i32(entry + numberOffset);
      if (BigInt(pid.number) !== pid.index)
        problems.push({
          address: entry,
          message: `struct pid ${hex(entry)} under ID ${pid.index} carries the number ${pid.number}`,
        });
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      problems.push({
        address: entry,
        message: `struct pid ${hex(entry)} (ID ${pid.index}) unreadable: ${error.message}`,
      });
    }
    pids.push(pid);
  }
  return { pids, problems };
}

/** Adds the tasks on pid->tasks[type] to the view; false once the view is full. */
function addPidTasks(
  r: KernelReader,
  view: ViewBuilder,
  pid: PidEntry,
  type: number,
  where: string,
): boolean {
  const head =
    pid.pid + r.offset('pid', 'tasks') + BigInt(type * arrayElementSize(r, 'pid', 'tasks'));
  const link = pidLinkOffset(r, type);
  const context = `tasks[${PID_TYPES[type]}] of struct pid ${hex(pid.pid)} (ID ${pid.index})`;
  for (const node of view.walk(context, (steps) => walkHlist(r, head, steps)))
    if (!view.add(node - link, where)) return false;
  return !view.full;
}

/** View 2: each struct pid in the ID tree → the task on its pid->tasks[PIDTYPE_PID] (via pid_links[PID]). */
export function idTreeView(
  kernel: LinuxKernel,
  tree = readPidTree(kernel),
  limit = MAX_TASKS_PER_VIEW,
): TaskView {
  const view = new ViewBuilder(kernel.reader, 'idTree', limit);
  view.problems.push(...tree.problems);
  for (const pid of tree.pids)
    if (!addPidTasks(kernel.reader, view, pid, 0, `pid ${pid.number ?? pid.index}`)) break;
  return view.view();
}

/**
 * View 3: every task on any of each struct pid's four lists (PID, TGID, PGID, SID, chained through
 * task_struct.pid_links): a task still reachable as a member of a process group or session, say,
 * after its own pid was unhashed.
 */
export function pidLinksView(
  kernel: LinuxKernel,
  tree = readPidTree(kernel),
  limit = MAX_TASKS_PER_VIEW,
): TaskView {
  const view = new ViewBuilder(kernel.reader, 'pidLinks', limit);
  view.problems.push(...tree.problems);
  const types = Math.min(PID_TYPES.length, arrayOf(kernel.reader, 'pid', 'tasks').count);
  for (const pid of tree.pids) {
    for (let type = 0; type < types; type++) {
      const where = `${PID_TYPES[type]!.toLowerCase()} ${pid.number ?? pid.index}`;
      if (!addPidTasks(kernel.reader, view, pid, type, where)) return view.view();
    }
  }
  return view.view();
}

/**
 * View 4: on each CPU's run queue (per-CPU `runqueues`), the running task (unless it is the idle
 * task), the CFS tree (descending into group run queues), the RT priority lists and the deadline tree.
 */
export function runQueueView(kernel: LinuxKernel, limit = MAX_TASKS_PER_VIEW): TaskView {
  const r = kernel.reader;
  const view = new ViewBuilder(kernel.reader, 'runQueues', limit);
  const { addresses, problem } = perCpuAddresses(kernel, 'runqueues');
  if (problem) view.problems.push(problem);
  const seOffset = r.offset('task_struct', 'se');
  const runNode = r.offset('sched_entity', 'run_node');
  const groupQueue = r.hasField('sched_entity', 'my_q')
    ? r.offset('sched_entity', 'my_q')
    : undefined;
  const rootInCached = r.offset('rb_root_cached', 'rb_root');
  const timeline = r.offset('cfs_rq', 'tasks_timeline') + rootInCached;

  const seenRunQueues = new Set<bigint>();
  addresses.forEach((rq, cpu) => {
    // CPUs past the possible ones share the boot offset: one run queue, walked once.
    if (seenRunQueues.has(rq) || view.full) return;
    seenRunQueues.add(rq);
    const seenQueues = new Set<bigint>();
    view.guard(`run queue of cpu ${cpu}`, rq, () => {
      const curr = r.u64(rq + r.offset('rq', 'curr'));
      const idle = r.u64(rq + r.offset('rq', 'idle'));
      if (curr !== 0n && curr !== idle) view.add(curr, `cpu ${cpu} curr`);

      // CFS: sched entities on the timeline are tasks, or groups with their own cfs_rq (my_q).
      const pendingQueues = [{ cfsRq: rq + r.offset('rq', 'cfs'), depth: 0 }];
      while (pendingQueues.length > 0) {
        const { cfsRq, depth } = pendingQueues.pop()!;
        if (seenQueues.has(cfsRq)) {
          view.problem(cfsRq, `cpu ${cpu}: cfs_rq ${hex(cfsRq)} is reached twice`);
          continue;
        }
        seenQueues.add(cfsRq);
        const tree = view.walk(`cpu ${cpu} cfs`, (steps) => walkRbTree(r, cfsRq + timeline, steps));
        for (const node of tree) {
          const entity = node - runNode;
          const group = groupQueue !== undefined ? r.u64(entity + groupQueue) : 0n;
          if (group === 0n) {
            if (!view.add(entity - seOffset, `cpu ${cpu} cfs`)) return;
          } else if (depth + 1 >= MAX_GROUP_DEPTH) {
            view.problem(
              entity,
              `cpu ${cpu}: group run queues nested more than ${MAX_GROUP_DEPTH} deep`,
            );
          } else {
            pendingQueues.push({ cfsRq: group, depth: depth + 1 });
          }
        }
      }

      // RT: one list per priority (no RT group scheduling on distribution kernels; followed if there).
      const rtNode = r.offset('sched_rt_entity', 'run_list');
      const rtGroup = r.hasField('sched_rt_entity', 'my_q')
        ? r.offset('sched_rt_entity', 'my_q')
        : undefined;
      const queues = r.offset('rt_rq', 'active') + r.offset('rt_prio_array', 'queue');
      const priorities = arrayOf(r, 'rt_prio_array', 'queue', MAX_RT_QUEUES);
      const count = priorities.count;
      const listSize = BigInt(priorities.elementSize);
      const pendingRt = [{ rtRq: rq + r.offset('rq', 'rt'), depth: 0 }];
      while (pendingRt.length > 0) {
        const { rtRq, depth } = pendingRt.pop()!;
        if (seenQueues.has(rtRq)) {
          view.problem(rtRq, `cpu ${cpu}: rt_rq ${hex(rtRq)} is reached twice`);
          continue;
        }
        seenQueues.add(rtRq);
        for (let priority = 0; priority < count && !view.full; priority++) {
          const head = rtRq + queues + BigInt(priority) * listSize;
          const list = view.walk(`cpu ${cpu} rt[${priority}]`, (steps) => walkList(r, head, steps));
          for (const node of list) {
            const entity = node - rtNode;
            const group = rtGroup !== undefined ? r.u64(entity + rtGroup) : 0n;
            if (group === 0n) {
              if (!view.add(entity - r.offset('task_struct', 'rt'), `cpu ${cpu} rt`)) return;
            } else if (depth + 1 >= MAX_GROUP_DEPTH) {
              view.problem(
                entity,
                `cpu ${cpu}: RT group run queues nested more than ${MAX_GROUP_DEPTH} deep`,
              );
            } else {
              pendingRt.push({ rtRq: group, depth: depth + 1 });
            }
          }
        }
      }

      // Deadline: one tree of sched_dl_entity.rb_node.
      const dlRoot = rq + r.offset('rq', 'dl') + r.offset('dl_rq', 'root') + rootInCached;
      const dlTree = view.walk(`cpu ${cpu} dl`, (steps) => walkRbTree(r, dlRoot, steps));
      const dlNode = r.offset('sched_dl_entity', 'rb_node') + r.offset('task_struct', 'dl');
      for (const node of dlTree) if (!view.add(node - dlNode, `cpu ${cpu} dl`)) return;
    });
  });
  return view.view();
}
