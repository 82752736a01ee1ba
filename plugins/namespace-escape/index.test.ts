// Unit tests of the namespace-escape rule on a fake guest: init's nsproxy in a child PID namespace,
// init's mount namespace under a parent in another one, and init_cred held by a user process are
// escapes; host processes sharing init_nsproxy, and containers that stay in, are not.
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { missingRequirements } from '../requirements.js';
import { namespaceEscape } from './index.js';

function world() {
  const linux = new FakeLinux();
  const r = () => linux.kernel().reader;
  const nsproxy = (mnt: bigint): bigint => {
    const address = linux.alloc(0x40);
    linux.set64(address + 0x18n, mnt);
    return address;
  };
  const initNsproxy = nsproxy(0x5000n);
  const initCred = linux.cred({ uid: 0, gid: 0, euid: 0, egid: 0 }, 0);
  linux.symbols.set('init_nsproxy', initNsproxy);
  linux.symbols.set('init_cred', initCred);
  const container = nsproxy(0x6000n);
  const at = (field: string): bigint => r().offset('task_struct', field);
  const user = (pid: number, comm: string, namespaces: bigint, level = 0, parent?: bigint) => {
    const [entry] = linux.process(pid, comm);
    const task = entry!.task;
    linux.addressSpace(task, []);
    linux.set64(task + at('nsproxy'), namespaces);
    const struct = linux.alloc(0x60);
    linux.set32(struct + 4n, level);
    linux.set64(task + at('thread_pid'), struct);
    linux.set64(task + at('cred'), linux.get64(task + at('real_cred')));
    if (parent !== undefined) linux.setParent(task, parent);
    return task;
  };
  const init = user(1, 'init', initNsproxy);
  user(96, 'webd', initNsproxy, 0, init);
  const runtime = user(120, 'unshare', container, 0, init);
  user(122, 'nginx', container, 1, runtime);
  return { linux, init, runtime, user, initNsproxy, initCred, container, at, nsproxy };
}

const judge = (linux: FakeLinux) =>
  namespaceEscape.judge!({
    kernel: linux.kernel(),
    domain: 'g',
    cpus: [],
    timestamp: '2026-12-03T16:00:00.000Z',
  });

describe('namespace-escape', () => {
  it('is silent on host processes and a container that stays in', async () => {
    expect(await judge(world().linux)).toEqual([]);
  });

  it("reports init's nsproxy and init_cred held in a child PID namespace", async () => {
    const { linux, user, runtime, initNsproxy, initCred, at } = world();
    const shell = user(125, 'sh', initNsproxy, 1, runtime);
    linux.set64(shell + at('cred'), initCred);
    linux.set64(shell + at('real_cred'), initCred);
    expect(await judge(linux)).toEqual([
      expect.objectContaining({
        type: 'process.anomaly',
        process: expect.objectContaining({ pid: 125, name: 'sh' }),
        details: expect.objectContaining({
          technique: 'namespace_escape',
          nsproxy: 'init_nsproxy',
          cred: 'init_cred',
          pid_namespace_level: 1,
          parent_pid: 120,
          message:
            "sh (pid 125) holds init's namespaces (init_nsproxy) and init's credentials (init_cred) from a PID namespace at level 1",
        }),
      }),
    ]);
  });

  it("reports init's mount namespace (setns) under a parent in another one", async () => {
    const { linux, user, runtime, nsproxy } = world();
    user(126, 'nsenter', nsproxy(0x5000n), 0, runtime);
    const events = await judge(linux);
    expect(events.map((event) => [event.process?.pid, event.details?.nsproxy])).toEqual([
      [126, 'init_mnt_ns'],
    ]);
    expect(events[0]!.details?.message).toBe(
      "nsenter (pid 126) holds init's mount namespace, while its parent unshare (pid 120) has not",
    );
  });

  it('reports init_cred alone in a host process, not in the idle task', async () => {
    const { linux, user, init, initNsproxy, initCred, at } = world();
    const backdoor = user(130, 'backdoor', initNsproxy, 0, init);
    linux.set64(backdoor + at('cred'), initCred);
    linux.set64(linux.initTask + at('cred'), initCred);
    const events = await judge(linux);
    expect(events.map((event) => [event.process?.pid, event.details?.cred])).toEqual([
      [130, 'init_cred'],
    ]);
  });

  it('needs init_nsproxy', () => {
    const linux = new FakeLinux();
    expect(missingRequirements(namespaceEscape, linux.kernel())).toEqual([
      'kernel symbol init_nsproxy is missing',
    ]);
  });
});
