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
}

export type PageFault =
  | 'non-canonical'
  | 'not-present'
  | 'reserved-bits'
  | 'unreadable-table'
  | 'outside-physical-memory';

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
  /** Level of the table whose entry failed (4 = PML4 on 4-level paging, 1 = page table). */
  level: number;
  /** Physical address of the failing entry, when one was read. */
  entryAddress?: bigint;
  entry?: bigint;
}

export type TranslationResult = Translation | TranslationFault;

export interface AddressSpace {
  readonly name: string;
  readonly physical: PhysicalMemory;
  translate(address: VirtAddr | bigint): TranslationResult;
  /** Fills `target` from virtual `address`; throws MemoryError naming the first unmapped address. */
  readInto(address: VirtAddr | bigint, target: Uint8Array): void;
}
