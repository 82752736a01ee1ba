// pausedTaskList: warm-up walks while the guest runs, then one walk between pause and resume whose
// answer is the one returned, with the cache dropped after the pause; the guest resumes on failure.
import { FakeLinux } from './test-support/fake-linux.js';
import { pausedTaskList, WARM_UP_WALKS } from './paused-task-list.js';

describe('pausedTaskList', () => {
  it('walks while the guest runs, then answers with the walk made while it was paused', async () => {
    const linux = new FakeLinux();
    linux.process(100, 'early');
    const kernel = linux.kernel();
    const order: string[] = [];
    const { list, pausedMs } = await pausedTaskList(
      kernel,
      async () => {
        order.push(`pause after ${linux.generations} walks`);
        linux.process(200, 'forked-meanwhile'); // what the guest did before it stopped
      },
      async () => void order.push('resume'),
    );
    expect(order).toEqual([`pause after ${WARM_UP_WALKS} walks`, 'resume']);
    expect(linux.generations).toBe(WARM_UP_WALKS + 1); // dropped once more after the pause
    expect(list.tasks.map((task) => task.pid)).toEqual([100, 200]); // init_task heads the list, it is not on it
    expect(pausedMs).toBeGreaterThanOrEqual(0);
  });

  it('resumes the guest when the paused walk fails, and passes the failure on', async () => {
    const linux = new FakeLinux();
    const kernel = linux.kernel();
    let paused = false;
    const broken = {
      ...kernel,
      symbols: {
        ...kernel.symbols,
        address: (name: string) => {
          if (paused) throw new Error('a bug in the walk');
          return kernel.symbols.address(name);
        },
      },
    };
    const resumed: boolean[] = [];
    await expect(
      pausedTaskList(
        broken,
        async () => void (paused = true),
        async () => void resumed.push(true),
      ),
    ).rejects.toThrow('a bug in the walk');
    expect(resumed).toEqual([true]);
  });

  it('with no warm-up walk pauses at once', async () => {
    const linux = new FakeLinux();
    const kernel = linux.kernel();
    let walksBeforePause = -1;
    await pausedTaskList(
      kernel,
      async () => void (walksBeforePause = linux.generations),
      async () => undefined,
      0,
    );
    expect(walksBeforePause).toBe(0);
  });
});
