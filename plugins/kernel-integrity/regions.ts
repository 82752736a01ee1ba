// The protected regions of kernel memory and the guest-physical frames behind them: the system call
// table, the IDT and the kernel's text. A write to any of these frames, through any virtual alias,
// is what the stage-2-style write traps catch; a shadow copy gives the bytes before the write.
import { RingsideError } from '../../introspect/errors.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { kernelText } from '../../introspect/os/linux/integrity.js';
import { tableLength } from '../../introspect/os/linux/syscalls.js';

export type RegionName = 'syscall_table' | 'idt' | 'kernel_text';

export interface ProtectedRegion {
  name: RegionName;
  /** Kernel-virtual start and length. */
  start: bigint;
  length: number;
  /** Guest-physical frame (4 KiB) of each page of the region, in order. */
  frames: bigint[];
  /** The region's bytes as last seen: before the first write, then after each reported one. */
  shadow: Uint8Array;
}

const PAGE = 4096n;

export interface FrameHit {
  region: ProtectedRegion;
  /** Offset into the region. */
  offset: number;
  /** Kernel-virtual address of the byte written. */
  address: bigint;
}

export class ProtectedRegions {
  readonly regions: ProtectedRegion[] = [];
  private readonly byFrame = new Map<bigint, { region: ProtectedRegion; page: number }[]>();

  constructor(private readonly kernel: LinuxKernel) {}

  add(name: RegionName, start: bigint, length: number): ProtectedRegion {
    if (length <= 0) throw new RingsideError('NOT_FOUND', `the ${name} region is empty`);
    const space = this.kernel.reader.space;
    const first = start & ~(PAGE - 1n);
    const frames: bigint[] = [];
    for (let page = first; page < start + BigInt(length); page += PAGE) {
      const translation = space.translate(page);
      if (!translation.ok)
        throw new RingsideError(
          'NOT_FOUND',
          `the ${name} page at 0x${page.toString(16)} is not mapped (${translation.fault})`,
        );
      frames.push(translation.physical >> 12n);
    }
    const region: ProtectedRegion = {
      name,
      start,
      length,
      frames,
      shadow: this.kernel.reader.bytes(start, length).slice(),
    };
    frames.forEach((frame, page) => {
      const list = this.byFrame.get(frame) ?? [];
      list.push({ region, page });
      this.byFrame.set(frame, list);
    });
    this.regions.push(region);
    return region;
  }

  frames(): bigint[] {
    return [...this.byFrame.keys()];
  }

  /** The region byte a guest-physical address falls on, if any. */
  locate(physical: bigint): FrameHit | undefined {
    for (const { region, page } of this.byFrame.get(physical >> 12n) ?? []) {
      const pageStart = (region.start & ~(PAGE - 1n)) + BigInt(page) * PAGE;
      const address = pageStart + (physical & (PAGE - 1n));
      const offset = Number(address - region.start);
      if (offset >= 0 && offset < region.length) return { region, offset, address };
    }
    return undefined;
  }
}

/** The regions a Linux kernel protects: its syscall table, its IDT and its text. */
export function linuxRegions(kernel: LinuxKernel): ProtectedRegions {
  const regions = new ProtectedRegions(kernel);
  const table = kernel.symbols.address('sys_call_table');
  if (table !== undefined) regions.add('syscall_table', table, tableLength(kernel, table) * 8);
  const idt = kernel.symbols.address('idt_table');
  if (idt !== undefined) regions.add('idt', idt, 4096);
  const text = kernelText(kernel);
  if (text.end > text.start) regions.add('kernel_text', text.start, Number(text.end - text.start));
  return regions;
}
