// A virtual address space: a page-table root over physical memory, with a translation cache that is
// valid for one "generation" (a snapshot forever; a live guest until it runs again).
import { MemoryError } from '../errors.js';
import type { AddressSpace, PhysicalMemory, TranslationResult } from './types.js';
import { translateX86, type X86PagingMode } from './x86/paging.js';
import { translateArm64Stage1, type Arm64Stage1Regime } from './arm64/stage1.js';
import type { Arm64Stage2Regime } from './arm64/stage2.js';
import { translateArm64TwoStage } from './arm64/two-stage.js';

const PAGE_SHIFT = 12n;
const PAGE_SIZE = 4096;

export type Translator = (
  root: bigint,
  address: bigint,
  readEntry: (pa: bigint) => bigint | undefined,
) => TranslationResult;

export const x86Translator =
  (mode: X86PagingMode): Translator =>
  (root, address, readEntry) =>
    translateX86(mode, root, address, readEntry);

/**
 * AArch64: the regime carries both TTBRs (an address space spans both halves), so the root given to
 * PagedAddressSpace only names the space. With `stage2`, reads are of a guest under a hypervisor.
 */
export const arm64Translator =
  (stage1: Arm64Stage1Regime, stage2?: Arm64Stage2Regime): Translator =>
  (_root, address, readEntry) =>
    stage2
      ? translateArm64TwoStage(stage1, stage2, address, readEntry)
      : translateArm64Stage1(stage1, address, readEntry);

/**
 * Reads 8-byte page-table entries from physical memory; undefined where memory has none. Where the
 * memory says entries name frames of another space (`entryFrame`, a Xen PV guest's machine frames),
 * each present entry comes back naming the memory's own frame, or not present when it has none.
 */
export function entryReader(memory: PhysicalMemory): (physical: bigint) => bigint | undefined {
  const buffer = new Uint8Array(8);
  const view = new DataView(buffer.buffer);
  const read = (physical: bigint): bigint | undefined => {
    try {
      memory.readInto(physical, buffer);
      return view.getBigUint64(0, true);
    } catch {
      return undefined;
    }
  };
  const toFrame = memory.entryFrame;
  if (!toFrame) return read;
  return (physical) => {
    const entry = read(physical);
    if (entry === undefined || (entry & 1n) === 0n) return entry;
    const frame = toFrame((entry & ENTRY_FRAME_MASK) >> 12n);
    // A frame that is not the guest's (Xen's own tables, another domain's pages): nothing to read.
    if (frame === undefined) return entry & ~1n;
    return (entry & ~ENTRY_FRAME_MASK) | (frame << 12n);
  };
}

/** Frame bits of an x86-64 page-table entry (bits 12–51). */
const ENTRY_FRAME_MASK = 0x000f_ffff_ffff_f000n;

export class PagedAddressSpace implements AddressSpace {
  private readonly cache = new Map<bigint, TranslationResult>();
  private readonly readEntry: (physical: bigint) => bigint | undefined;

  constructor(
    readonly physical: PhysicalMemory,
    readonly root: bigint,
    private readonly translator: Translator,
    readonly name = `virtual@0x${root.toString(16)}`,
  ) {
    this.readEntry = entryReader(physical);
  }

  /** Forgets cached translations (the guest ran; its page tables may have changed). */
  newGeneration(): void {
    this.cache.clear();
  }

  translate(address: bigint): TranslationResult {
    const page = address >> PAGE_SHIFT;
    const cached = this.cache.get(page);
    if (cached) {
      return cached.ok
        ? { ...cached, physical: (cached.physical & ~0xfffn) | (address & 0xfffn) }
        : cached;
    }
    const result = this.translator(this.root, address, this.readEntry);
    this.cache.set(page, result);
    return result;
  }

  readInto(address: bigint, target: Uint8Array): void {
    let done = 0;
    while (done < target.length) {
      const current = address + BigInt(done);
      const translation = this.translate(current);
      if (!translation.ok) {
        throw new MemoryError(
          `cannot translate (${translation.fault} at level ${translation.level})`,
          current,
          this.name,
        );
      }
      // A large page (2 MiB, 1 GiB) is contiguous: one physical read to its end, not one per 4 KiB.
      const pageSize = BigInt(translation.pageSize > PAGE_SIZE ? translation.pageSize : PAGE_SIZE);
      const inPage = Number(pageSize - (current & (pageSize - 1n)));
      const count = Math.min(inPage, target.length - done);
      this.physical.readInto(translation.physical, target.subarray(done, done + count));
      done += count;
    }
  }
}
