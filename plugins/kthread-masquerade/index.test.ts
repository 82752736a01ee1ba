// Unit tests of the kernel-thread masquerade detector on a fake guest: a user process whose comm
// or command line looks like a kernel thread's is reported; kernel threads and ordinary names are not.
import { FakeLinux, PF_KTHREAD } from '../../introspect/os/linux/test-support/fake-linux.js';
import { kernelThreadMasquerade, threadFamily } from './index.js';

const ARGS = 0x7ffd00000000n;

function world() {
  const linux = new FakeLinux();
  const r = () => linux.kernel().reader;
  const kernelThread = (pid: number, comm: string): void => {
    const [entry] = linux.process(pid, comm);
    linux.setFlags(entry!.task, PF_KTHREAD);
  };
  kernelThread(2, 'kthreadd');
  kernelThread(14, 'kcompactd0');
  const user = (pid: number, comm: string, argv: string[]): bigint => {
    const [entry] = linux.process(pid, comm);
    const text = new TextEncoder().encode(`${argv.join('\0')}\0`);
    const page = new Uint8Array(4096);
    page.set(text);
    const mm = linux.addressSpace(entry!.task, [{ virtual: ARGS, bytes: page }]);
    linux.set64(mm + r().offset('mm_struct', 'arg_start'), ARGS);
    linux.set64(mm + r().offset('mm_struct', 'arg_end'), ARGS + BigInt(text.length));
    return entry!.task;
  };
  user(1, 'init', ['/sbin/init']);
  user(96, 'webd', ['webd', '--port', '80']);
  return { linux, user };
}

const judge = (linux: FakeLinux) =>
  kernelThreadMasquerade.judge!({
    kernel: linux.kernel(),
    domain: 'g',
    cpus: [],
    timestamp: '2026-12-03T16:00:00.000Z',
  });

describe('kthread-masquerade', () => {
  it('groups names into families', () => {
    expect(['kworker/0:2H', 'kswapd0', '[kworker/u4:1]', 'rcu_gp', 'sh'].map(threadFamily)).toEqual(
      ['kworker', 'kswapd', 'kworker', 'rcu_gp', 'sh'],
    );
  });

  it('is silent on kernel threads and ordinary processes', async () => {
    expect(await judge(world().linux)).toEqual([]);
  });

  it('reports a user process named like a kernel thread, in its comm or its command line', async () => {
    const { linux, user } = world();
    user(143, 'kworker/0:2H', ['[kworker/0:2H]']);
    user(150, 'kcompactd1', ['/tmp/.x/miner']);
    user(151, 'miner', ['[kthreadd]']);
    // A bracketed title that names no kernel thread is left alone.
    user(152, 'postgres', ['[postgres]']);
    const events = await judge(linux);
    expect(events.map((event) => [event.process?.pid, event.details?.disguise])).toEqual([
      [143, 'comm'],
      [150, 'comm'],
      [151, 'command_line'],
    ]);
    expect(events[0]).toEqual(
      expect.objectContaining({
        type: 'process.anomaly',
        process: expect.objectContaining({
          name: 'kworker/0:2H',
          command_line: '[kworker/0:2H]',
        }),
        details: expect.objectContaining({
          technique: 'kernel_thread_masquerade',
          message:
            'kworker/0:2H (pid 143) is named like a kernel thread (command line "[kworker/0:2H]") but is a user process with an address space',
        }),
      }),
    );
  });
});
