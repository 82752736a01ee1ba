// Finds an ARM64 Linux kernel in physical memory with no registers and no profile: kallsyms (text
// symbols only on kernels without CONFIG_KALLSYMS_ALL, such as Debian's), then the kernel's top-level
// table (swapper_pg_dir, what TTBR1_EL1 holds) by a scan for a table that maps those symbols
// physically contiguously, then the image's bytes. QEMU's AArch64 ELF cores carry no TTBR, so this
// is also how ELF cores are read.
import { GuestStructureError } from '../../../errors.js';
import { descriptorAddress } from '../../../memory/arm64/walk.js';
import {
  decodeStage1,
  translateArm64Stage1,
  type Arm64Stage1Regime,
} from '../../../memory/arm64/stage1.js';
import { levelShift } from '../../../memory/arm64/granule.js';
import type { PhysicalMemory, PhysicalRange } from '../../../memory/types.js';
import { entryReader, type Translator } from '../../../memory/paged-address-space.js';
import { reconstructKallsyms, type KallsymsResult } from '../kallsyms/reconstruct.js';
import { KallsymsSymbolTable } from '../kallsyms/symbol-table.js';

/** Linux's AArch64 layouts worth trying: granule and VA bits (CONFIG_ARM64_{4K,16K,64K}_PAGES, VA_BITS). */
export const LINUX_ARM64_LAYOUTS: readonly { granule: 4096 | 16384 | 65536; vaBits: number }[] = [
  { granule: 4096, vaBits: 48 },
  { granule: 4096, vaBits: 39 },
  { granule: 16384, vaBits: 47 },
  { granule: 16384, vaBits: 36 },
  { granule: 65536, vaBits: 48 },
  { granule: 65536, vaBits: 42 },
  { granule: 65536, vaBits: 52 },
];

const BANNER = Buffer.from('Linux version ', 'latin1');
const MAX_BANNER_CANDIDATES = 32;
const MAX_IMAGE_BYTES = 128 << 20;
const CHUNK = 16 << 20;
const MAX_ROOT_WALKS = 100_000;

export interface Arm64KernelLocation {
  kallsyms: KallsymsResult;
  symbols: KallsymsSymbolTable;
  /** Physical address of the kernel's top-level table (swapper_pg_dir). */
  root: bigint;
  regime: Arm64Stage1Regime;
  layout: { granule: number; vaBits: number };
  /** _text: the 2 MiB-aligned start of the image (KIMAGE_VADDR plus the KASLR offset). */
  virtualStart: bigint;
  physicalStart: bigint;
  /** The image from _text, physically contiguous, for table searches (BTF, sys_call_table …). */
  bytes: Uint8Array;
}

/** A TCR_EL1 as Linux sets it for a layout (both halves alike; TTBR0 walks stay enabled). */
export function linuxTcr(granule: number, vaBits: number): bigint {
  const tg0 = { 4096: 0n, 65536: 1n, 16384: 2n }[granule] ?? 0n;
  const tg1 = { 16384: 1n, 4096: 2n, 65536: 3n }[granule] ?? 2n;
  const size = BigInt(64 - vaBits);
  // IPS = 52 bits: 64K descriptors then carry address bits 51:48; 4K/16K stay at 48 without DS.
  return size | (tg0 << 14n) | (size << 16n) | (tg1 << 30n) | (6n << 32n);
}

/** Scans physical memory for "Linux version " (the banner, and copies of it in the log buffer). */
function* bannerCandidates(
  memory: PhysicalMemory,
): Generator<{ address: bigint; range: PhysicalRange }> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (const range of memory.ranges()) {
    for (let base = range.start; base < range.end; base += BigInt(CHUNK - BANNER.length)) {
      const length = Number(range.end - base < BigInt(CHUNK) ? range.end - base : BigInt(CHUNK));
      const window = chunk.subarray(0, length);
      memory.readInto(base, window);
      for (let at = window.indexOf(BANNER); at >= 0; at = window.indexOf(BANNER, at + 1)) {
        yield { address: base + BigInt(at), range };
      }
      if (length < CHUNK) break;
    }
  }
}

/** Reads [start, end) clipped to `range`; stops at the first unreadable 2 MiB step. */
function readClipped(
  memory: PhysicalMemory,
  range: PhysicalRange,
  start: bigint,
  end: bigint,
): { start: bigint; bytes: Uint8Array } {
  const from = start < range.start ? range.start : start;
  const to = end > range.end ? range.end : end;
  const bytes = Buffer.allocUnsafe(Number(to - from));
  const step = 2 << 20;
  let read = 0;
  for (; read < bytes.length; read += step) {
    const count = Math.min(step, bytes.length - read);
    try {
      memory.readInto(from + BigInt(read), bytes.subarray(read, read + count));
    } catch {
      break;
    }
  }
  return { start: from, bytes: bytes.subarray(0, Math.min(read, bytes.length)) };
}

