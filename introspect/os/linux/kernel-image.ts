// Finds the running Linux kernel's image in physical memory: a page-table root that maps it (from the
// vCPUs' CR3, or by scanning for a top-level table when a dump has no registers), the virtual and
// physical address of its first mapped page, and a copy of its bytes for the table searches.
import { GuestStructureError } from '../../errors.js';
import type { PhysicalMemory, TranslationResult } from '../../memory/types.js';
import {
  cr3ToRoot,
  translateX86,
  X86_64_4LEVEL,
  X86_64_5LEVEL,
  type X86PagingMode,
} from '../../memory/x86/paging.js';
import type { VcpuState } from '../../domain/vcpu.js';
import type { ArchitectureName } from '../../arch/index.js';
import { entryReader, x86Translator, type Translator } from '../../memory/paged-address-space.js';
import type { Arm64Stage1Regime } from '../../memory/arm64/stage1.js';
import {
  arm64LinuxTranslator,
  findArm64Kernel,
  type Arm64KernelLocation,
} from './arm64/find-kernel.js';

/** The kernel's high mapping: __START_KERNEL_map … the module area (arch/x86/include/asm/page_64_types.h). */
export const KERNEL_MAP_START = 0xffff_ffff_8000_0000n;
export const KERNEL_MAP_END = 0xffff_ffff_c000_0000n;
/** Link-time address of _text without KASLR (__START_KERNEL). */
export const DEFAULT_TEXT_ADDRESS = 0xffff_ffff_8100_0000n;
const LARGE_PAGE = 0x20_0000n;
const CR4_LA57 = 1n << 12n;
const MAX_IMAGE_BYTES = 256 << 20;

interface KernelImageCommon {
  /** Physical address of a top-level page table that maps the kernel. */
  root: bigint;
  /** Virtual address of the first mapped 2 MiB page of the kernel image. */
  virtualStart: bigint;
  physicalStart: bigint;
  /** The mapped image (contiguous physically), for kallsyms and BTF searches. */
  bytes: Uint8Array;
  /** How the root was found: a vCPU's CR3, or a scan of memory. */
  rootSource: 'cr3' | 'scan';
  /**
   * Translation for this kernel. `root` is a page-table root: CR3 on x86; on ARM64 a process's
   * TTBR0 (user half), the kernel half always going through the kernel's own table (TTBR1).
   */
  translator: Translator;
  /** Names the paging mode, e.g. "x86-64 4-level" or "AArch64 4 KiB granule, 48-bit VA". */
  paging: string;
}

export interface X86KernelImage extends KernelImageCommon {
  architecture: 'x86_64';
  mode: X86PagingMode;
}

export interface Arm64KernelImage extends KernelImageCommon {
  architecture: 'aarch64';
  regime: Arm64Stage1Regime;
  /** What the search found: kallsyms, the layout, the table. */
  location: Arm64KernelLocation;
}

export type KernelImage = X86KernelImage | Arm64KernelImage;

/** Runs of the kernel high mapping whose 2 MiB steps are physically contiguous, lowest first. */
function kernelRuns(
  memory: PhysicalMemory,
  root: bigint,
  mode: X86PagingMode,
): { virtual: bigint; physical: bigint; length: bigint }[] {
  const read = entryReader(memory);
  const runs: { virtual: bigint; physical: bigint; length: bigint }[] = [];
  let current: { virtual: bigint; physical: bigint; length: bigint } | undefined;
  for (let virtual = KERNEL_MAP_START; virtual < KERNEL_MAP_END; virtual += LARGE_PAGE) {
    const result: TranslationResult = translateX86(mode, root, virtual, read);
    if (result.ok && current && result.physical === current.physical + current.length) {
      current.length += LARGE_PAGE;
      continue;
    }
    if (current) runs.push(current);
    current = result.ok ? { virtual, physical: result.physical, length: LARGE_PAGE } : undefined;
  }
  if (current) runs.push(current);
  return runs;
}

