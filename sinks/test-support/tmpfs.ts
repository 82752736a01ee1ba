// A small tmpfs for full-disk tests (mounting needs root): mount one, fill what is left of it to the
// last byte, unmount it. The sinks' disk-full tests share these instead of each keeping a copy.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether this process may mount a tmpfs (root). */
export const canMountTmpfs = process.getuid?.() === 0;

/** Mounts a tmpfs of `size` (mount's syntax, e.g. "256k") on a fresh temporary folder; returns it. */
export function mountTmpfs(name: string, size: string): string {
  const mountPoint = mkdtempSync(join(tmpdir(), `${name}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, name, mountPoint]);
  return mountPoint;
}

export function unmountTmpfs(mountPoint: string): void {
  execFileSync('umount', ['--lazy', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
}

/** Fills what is left of the file system with one file, down to the last byte it accepts. */
export function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  for (const size of [1 << 16, 4096, 512, 1]) {
    const chunk = Buffer.alloc(size, 0x61);
    try {
      for (;;) writeSync(fd, chunk);
    } catch {
      // ENOSPC for this size: go on with smaller writes.
    }
  }
  closeSync(fd);
}
