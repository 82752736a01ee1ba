// The path of an open file as the kernel's d_path would print it: dentry names up to the mount's
// root, then across mounts (mount.mnt_mountpoint, mnt_parent) to the root of the mount tree.
import type { LinuxKernel } from './linux-kernel.js';

/** Path components walked at most: a dentry chain in guest memory can be forged into a loop. */
const MAX_COMPONENTS = 256;
const MAX_NAME = 255;

export interface FilePath {
  path: string;
  /** The file is unlinked (no name left in any folder), as d_path's " (deleted)" says. */
  deleted: boolean;
}

/** The path of a `struct path` (a vfsmount and a dentry) at `pathAddress`. */
export function readPath(kernel: LinuxKernel, pathAddress: bigint): FilePath {
  const r = kernel.reader;
  const mountOfVfs = BigInt(r.offset('mount', 'mnt'));
  let dentry = r.u64(pathAddress + r.offset('path', 'dentry'));
  let vfsmount = r.u64(pathAddress + r.offset('path', 'mnt'));
  const leaf = dentry;
  const names: string[] = [];
  // A pseudo file (memfd, and any shmem file made by alloc_file_pseudo) is a dentry that is its own
  // parent without being its mount's root; d_path names it through simple_dname, "/NAME (deleted)".
  let pseudo = false;
  for (let step = 0; step < MAX_COMPONENTS; step++) {
    const parent = r.u64(dentry + r.offset('dentry', 'd_parent'));
    const mountRoot = r.u64(vfsmount + r.offset('vfsmount', 'mnt_root'));
    if (dentry === mountRoot || dentry === parent) {
      const mount = vfsmount - mountOfVfs;
      const parentMount = r.u64(mount + r.offset('mount', 'mnt_parent'));
      if (dentry !== mountRoot || parentMount === mount || parentMount === 0n) {
        // The root of the mount tree, or of a pseudo filesystem's own mount (memfd, pipes): a
        // dentry that is its own parent but not its mount's root is named as d_path names it.
        if (dentry !== mountRoot) {
          names.push(dentryName(kernel, dentry));
          pseudo = dentry === leaf;
        }
        break;
      }
      dentry = r.u64(mount + r.offset('mount', 'mnt_mountpoint'));
      vfsmount = parentMount + mountOfVfs;
      continue;
    }
    names.push(dentryName(kernel, dentry));
    dentry = parent;
  }
  return { path: `/${names.reverse().join('/')}`, deleted: pseudo || isUnlinked(kernel, leaf) };
}

function dentryName(kernel: LinuxKernel, dentry: bigint): string {
  const r = kernel.reader;
  return r.cString(r.u64(dentry + r.offset('dentry', 'd_name.name')), MAX_NAME);
}

/** d_unlinked: unhashed (d_hash.pprev NULL) and not the root of its tree. */
function isUnlinked(kernel: LinuxKernel, dentry: bigint): boolean {
  const r = kernel.reader;
  const parent = r.u64(dentry + r.offset('dentry', 'd_parent'));
  return parent !== dentry && r.u64(dentry + r.offset('dentry', 'd_hash.pprev')) === 0n;
}

/** The executable of a process: mm->exe_file's path, or undefined when it has none. */
export function readExecutablePath(kernel: LinuxKernel, mm: bigint): FilePath | undefined {
  const r = kernel.reader;
  if (mm === 0n || !r.hasField('mm_struct', 'exe_file')) return undefined;
  const file = r.u64(mm + r.offset('mm_struct', 'exe_file'));
  if (file === 0n) return undefined;
  return readPath(kernel, file + r.offset('file', 'f_path'));
}