function imageFrom(
  memory: PhysicalMemory,
  root: bigint,
  mode: X86PagingMode,
  rootSource: 'cr3' | 'scan',
): X86KernelImage | undefined {
  const runs = kernelRuns(memory, root, mode).filter((run) => run.length >= 4n * LARGE_PAGE);
  const run = runs[0];
  if (!run) return undefined;
  const length = Number(
    run.length > BigInt(MAX_IMAGE_BYTES) ? BigInt(MAX_IMAGE_BYTES) : run.length,
  );
  const bytes = Buffer.allocUnsafe(length);
  // Read in 2 MiB steps: a step with no readable page (past the end of RAM) ends the image; a step
  // with some pages missing from the dump keeps the others, the missing ones zero in this search
  // copy only (reads of kernel memory still fail on them), so one lost page does not hide the kernel.
  let read = 0;
  for (; read < length; read += Number(LARGE_PAGE)) {
    const step = bytes.subarray(read, read + Number(LARGE_PAGE));
    try {
      memory.readInto(run.physical + BigInt(read), step);
    } catch {
      if (readPages(memory, run.physical + BigInt(read), step) === 0) break;
    }
  }
  if (read === 0) return undefined;
  return {
    architecture: 'x86_64',
    root,
    mode,
    translator: x86Translator(mode),
    paging: mode.name,
    virtualStart: run.virtual,
    physicalStart: run.physical,
    bytes: bytes.subarray(0, read),
    rootSource,
  };
}

/** Reads `target` page by page, zeroing the pages that cannot be read; returns the pages read. */
function readPages(memory: PhysicalMemory, physical: bigint, target: Uint8Array): number {
  let pages = 0;
  for (let at = 0; at < target.length; at += 4096) {
    const page = target.subarray(at, at + 4096);
    try {
      memory.readInto(physical + BigInt(at), page);
      pages++;
    } catch {
      page.fill(0);
    }
  }
  return pages;
}

/** Page-table roots worth trying, from each vCPU's CR3 (with the PTI user-half bit cleared too). */
function rootsFromVcpus(vcpus: readonly VcpuState[]): { root: bigint; mode: X86PagingMode }[] {
  const seen = new Set<bigint>();
  const roots: { root: bigint; mode: X86PagingMode }[] = [];
  for (const vcpu of vcpus) {
    const cr3 = vcpu.registers.cr3;
    if (cr3 === undefined || cr3 === 0n) continue;
    const mode = ((vcpu.registers.cr4 ?? 0n) & CR4_LA57) !== 0n ? X86_64_5LEVEL : X86_64_4LEVEL;
    for (const root of [cr3ToRoot(cr3) & ~0x1000n, cr3ToRoot(cr3)]) {
      if (!seen.has(root)) {
        seen.add(root);
        roots.push({ root, mode });
      }
    }
  }
  return roots;
}

/**
 * Scans physical memory for a top-level table whose last entry maps the kernel high mapping, for dumps
 * without registers (raw, LiME). Reads in large chunks and checks entry 511 of each page in place.
 */
function* scanForRoots(memory: PhysicalMemory): Generator<bigint> {
  const chunk = Buffer.allocUnsafe(16 << 20);
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const frameLimit = memory
    .ranges()
    .reduce((max, range) => (range.end > max ? range.end : max), 0n);
  for (const range of memory.ranges()) {
    for (let base = range.start; base < range.end; base += BigInt(chunk.length)) {
      const length = Number(
        range.end - base < BigInt(chunk.length) ? range.end - base : BigInt(chunk.length),
      );
      const window = chunk.subarray(0, length);
      memory.readInto(base, window);
      for (let page = 0; page + 4096 <= length; page += 4096) {
        const last = view.getBigUint64(page + 0xff8, true);
        if ((last & 0x3n) !== 0x3n || (last & 0x80n) !== 0n) continue;
        const frame = last & 0x000f_ffff_ffff_f000n;
        if (frame === 0n || frame >= frameLimit) continue;
        // The low (user) half of a kernel table is mostly empty; its last entry maps the kernel.
        yield base + BigInt(page);
      }
    }
  }
}

