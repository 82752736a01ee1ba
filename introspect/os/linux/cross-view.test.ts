import { crossView } from './cross-view.js';
import { idTreeView, pidLinksView, runQueueView, taskListView } from './task-views.js';
import { FakeLinux } from './test-support/fake-linux.js';

/** A small guest: init, a two-threaded daemon, a shell and a job in the shell's process group. */
function guest() {
  const linux = new FakeLinux();
  const [init] = linux.process(1, 'init');
  const [daemon, thread1, thread2] = linux.process(40, 'daemon', [41, 42]);
  const [shell] = linux.process(70, 'sh');
  const [job] = linux.process(71, 'job', [], shell);
  return {
    linux,
    init: init!,
    daemon: daemon!,
    thread1: thread1!,
    thread2: thread2!,
    shell: shell!,
    job: job!,
  };
}

const pidsOf = (view: { tasks: Map<bigint, string> }, linux: FakeLinux) =>
  [...view.tasks.keys()]
    .map((task) => linux.bytes[Number(task) + 8]! | (linux.bytes[Number(task) + 9]! << 8))
    .sort((a, b) => a - b);

describe('the task views on a consistent kernel', () => {
  it('each view sees every task, threads included, and nothing is hidden', () => {
    const { linux } = guest();
    const kernel = linux.kernel();
    expect(pidsOf(taskListView(kernel), linux)).toEqual([1, 40, 41, 42, 70, 71]);
    expect(pidsOf(idTreeView(kernel), linux)).toEqual([1, 40, 41, 42, 70, 71]);
    expect(pidsOf(pidLinksView(kernel), linux)).toEqual([1, 40, 41, 42, 70, 71]);
    const view = crossView(kernel);
    expect(view.hidden).toEqual([]);
    expect(view.tasks.map((row) => [row.pid, row.tgid, row.comm])).toEqual([
      [1, 1, 'init'],
      [40, 40, 'daemon'],
      [41, 40, 'daemon'],
      [42, 40, 'daemon'],
      [70, 70, 'sh'],
      [71, 71, 'job'],
    ]);
    for (const name of ['taskList', 'idTree', 'pidLinks', 'runQueues'] as const)
      expect(view.views[name]).toMatchObject({ complete: true, problems: [] });
    expect(view.views.taskList.count).toBe(6);
    expect(view.views.runQueues.count).toBe(0);
  });

  it('the run queues give the running tasks, the CFS tree (through group queues), RT lists and DL tree, never the idle task', () => {
    const { linux, init, daemon, thread1, thread2, shell, job } = guest();
    linux.setCurrent(0, init.task);
    linux.queueCfs(0, [daemon.task, thread1.task, thread2.task]);
    linux.queueCfs(1, [shell.task], true);
    linux.queueRt(1, 50, job.task);
    linux.queueDl(0, thread2.task);
    const view = runQueueView(linux.kernel());
    expect(view.problems).toEqual([]);
    expect(
      Object.fromEntries([...view.tasks].map(([task, where]) => [task.toString(16), where])),
    ).toEqual({
      [init.task.toString(16)]: 'cpu 0 curr',
      [daemon.task.toString(16)]: 'cpu 0 cfs',
      [thread1.task.toString(16)]: 'cpu 0 cfs',
      [thread2.task.toString(16)]: 'cpu 0 cfs',
      [shell.task.toString(16)]: 'cpu 1 cfs',
      [job.task.toString(16)]: 'cpu 1 rt',
    });
  });
});

describe('hidden tasks', () => {
  it('a process unlinked from the task list is hidden, seen by the ID tree and the pid links', () => {
    const { linux, job } = guest();
    linux.unlinkFromTaskList(job.task);
    const view = crossView(linux.kernel());
    expect(view.hidden).toEqual([
      expect.objectContaining({
        address: job.task,
        pid: 71,
        comm: 'job',
        hidden: true,
        views: { taskList: false, idTree: true, pidLinks: true, runQueues: false },
        // The pid links first meet it on its process group's list (the shell's pid comes first).
        where: { idTree: 'pid 71', pidLinks: 'pgid 70' },
      }),
    ]);
    expect(view.views.taskList.complete).toBe(true);
  });

  it('unlinking a leader hides its threads with it', () => {
    const { linux, daemon } = guest();
    linux.unlinkFromTaskList(daemon.task);
    expect(crossView(linux.kernel()).hidden.map((row) => row.pid)).toEqual([40, 41, 42]);
  });

  it('a process also dropped from its own pid is still found through its process group', () => {
    const { linux, job } = guest();
    linux.unlinkFromTaskList(job.task);
    linux.hlistDel(linux.pidLink(job.task, 0));
    linux.hlistDel(linux.pidLink(job.task, 1));
    const [row] = crossView(linux.kernel()).hidden;
    expect(row).toMatchObject({
      pid: 71,
      views: { taskList: false, idTree: false, pidLinks: true, runQueues: false },
      where: { pidLinks: 'pgid 70' },
    });
  });

  it('a task that only a run queue still knows of is hidden', () => {
    const linux = new FakeLinux();
    linux.process(1, 'init');
    const ghost = linux.task(666, 'ghost');
    linux.queueCfs(1, [ghost]);
    expect(crossView(linux.kernel()).hidden).toEqual([
      expect.objectContaining({
        address: ghost,
        pid: 666,
        comm: 'ghost',
        where: { runQueues: 'cpu 1 cfs' },
      }),
    ]);
  });

  it('a task already released (EXIT_DEAD) and still running is not called hidden', () => {
    const linux = new FakeLinux();
    const dying = linux.task(90, 'dying');
    linux.set32(dying + 0x10n, 0x10); // exit_state = EXIT_DEAD
    linux.setCurrent(0, dying);
    const view = crossView(linux.kernel());
    expect(view.hidden).toEqual([]);
    expect(view.tasks).toEqual([
      expect.objectContaining({ pid: 90, exiting: true, hidden: false }),
    ]);
  });
});