/** Physical memory around the banner: kallsyms is in the same image, a few MiB from it. */
const WINDOW_BEFORE = 16n << 20n;
const WINDOW_AFTER = 32n << 20n;

interface Window {
  start: bigint;
  bytes: Uint8Array;
  range: PhysicalRange;
}

/** Kallsyms from a window of physical memory around a banner candidate, and that window. */
function kallsymsNear(memory: PhysicalMemory): { kallsyms: KallsymsResult; window: Window } {
  const reasons: string[] = [];
  let tried = 0;
  const windows = new Set<bigint>();
  for (const { address, range } of bannerCandidates(memory)) {
    if (++tried > MAX_BANNER_CANDIDATES) break;
    const start = (address > WINDOW_BEFORE ? address - WINDOW_BEFORE : 0n) & ~0x1f_ffffn;
    if (windows.has(start)) continue;
    windows.add(start);
    const window = { ...readClipped(memory, range, start, address + WINDOW_AFTER), range };
    try {
      return { kallsyms: reconstructKallsyms(window.bytes), window };
    } catch (error) {
      reasons.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new GuestStructureError(
    tried === 0
      ? 'no Linux banner anywhere in physical memory: not a Linux guest, or an encrypted one'
      : `no kallsyms tables near any of ${tried} Linux banners (${reasons.slice(0, 2).join('; ')})`,
  );
}

/** Text symbols every arm64 kernel has; their translations must be physically contiguous. */
const ANCHORS = ['_stext', 'vectors', '_etext'];

interface RootCandidate {
  root: bigint;
  layout: { granule: number; vaBits: number };
  regime: Arm64Stage1Regime;
  textPhysical: bigint;
  topEntries: number;
}

/** Blocks of physical memory to scan for tables: the kernel's window first, all of memory after. */
function* windowBlocks(window: Window): Generator<{ base: bigint; bytes: Uint8Array }> {
  yield { base: window.start, bytes: window.bytes };
}

function* memoryBlocks(memory: PhysicalMemory): Generator<{ base: bigint; bytes: Uint8Array }> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (const range of memory.ranges()) {
    for (let base = range.start; base < range.end; base += BigInt(CHUNK)) {
      const length = Number(range.end - base < BigInt(CHUNK) ? range.end - base : BigInt(CHUNK));
      memory.readInto(base, chunk.subarray(0, length));
      yield { base, bytes: chunk.subarray(0, length) };
    }
  }
}

/**
 * Pages that, as the top-level table of a layout, map every anchor to physical addresses as far apart
 * as the anchors are virtually. Checks one entry per page in place, then walks the survivors.
 */
function findRoots(
  memory: PhysicalMemory,
  anchors: bigint[],
  blocks: Iterable<{ base: bigint; bytes: Uint8Array }>,
): RootCandidate[] {
  const read = entryReader(memory);
  const ranges = memory.ranges();
  const frameLimit = ranges.reduce((max, range) => (range.end > max ? range.end : max), 0n);
  const frameFloor = ranges.reduce(
    (min, range) => (range.start < min ? range.start : min),
    frameLimit,
  );
  const layouts = LINUX_ARM64_LAYOUTS.map((layout) => {
    const regime = decodeStage1({
      tcr: linuxTcr(layout.granule, layout.vaBits),
      ttbr0: 0n,
      ttbr1: 0n,
    });
    const half = regime.upper;
    const topShift = levelShift(half.granule, half.startLevel);
    const index = Number(
      (anchors[0]! >> BigInt(topShift)) & ((1n << BigInt(layout.vaBits - topShift)) - 1n),
    );
    return { layout, regime, offset: index * 8 };
  }).filter(({ regime }) => {
    const top = (1n << 64n) - (1n << BigInt(regime.upper.inputBits));
    return anchors.every((anchor) => anchor >= top);
  });
  const candidates: RootCandidate[] = [];
  let walks = 0;
  for (const { base, bytes } of blocks) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const { layout, regime, offset } of layouts) {
      const { granule } = regime.upper;
      const first = Number(
        (BigInt(granule.size) - (base % BigInt(granule.size))) % BigInt(granule.size),
      );
      for (let page = first; page + granule.size <= bytes.length; page += granule.size) {
        const entry = view.getBigUint64(page + offset, true);
        if ((entry & 3n) !== 3n) continue;
        const next = descriptorAddress(entry, granule, false, regime.upper.outputBits);
        if (next >= frameLimit || next < frameFloor) continue;
        const root = base + BigInt(page);
        // Memory full of look-alike entries (hostile, or just huge) costs a bounded number of walks.
        if (++walks > MAX_ROOT_WALKS) return candidates;
        const candidate = verifyRoot(memory, read, root, layout, anchors);
        if (candidate) {
          candidate.topEntries = countValid(view, page, regime);
          candidates.push(candidate);
        }
      }
    }
  }
  return candidates;
}

