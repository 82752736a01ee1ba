// The snapshot judge of exec-monitor: processes running from a writable folder, an unlinked file or
// a memfd are reported with their executable, command line and user; the rest are not.
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { execMonitor } from './index.js';

function guest() {
  const linux = new FakeLinux();
  const root = linux.dentry('/');
  const rootMount = linux.mount(root);
  const run = (pid: number, comm: string, dentry: bigint, argv: string, vfsmount = rootMount) => {
    const [process] = linux.process(pid, comm);
    const page = new Uint8Array(4096);
    page.set(new TextEncoder().encode(argv));
    const mm = linux.addressSpace(process!.task, [{ virtual: 0x7ffd_0000_0000n, bytes: page }]);
    linux.set64(mm + 0x20n, 0x7ffd_0000_0000n);
    linux.set64(mm + 0x28n, 0x7ffd_0000_0000n + BigInt(argv.length));
    linux.setExecutable(mm, vfsmount, dentry);
  };
  return { linux, root, rootMount, run };
}

const judge = (linux: FakeLinux) =>
  execMonitor.judge!({ kernel: linux.kernel(), domain: 'g', cpus: [], timestamp: 't' });

describe('exec-monitor on a snapshot', () => {
  it('reports the processes running from /tmp, an unlinked file or a memfd, and no other', async () => {
    const { linux, root, run } = guest();
    const bin = linux.dentry('bin', root);
    const tmp = linux.dentry('tmp', root);
    run(10, 'sh', linux.dentry('busybox', bin), 'sh\0-c\0true\0');
    run(20, 'payload', linux.dentry('payload', tmp), 'sleep\x00600\x00');
    run(30, 'gone', linux.dentry('gone', bin, { unlinked: true }), 'gone\0');
    // A memfd: its dentry is its own parent (d_alloc_pseudo), on the internal shm mount.
    run(40, 'x', linux.dentry('memfd:x'), 'x\0', linux.mount(linux.dentry('/')));
    const events = await judge(linux);
    expect(
      events.map((event) => [
        event.type,
        event.process?.pid,
        event.process?.executable,
        event.process?.command_line,
      ]),
    ).toEqual([
      ['process.exec', 20, '/tmp/payload', 'sleep 600'],
      ['process.exec', 30, '/bin/gone (deleted)', 'gone'],
      ['process.exec', 40, '/memfd:x (deleted)', 'x'],
    ]);
  });

  it('reports nothing on a guest whose programs all come from their folders', async () => {
    const { linux, root, run } = guest();
    run(10, 'sh', linux.dentry('sh', linux.dentry('bin', root)), 'sh\0');
    expect(await judge(linux)).toEqual([]);
  });
});
