// File paths read as d_path prints them: dentry names up the tree, across mounts, unlinked files and
// pseudo-filesystem files (memfd), and a forged dentry loop that must end.
import { readExecutablePath, readPath } from './file-path.js';
import { FakeLinux } from './test-support/fake-linux.js';

function tree() {
  const linux = new FakeLinux();
  const root = linux.dentry('/');
  const rootMount = linux.mount(root);
  const tmp = linux.dentry('tmp', root);
  const tmpfsRoot = linux.dentry('/');
  const tmpMount = linux.mount(tmpfsRoot, { vfsmount: rootMount, mountpoint: tmp });
  return { linux, root, rootMount, tmp, tmpfsRoot, tmpMount };
}

const pathOf = (linux: FakeLinux, vfsmount: bigint, dentry: bigint) => {
  const [process] = linux.process(300, 'payload');
  const mm = linux.addressSpace(process!.task, []);
  linux.setExecutable(mm, vfsmount, dentry);
  return readExecutablePath(linux.kernel(), mm);
};

describe('readPath', () => {
  it('names a file under the root mount', () => {
    const { linux, root, rootMount } = tree();
    const bin = linux.dentry('bin', root);
    expect(pathOf(linux, rootMount, linux.dentry('busybox', bin))).toEqual({
      path: '/bin/busybox',
      deleted: false,
    });
  });

  it('crosses from a mount to the folder it is mounted on', () => {
    const { linux, tmpfsRoot, tmpMount } = tree();
    const hidden = linux.dentry('.x', tmpfsRoot);
    expect(pathOf(linux, tmpMount, linux.dentry('payload', hidden))).toEqual({
      path: '/tmp/.x/payload',
      deleted: false,
    });
  });

  it('says when the file is unlinked, and names a memfd as the kernel does', () => {
    const { linux, tmpfsRoot, tmpMount } = tree();
    expect(pathOf(linux, tmpMount, linux.dentry('gone', tmpfsRoot, { unlinked: true }))).toEqual({
      path: '/tmp/gone',
      deleted: true,
    });
    // d_alloc_pseudo: the memfd's dentry is its own parent, on the internal shm mount.
    const shm = linux.mount(linux.dentry('/'));
    expect(pathOf(linux, shm, linux.dentry('memfd:payload'))).toEqual({
      path: '/memfd:payload',
      deleted: true,
    });
  });

  it('ends a forged dentry loop', () => {
    const { linux, rootMount, root } = tree();
    const a = linux.dentry('a', root);
    const b = linux.dentry('b', a);
    linux.set64(a + 0x18n, b);
    const file = linux.alloc(0x40);
    linux.set64(file + 0x10n, rootMount);
    linux.set64(file + 0x18n, b);
    const { path } = readPath(linux.kernel(), file + 0x10n);
    expect(path.split('/').length).toBeLessThanOrEqual(257);
  });

  it('has no executable for a process without one', () => {
    const linux = new FakeLinux();
    const [process] = linux.process(1, 'init');
    const mm = linux.addressSpace(process!.task, []);
    expect(readExecutablePath(linux.kernel(), mm)).toBeUndefined();
    expect(readExecutablePath(linux.kernel(), 0n)).toBeUndefined();
  });
});
