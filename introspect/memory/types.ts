// The contracts of the memory layer: physical memory (a hypervisor, a snapshot file) and address
// spaces (a page-table root over physical memory). Reads are synchronous: page walks chain them.
import type { PhysAddr, VirtAddr } from './address.js';

export interface PhysicalRange {
  start: bigint;
  /** Exclusive. */
  end: bigint;
}

export interface PhysicalMemory {
  /** Names the layer in errors: the file or the guest. */
  readonly name: string;
  /** Mapped guest-physical ranges, sorted. */
  ranges(): readonly PhysicalRange[];
  /**
   * Fills `target` from `address`. Throws MemoryError (with the first unreadable address) when any
   * byte lies in a hole: never silent zeros.
   */
  readInto(address: PhysAddr | bigint, target: Uint8Array): void;
  close(): void;
  /** Reads are plain copies from memory (a mapped file): a page cache in front only adds work. */
  readonly inMemory?: boolean;
  /**
   * Set where page-table entries hold frames of another address space than this memory's: a Xen PV
   * guest's entries (and CR3) name machine frames, its memory is laid out by guest frame. Maps one
   * such frame number to this memory's; undefined when the frame is not the guest's.
   */
  readonly entryFrame?: (frame: bigint) => bigint | undefined;
}

export type PageFault =
  | 'non-canonical'
  | 'not-present'
  | 'reserved-bits'
  | 'unreadable-table'
  | 'outside-physical-memory'
  /** AArch64: the address lies in neither the TTBR0 nor the TTBR1 range (nor below the IPA size). */
  | 'outside-va-range'
  /** AArch64: a table or output address is wider than the configured physical (or IPA) size. */
  | 'address-size';

export interface Translation {
  ok: true;
  physical: bigint;
  /** Size of the page that maps the address: 4 KiB, 2 MiB, 1 GiB (or the ARM equivalents). */
  pageSize: number;
  writable: boolean;
  user: boolean;
  executable: boolean;
}

export interface TranslationFault {
  ok: false;
  fault: PageFault;
  /**
   * Level of the table whose entry failed. x86: 4 = PML4 on 4-level paging, 1 = page table. AArch64
   * counts the other way, as the architecture (and ESR_ELx) does: -1 or 0 is the top, 3 the last.
   */
  level: number;
  /** Physical address of the failing entry, when one was read. */
  entryAddress?: bigint;
  entry?: bigint;
  /** AArch64 two-stage translation: the stage that faulted (2 also for a stage-1 table fetch). */
  stage?: 1 | 2;
  /** AArch64 stage-2 faults: the intermediate physical address that stage 2 could not translate. */
  ipa?: bigint;
  /** AArch64: the stage-2 fault happened while fetching a stage-1 table entry (S1PTW). */
  duringStage1Walk?: boolean;
}

export type TranslationResult = Translation | TranslationFault;

export interface AddressSpace {
  readonly name: string;
  readonly physical: PhysicalMemory;
  translate(address: VirtAddr | bigint): TranslationResult;
  /** Fills `target` from virtual `address`; throws MemoryError naming the first unmapped address. */
  readInto(address: VirtAddr | bigint, target: Uint8Array): void;
}
