// Finding the kernel image under hostile page tables: thousands of candidate roots that all lead to
// the same (or no) kernel half cost one read each, not a walk of the kernel window each.
import { GuestStructureError } from '../../errors.js';
import { BufferMemory } from '../../memory/buffer-memory.js';
import type { PhysicalMemory } from '../../memory/types.js';
import { findKernelImage } from './kernel-image.js';

/** Counts reads: the cost measure of a search, independent of the machine's speed. */
function counting(memory: PhysicalMemory): PhysicalMemory & { reads: number } {
  const counter = {
    name: memory.name,
    reads: 0,
    ranges: () => memory.ranges(),
    readInto(address: bigint, target: Uint8Array) {
      counter.reads++;
      memory.readInto(address, target);
    },
    close: () => memory.close(),
  };
  return counter;
}

describe('findKernelImage on hostile memory', () => {
  it('a raw dump whose every page looks like a root pointing at page 1 is refused in few reads', () => {
    const bytes = new Uint8Array(32 << 20);
    const view = new DataView(bytes.buffer);
    // Every page's last entry: present, writable, frame 1; page 1's own entries map one huge page.
    for (let page = 0; page < bytes.length; page += 4096)
      view.setBigUint64(page + 0xff8, 0x1003n, true);
    for (let entry = 0; entry < 511; entry++) view.setBigUint64(0x1000 + entry * 8, 0x2003n, true);
    const memory = counting(new BufferMemory(bytes, 0n, 'raw'));
    expect(() => findKernelImage(memory, [], 'x86_64')).toThrow(GuestStructureError);
    // One scan read per 16 MiB window, one entry read per candidate, one walk of the window.
    expect(memory.reads).toBeLessThan(8192 + 20_000);
  });

  it('a flood of vCPUs with distinct CR3s is refused after a bounded number of kernel halves', () => {
    const bytes = new Uint8Array(16 << 20);
    const view = new DataView(bytes.buffer);
    // Each page a root with its own present kernel-half entry pointing at an empty table.
    for (let page = 0x10000; page < bytes.length; page += 4096)
      view.setBigUint64(page + 0xff8, BigInt(page + 0x1000) | 3n, true);
    const vcpus = Array.from({ length: 4000 }, (_, index) => ({
      index,
      registers: { cr3: BigInt(0x10000 + index * 4096) },
    }));
    const memory = counting(new BufferMemory(bytes, 0n, 'elf'));
    expect(() => findKernelImage(memory, vcpus, 'x86_64')).toThrow(/distinct kernel halves/);
    expect(memory.reads).toBeLessThan(200_000);
  });
});
