// The executable a process runs, as a path: mm->exe_file's dentry chain walked up to the root,
// across mounts. Every name and link is guest data: the walk is bounded and any failed read ends it.
import type { LinuxKernel } from './linux-kernel.js';

/** Path components followed at most; a deeper (or looping) chain ends with `…/`. */
export const MAX_PATH_DEPTH = 64;
const MAX_NAME = 255;

/** The path of the file mm_struct.exe_file points at, or undefined when it cannot be read. */
export function executablePath(kernel: LinuxKernel, mm: bigint): string | undefined {
  const r = kernel.reader;
  if (mm === 0n || !r.hasField('mm_struct', 'exe_file')) return undefined;
  try {
    const file = r.u64(mm + r.offset('mm_struct', 'exe_file'));
    if (file === 0n) return undefined;
    let dentry = r.u64(file + r.offset('file', 'f_path.dentry'));
    const vfsmount = r.u64(file + r.offset('file', 'f_path.mnt'));
    // struct mount embeds the vfsmount: its parent and mountpoint lead out of a mounted file system.
    const mounts = r.hasField('mount', 'mnt') && r.hasField('mount', 'mnt_mountpoint');
    let mount = mounts ? vfsmount - r.offset('mount', 'mnt') : 0n;
    const parts: string[] = [];
    for (let depth = 0; depth < MAX_PATH_DEPTH; depth++) {
      if (dentry === 0n) break;
      const parent = r.u64(dentry + r.offset('dentry', 'd_parent'));
      if (parent === dentry) {
        if (!mounts) return `/${parts.reverse().join('/')}`;
        const up = r.u64(mount + r.offset('mount', 'mnt_parent'));
        if (up === mount || up === 0n) return `/${parts.reverse().join('/')}`;
        dentry = r.u64(mount + r.offset('mount', 'mnt_mountpoint'));
        mount = up;
        continue;
      }
      parts.push(r.cString(r.u64(dentry + r.offset('dentry', 'd_name.name')), MAX_NAME));
      dentry = parent;
    }
    return `…/${parts.reverse().join('/')}`;
  } catch {
    return undefined;
  }
}