function verifyRoot(
  memory: PhysicalMemory,
  read: (pa: bigint) => bigint | undefined,
  root: bigint,
  layout: { granule: number; vaBits: number },
  anchors: bigint[],
): RootCandidate | undefined {
  const regime = decodeStage1({
    tcr: linuxTcr(layout.granule, layout.vaBits),
    ttbr0: root,
    ttbr1: root,
  });
  const first = translateArm64Stage1(regime, anchors[0]!, read);
  if (!first.ok) return undefined;
  for (const anchor of anchors.slice(1)) {
    const other = translateArm64Stage1(regime, anchor, read);
    if (!other.ok || other.physical - first.physical !== anchor - anchors[0]!) return undefined;
  }
  const inRam = memory
    .ranges()
    .some((range) => first.physical >= range.start && first.physical < range.end);
  if (!inRam) return undefined;
  return { root, layout, regime, textPhysical: first.physical, topEntries: 0 };
}

function countValid(view: DataView, page: number, regime: Arm64Stage1Regime): number {
  const half = regime.upper;
  const entries = 1 << (half.inputBits - levelShift(half.granule, half.startLevel));
  let valid = 0;
  for (let index = 0; index < entries; index++) {
    if ((view.getBigUint64(page + index * 8, true) & 1n) !== 0n) valid++;
  }
  return valid;
}

/**
 * How far the image runs from _text: the last 64 KiB step that the kernel's table maps at the same
 * distance physically (the init section between rodata and data is unmapped after boot: skipped).
 */
function imageExtent(
  regime: Arm64Stage1Regime,
  read: (physical: bigint) => bigint | undefined,
  virtualStart: bigint,
  physicalStart: bigint,
): number {
  const step = 64 << 10;
  let extent = 0;
  for (let offset = 0; offset < MAX_IMAGE_BYTES; offset += step) {
    const result = translateArm64Stage1(regime, virtualStart + BigInt(offset), read);
    if (result.ok && result.physical === physicalStart + BigInt(offset)) extent = offset + step;
  }
  return extent;
}

export function findArm64Kernel(memory: PhysicalMemory): Arm64KernelLocation {
  const { kallsyms, window } = kallsymsNear(memory);
  const symbols = new KallsymsSymbolTable(kallsyms);
  const anchors = ANCHORS.map((name) => symbols.address(name)).filter(
    (address): address is bigint => address !== undefined,
  );
  if (anchors.length < 2) {
    throw new GuestStructureError('kallsyms has neither _stext nor vectors: not an arm64 kernel');
  }
  // swapper_pg_dir is part of the image, so the window around the banner usually holds it. The table
  // with the most top-level entries wins: the early tables (init_pg_dir, freed after boot but not
  // wiped) map the image too, and nothing else.
  let roots = findRoots(memory, anchors, windowBlocks(window));
  if (roots.length === 0) roots = findRoots(memory, anchors, memoryBlocks(memory));
  const best = roots.sort((a, b) => b.topEntries - a.topEntries)[0];
  if (!best) {
    throw new GuestStructureError(
      `no AArch64 top-level table maps the kernel text at 0x${anchors[0]!.toString(16)} (tried 4K/16K/64K granules and 36- to 52-bit VAs)`,
    );
  }
  // _text is the 2 MiB-aligned start of the image (KIMAGE_VADDR + KASLR offset, MIN_KIMG_ALIGN).
  const virtualStart = anchors[0]! & ~0x1f_ffffn;
  const physicalStart = best.textPhysical - (anchors[0]! - virtualStart);
  const range = memory.ranges().find((r) => physicalStart >= r.start && physicalStart < r.end);
  if (!range) {
    throw new GuestStructureError(
      `the kernel image would start at physical 0x${physicalStart.toString(16)}, outside memory`,
    );
  }
  const extent = BigInt(imageExtent(best.regime, entryReader(memory), virtualStart, physicalStart));
  const end = physicalStart + extent;
  const windowEnd = window.start + BigInt(window.bytes.length);
  const bytes =
    physicalStart >= window.start && end <= windowEnd
      ? window.bytes.subarray(Number(physicalStart - window.start), Number(end - window.start))
      : readClipped(memory, range, physicalStart, end).bytes;
  return {
    kallsyms,
    symbols,
    root: best.root,
    regime: best.regime,
    layout: best.layout,
    virtualStart,
    physicalStart,
    bytes,
  };
}

/**
 * Translation for Linux address spaces: `root` is the TTBR0 table (a process's pgd, user half); the
 * kernel half always goes through the kernel's own table (TTBR1 = swapper_pg_dir).
 */
export function arm64LinuxTranslator(regime: Arm64Stage1Regime): Translator {
  const byRoot = new Map<bigint, Arm64Stage1Regime>();
  return (root, address, readEntry) => {
    let withRoot = byRoot.get(root);
    if (!withRoot) {
      withRoot = { ...regime, lower: { ...regime.lower, tableBase: root } };
      if (byRoot.size > 1024) byRoot.clear();
      byRoot.set(root, withRoot);
    }
    return translateArm64Stage1(withRoot, address, readEntry);
  };
}