/**
 * A real guest's page tables all share one kernel half (and with PTI, two roots per process share it
 * too), so at most this many distinct kernel halves are walked: hostile CR3s or scan candidates by the
 * thousand cost one read each, not a walk each.
 */
const MAX_KERNEL_HALVES = 64;

/**
 * The top-level entry that maps the kernel window (index 511 in 4- and 5-level paging alike): the
 * walk of the window depends on it alone. Undefined when it maps nothing.
 */
function kernelHalfEntry(memory: PhysicalMemory, root: bigint): bigint | undefined {
  const entry = entryReader(memory)((root & 0x000f_ffff_ffff_f000n) + 511n * 8n);
  return entry !== undefined && (entry & 1n) !== 0n ? entry : undefined;
}

function findX86KernelImage(memory: PhysicalMemory, vcpus: readonly VcpuState[]): X86KernelImage {
  const tried = new Set<string>();
  let exhausted = false;
  const attempt = (root: bigint, mode: X86PagingMode, source: 'cr3' | 'scan') => {
    const entry = kernelHalfEntry(memory, root);
    if (entry === undefined) return undefined;
    const key = `${mode.name}:${entry}`;
    if (tried.has(key)) return undefined;
    if (tried.size >= MAX_KERNEL_HALVES) {
      exhausted = true;
      return undefined;
    }
    tried.add(key);
    return imageFrom(memory, root, mode, source);
  };
  for (const { root, mode } of rootsFromVcpus(vcpus)) {
    const image = attempt(root, mode, 'cr3');
    if (image) return image;
    if (exhausted) break;
  }
  exhausted = false;
  tried.clear();
  for (const root of scanForRoots(memory)) {
    const image = attempt(root, X86_64_4LEVEL, 'scan');
    if (image) return image;
    if (exhausted) break;
  }
  const limit = exhausted ? ` (stopped after ${MAX_KERNEL_HALVES} distinct kernel halves)` : '';
  throw new GuestStructureError(
    vcpus.length > 0
      ? `no page-table root maps a Linux kernel image: neither the vCPUs’ CR3 nor a scan of memory found one${limit}`
      : `no page-table root maps a Linux kernel image (the dump has no registers and a scan found none${limit})`,
  );
}

function findArm64KernelImage(memory: PhysicalMemory): Arm64KernelImage {
  const location = findArm64Kernel(memory);
  const { granule, vaBits } = location.layout;
  return {
    architecture: 'aarch64',
    root: location.root,
    virtualStart: location.virtualStart,
    physicalStart: location.physicalStart,
    bytes: location.bytes,
    // QEMU's AArch64 ELF cores record no TTBR1_EL1: the table is always found by a scan.
    rootSource: 'scan',
    regime: location.regime,
    translator: arm64LinuxTranslator(location.regime),
    paging: `AArch64 ${granule / 1024} KiB granule, ${vaBits}-bit VA`,
    location,
  };
}

/**
 * Finds the kernel for an architecture: x86-64 from CR3 or a scan, ARM64 by its kallsyms and a scan
 * for its table. When the dump does not say (raw, LiME), x86-64 is tried first, then ARM64.
 */
export function findKernelImage(
  memory: PhysicalMemory,
  vcpus: readonly VcpuState[],
  architecture: ArchitectureName | 'unknown' = 'unknown',
): KernelImage {
  if (architecture === 'aarch64') return findArm64KernelImage(memory);
  if (architecture === 'x86_64') return findX86KernelImage(memory, vcpus);
  try {
    return findX86KernelImage(memory, vcpus);
  } catch (x86Error) {
    if (!(x86Error instanceof GuestStructureError)) throw x86Error;
    try {
      return findArm64KernelImage(memory);
    } catch (arm64Error) {
      if (!(arm64Error instanceof GuestStructureError)) throw arm64Error;
      throw new GuestStructureError(
        `no Linux kernel found as x86-64 (${x86Error.message}) nor as ARM64 (${arm64Error.message})`,
      );
    }
  }
}
