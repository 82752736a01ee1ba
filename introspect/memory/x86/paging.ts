// x86-64 address translation (Intel SDM Vol. 3A ch. 4) as a pure, table-driven function over an entry
// reader: 4-level and 5-level (LA57) paging, 2 MiB and 1 GiB pages, NX, canonical-address checks.
import type { TranslationResult } from '../types.js';

export interface X86PagingMode {
  readonly name: string;
  /** Shift of the address bits each level indexes, top level first. */
  readonly shifts: readonly number[];
  /** Shifts at which an entry with PS=1 maps a large page. */
  readonly largePageShifts: ReadonlySet<number>;
  readonly virtualBits: number;
}

export const X86_64_4LEVEL: X86PagingMode = {
  name: 'x86-64 4-level',
  shifts: [39, 30, 21, 12],
  largePageShifts: new Set([30, 21]),
  virtualBits: 48,
};

export const X86_64_5LEVEL: X86PagingMode = {
  name: 'x86-64 5-level',
  shifts: [48, 39, 30, 21, 12],
  largePageShifts: new Set([30, 21]),
  virtualBits: 57,
};

/** Reads the 64-bit entry at a physical address; undefined when that memory cannot be read. */
export type EntryReader = (physical: bigint) => bigint | undefined;

const PRESENT = 1n;
const WRITABLE = 2n;
const USER = 4n;
const PAGE_SIZE_BIT = 0x80n;
const NO_EXECUTE = 1n << 63n;
const FRAME_MASK = 0x000f_ffff_ffff_f000n;
const INDEX_MASK = 0x1ffn;
const ADDRESS_MASK = (1n << 64n) - 1n;

export function isCanonical(address: bigint, virtualBits: number): boolean {
  const top = address >> BigInt(virtualBits - 1);
  return top === 0n || top === ADDRESS_MASK >> BigInt(virtualBits - 1);
}

/** A CR3 value to the physical address of the top-level table (drops PCID and flag bits). */
export const cr3ToRoot = (cr3: bigint): bigint => cr3 & FRAME_MASK;

export function translateX86(
  mode: X86PagingMode,
  root: bigint,
  address: bigint,
  readEntry: EntryReader,
): TranslationResult {
  const levels = mode.shifts.length;
  if (address < 0n || address > ADDRESS_MASK || !isCanonical(address, mode.virtualBits)) {
    return { ok: false, fault: 'non-canonical', level: levels };
  }
  let table = root & FRAME_MASK;
  let writable = true;
  let user = true;
  let executable = true;
  for (let depth = 0; depth < levels; depth++) {
    const shift = mode.shifts[depth]!;
    const level = levels - depth;
    const entryAddress = table + ((address >> BigInt(shift)) & INDEX_MASK) * 8n;
    const entry = readEntry(entryAddress);
    if (entry === undefined) return { ok: false, fault: 'unreadable-table', level, entryAddress };
    if ((entry & PRESENT) === 0n)
      return { ok: false, fault: 'not-present', level, entryAddress, entry };
    writable &&= (entry & WRITABLE) !== 0n;
    user &&= (entry & USER) !== 0n;
    executable &&= (entry & NO_EXECUTE) === 0n;
    const isLeaf =
      shift === 12 || ((entry & PAGE_SIZE_BIT) !== 0n && mode.largePageShifts.has(shift));
    if ((entry & PAGE_SIZE_BIT) !== 0n && shift !== 12 && !mode.largePageShifts.has(shift)) {
      return { ok: false, fault: 'reserved-bits', level, entryAddress, entry };
    }
    if (isLeaf) {
      const pageSize = 1n << BigInt(shift);
      const offsetMask = pageSize - 1n;
      // Large pages keep PAT in bit 12; bits between 13 and the page size must be zero.
      const reserved = shift === 12 ? 0n : offsetMask & ~0x1fffn;
      if ((entry & FRAME_MASK & reserved) !== 0n) {
        return { ok: false, fault: 'reserved-bits', level, entryAddress, entry };
      }
      const frame = entry & FRAME_MASK & ~offsetMask;
      return {
        ok: true,
        physical: frame | (address & offsetMask),
        pageSize: Number(pageSize),
        writable,
        user,
        executable,
      };
    }
    table = entry & FRAME_MASK;
  }
  // Unreachable: the last level always yields a leaf.
  return { ok: false, fault: 'not-present', level: 1 };
}