describe('hostile memory', () => {
  it('a wild task-list pointer makes the task list partial, the other views still answer, and nothing throws', () => {
    const { linux, shell } = guest();
    linux.set64(shell.task + 0x40n, 0xdead_0000_0000n); // shell's tasks.next
    const view = crossView(linux.kernel());
    expect(view.views.taskList.complete).toBe(false);
    expect(view.views.taskList.problems[0]!.message).toMatch(/0xdead00000000/);
    expect(view.views.idTree).toMatchObject({ complete: true, count: 6 });
    // The job after the break is reported, with the task list's incompleteness beside it.
    expect(view.hidden.map((row) => row.pid)).toEqual([71]);
  });

  it('a cyclic task list and a cyclic thread list end with problems, not loops', () => {
    const { linux, daemon, thread1, shell } = guest();
    linux.set64(shell.task + 0x40n, daemon.task + 0x40n); // tasks loops back
    linux.set64(thread1.task + 0x50n, daemon.task + 0x50n); // thread_node loops back
    const view = taskListView(linux.kernel());
    expect(view.problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/loops back/),
      expect.stringMatching(/threads of .*loops back/),
    ]);
  });

  it('a cycle in a pid hlist, a wild struct pid and an unreadable thread group are each one problem', () => {
    const { linux, init, daemon, shell } = guest();
    linux.set64(linux.pidLink(shell.task, 0), linux.pidLink(shell.task, 0)); // next points to itself
    linux.ids.set(500, 0xbad0_0000_0000n);
    linux.set64(init.task + 0xa0n, 0xbad0_0000_1000n); // init's signal pointer
    const kernel = linux.kernel();
    const ids = idTreeView(kernel);
    expect(ids.problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/struct pid 0xbad000000000 \(ID 500\) unreadable/),
      expect.stringMatching(/tasks\[PID\] of struct pid .* \(ID 70\): the hlist loops back/),
      expect.stringMatching(/tasks\[PID\] of struct pid 0xbad000000000 .*unreadable/),
    ]);
    expect(pidsOf(ids, linux)).toEqual([1, 40, 41, 42, 70, 71]);
    const list = taskListView(kernel);
    expect(list.problems[0]!.message).toMatch(/threads of 0x[0-9a-f]+: unreadable list pointer/);
    expect(pidsOf(list, linux)).toContain(daemon.number);
  });

  it('a CFS tree with a cycle, an RT list pointing nowhere and a self-referencing group queue are bounded', () => {
    const { linux, daemon, thread1, shell } = guest();
    linux.queueCfs(0, [daemon.task, thread1.task]);
    linux.set64(linux.runNode(thread1.task) + 16n, linux.runNode(daemon.task)); // rb_left back to the root
    linux.set64(linux.rtQueue(1, 3), 0xdead_0000_0000n);
    linux.queueCfs(1, [shell.task], true);
    const group = linux.get64(linux.cfsTimeline(linux.runQueue(1) + 0x100n)) - 0x10n;
    linux.set64(group + 0x40n, linux.runQueue(1) + 0x100n); // the group's queue is the top queue
    const view = runQueueView(linux.kernel());
    expect(view.problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/cpu 0 cfs: the tree reaches .* twice/),
      expect.stringMatching(/cpu 1: cfs_rq .* is reached twice/),
      expect.stringMatching(/cpu 1 rt\[3\]: unreadable list pointer/),
    ]);
    expect([...view.tasks.values()]).toEqual(['cpu 0 cfs', 'cpu 0 cfs']);
  });

  it('an absurd nr_cpu_ids is refused, not believed', () => {
    const { linux } = guest();
    linux.set32(linux.symbols.get('nr_cpu_ids')!, 1 << 30);
    const view = crossView(linux.kernel());
    expect(view.views.runQueues.problems[0]!.message).toMatch(/nr_cpu_ids is 1073741824/);
    expect(view.views.idTree.count).toBe(6);
  });

  it('no view holds more tasks than its limit', () => {
    const linux = new FakeLinux(1, 8 << 20);
    for (let pid = 1; pid <= 300; pid++) linux.process(pid, 'many');
    const view = crossView(linux.kernel(), { limit: 100 });
    for (const name of ['taskList', 'idTree', 'pidLinks'] as const) {
      expect(view.views[name].count).toBe(100);
      expect(view.views[name].problems.at(-1)!.message).toMatch(/more than 100/);
    }
  });

  it('a kernel without the run-queue types gives that view a problem, not an exception', () => {
    const { linux } = guest();
    linux.symbols.delete('runqueues');
    const view = crossView(linux.kernel());
    expect(view.views.runQueues.problems[0]!.message).toMatch(/no per-CPU symbol runqueues/);
    expect(view.hidden).toEqual([]);
  });
});
