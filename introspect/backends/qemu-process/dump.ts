// An ELF core (with each vCPU's registers) of any running QEMU, taken through its monitor: QMP
// dump-guest-memory to a path QEMU writes, or for a libvirt domain `virsh dump --memory-only`, which
// libvirt writes itself (its QEMU may run as another user).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { RingsideError } from '../../errors.js';
import type { QmpChannel } from '../qemu/qmp.js';
import { LibvirtMonitor, virsh } from './libvirt.js';

/** How long a dump may take (QEMU pauses the guest while it writes; 256 MiB take seconds). */
const DUMP_TIMEOUT_MS = 10 * 60_000;

export async function dumpGuestMemory(monitor: QmpChannel, path: string): Promise<void> {
  const target = resolve(path);
  rmSync(target, { force: true });
  if (monitor instanceof LibvirtMonitor) {
    const result = await virsh(
      ['dump', '--memory-only', '--format', 'elf', monitor.domain, target],
      DUMP_TIMEOUT_MS,
    );
    if (result.code !== 0)
      throw new RingsideError(
        'BACKEND',
        `virsh dump ${monitor.domain}: ${result.stderr.replace(/^error:\s*/gm, '').trim() || 'failed'}`,
      );
    return;
  }
  // paging: false keeps guest-physical memory and the vCPUs' register notes (CR3 finds the kernel).
  await monitor.execute('dump-guest-memory', {
    paging: false,
    protocol: `file:${target}`,
    detach: false,
  });
}
