// Unit tests of the hidden-process detector on a fake guest: a task unlinked from the task list is
// reported after two checks in a row (on a virtual clock), once; a snapshot reports every hidden one.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest } from '../test-support/fake-guest.js';
import { createHiddenProcess, hiddenProcess } from './index.js';

const TASKS_OFFSET = (linux: FakeLinux): bigint =>
  linux.kernel().reader.offset('task_struct', 'tasks');

function world() {
  const linux = new FakeLinux();
  linux.process(1, 'init');
  const [job] = linux.process(70, 'cryptominer');
  return { linux, job: job!.task };
}

/** The detector on a virtual clock; `tick` lets one check run and settle. */
function started(linux: FakeLinux) {
  const guest = fakeGuest(linux);
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const collected = collect(createHiddenProcess({ intervalMs: 10, scheduler }).start(guest));
  const tick = async (): Promise<void> => {
    scheduler.maxFrames += 10;
    scheduler.flush();
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { guest, tick, ...collected };
}

describe('hidden-process, live', () => {
  it('reports a task unlinked from the task list once it was hidden in two checks in a row, and once only', async () => {
    const { linux, job } = world();
    const { guest, tick, events, errors } = started(linux);
    await tick();
    expect(guest.domain.pauses).toBe(0);
    linux.unlinkFromTaskList(job);
    await tick();
    expect(events).toEqual([]);
    // A task that looks hidden is read again with the guest paused.
    expect(guest.domain.pauses).toBe(1);
    expect(guest.domain.resumes).toBe(1);
    await tick();
    await tick();
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'process.hidden',
        domain: 'fake-guest',
        process: { pid: 70, tgid: 70, name: 'cryptominer', kernel_thread: false, task: job },
        details: expect.objectContaining({
          seen_by: expect.arrayContaining(['idTree', 'pidLinks']),
          missing_from: 'taskList',
        }),
      }),
    ]);
  });

  it('does not report a task hidden in one check only (between lists for an instant)', async () => {
    const { linux, job } = world();
    const { tick, events } = started(linux);
    linux.unlinkFromTaskList(job);
    await tick();
    linux.listAddTail(linux.initTask + TASKS_OFFSET(linux), job + TASKS_OFFSET(linux));
    await tick();
    await tick();
    expect(events).toEqual([]);
  });

  it('reports a task again when it is hidden again after reappearing', async () => {
    const { linux, job } = world();
    const { tick, events } = started(linux);
    linux.unlinkFromTaskList(job);
    await tick();
    await tick();
    linux.listAddTail(linux.initTask + TASKS_OFFSET(linux), job + TASKS_OFFSET(linux));
    await tick();
    linux.unlinkFromTaskList(job);
    await tick();
    await tick();
    expect(events.map((event) => event.process?.pid)).toEqual([70, 70]);
  });

  it('is refused without the task list, or on a domain that is not live', () => {
    const linux = new FakeLinux();
    linux.symbols.delete('init_task');
    const guest = fakeGuest(linux, undefined, { capabilities: { live: false } });
    expect(missingRequirements(hiddenProcess, guest.kernel, guest.domain)).toEqual([
      'kernel symbol init_task is missing',
      'capability live must be true, but fake-guest has false',
    ]);
  });
});

describe('hidden-process on a snapshot', () => {
  it('reports every hidden task at once (unlinked, or known to a run queue only), and nothing on a clean guest', async () => {
    const { linux, job } = world();
    const context = { domain: 'dump', cpus: [], timestamp: '2026-12-03T10:00:00.000Z' };
    expect(await hiddenProcess.judge!({ ...context, kernel: linux.kernel() })).toEqual([]);
    linux.unlinkFromTaskList(job);
    const ghost = linux.task(666, 'ghost');
    linux.queueCfs(1, [ghost]);
    const events = await hiddenProcess.judge!({ ...context, kernel: linux.kernel() });
    expect(
      events.map((event) => [event.process?.pid, event.process?.name, event.details?.where]),
    ).toEqual([
      [70, 'cryptominer', expect.objectContaining({ idTree: expect.any(String) })],
      [666, 'ghost', { runQueues: 'cpu 1 cfs' }],
    ]);
    expect(events[0]).toEqual(
      expect.objectContaining({ domain: 'dump', timestamp: '2026-12-03T10:00:00.000Z' }),
    );
  });
});
