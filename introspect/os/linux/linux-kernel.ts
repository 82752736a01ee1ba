// Opens the Linux kernel inside guest memory with no profile file: the kernel image from the page
// tables, symbols from kallsyms, types from .BTF, KASLR from _text, the kernel's own page-table root.
// A System.map or a Volatility 3 ISF may be given instead of the kernel's own symbols or types.
import { GuestStructureError, RingsideError } from '../../errors.js';
import { CachedPhysicalMemory } from '../../memory/cached-memory.js';
import { entryReader, PagedAddressSpace, x86Translator } from '../../memory/paged-address-space.js';
import type { PhysicalMemory } from '../../memory/types.js';
import type { VcpuState } from '../../domain/vcpu.js';
import { X86_64 } from '../../arch/index.js';
import { parseBtf } from './btf/index.js';
import { reconstructKallsyms } from './kallsyms/reconstruct.js';
import { KallsymsSymbolTable } from './kallsyms/symbol-table.js';
import {
  DEFAULT_TEXT_ADDRESS,
  findKernelImage,
  type KernelImage,
  type X86KernelImage,
} from './kernel-image.js';
import { openArm64Kernel } from './arm64/open-kernel.js';
import { KernelReader } from './kernel-reader.js';
import type { SymbolTable, TypeTable } from './profile/types.js';
import type { LinuxKernel, OpenKernelOptions } from './kernel-types.js';
import { translateX86 } from '../../memory/x86/paging.js';

export type { LinuxKernel, OpenKernelOptions } from './kernel-types.js';

export function requireSymbol(symbols: SymbolTable, name: string): bigint {
  const address = symbols.address(name);
  if (address === undefined)
    throw new RingsideError('NOT_FOUND', `the kernel symbol ${name} is missing`);
  return address;
}

function sliceOfImage(image: KernelImage, start: bigint, end: bigint): Uint8Array | undefined {
  const from = start - image.virtualStart;
  const to = end - image.virtualStart;
  if (from < 0n || to > BigInt(image.bytes.length) || to < from) return undefined;
  return image.bytes.subarray(Number(from), Number(to));
}

export function openLinuxKernel(
  memory: PhysicalMemory,
  vcpus: readonly VcpuState[],
  options: OpenKernelOptions = {},
): LinuxKernel {
  const image = findKernelImage(memory, vcpus, options.architecture);
  return image.architecture === 'aarch64'
    ? openArm64Kernel(memory, image, options)
    : openX86Kernel(memory, image, options);
}

function openX86Kernel(
  memory: PhysicalMemory,
  image: X86KernelImage,
  options: OpenKernelOptions,
): LinuxKernel {
  const symbols =
    options.symbols?.(image) ?? new KallsymsSymbolTable(reconstructKallsyms(image.bytes));
  const text = requireSymbol(symbols, '_text');
  const slide = text - DEFAULT_TEXT_ADDRESS;

  // Small reads (structures, page-table entries) go through a page cache; a live guest drops it at
  // every new generation.
  const cached = new CachedPhysicalMemory(memory);
  // Kernel reads go through the kernel's own top-level table, whatever process a vCPU was running.
  const bootSpace = new PagedAddressSpace(cached, image.root, x86Translator(image.mode), 'kernel');
  let root = image.root;
  const initTopPgt = symbols.address('init_top_pgt') ?? symbols.address('swapper_pg_dir');
  if (initTopPgt !== undefined) {
    const translated = translateX86(image.mode, image.root, initTopPgt, entryReader(memory));
    if (translated.ok) root = translated.physical;
  }
  const space =
    root === image.root
      ? bootSpace
      : new PagedAddressSpace(cached, root, x86Translator(image.mode), 'kernel');

  let types = options.types;
  let typesSource = options.typesSource ?? 'ISF';
  if (!types) {
    const start = requireSymbol(symbols, '__start_BTF');
    const stop = requireSymbol(symbols, '__stop_BTF');
    if (stop <= start || stop - start > 64n << 20n) {
      throw new GuestStructureError(
        `implausible .BTF bounds 0x${start.toString(16)}–0x${stop.toString(16)}`,
      );
    }
    const bytes =
      sliceOfImage(image, start, stop) ??
      new KernelReader(space, emptyTypes).bytes(start, Number(stop - start));
    types = parseBtf(bytes, { source: 'kernel .BTF' });
    typesSource = 'kernel .BTF in guest memory';
  }
  const reader = new KernelReader(space, types);
  const banner = reader.cString(requireSymbol(symbols, 'linux_banner'), 512).trimEnd();
  const release = /^Linux version (\S+)/.exec(banner)?.[1] ?? 'unknown';
  const directMapSymbol = symbols.address('page_offset_base');
  const directMapBase =
    directMapSymbol !== undefined ? reader.u64(directMapSymbol) : 0xffff_8880_0000_0000n;
  const textTranslation = translateX86(image.mode, root, text, entryReader(memory));
  return {
    arch: X86_64,
    banner,
    release,
    slide,
    textPhysical: textTranslation.ok ? textTranslation.physical : image.physicalStart,
    directMapBase,
    root,
    image,
    symbols,
    types,
    reader,
    sources: { symbols: options.symbolsSource ?? 'kallsyms in guest memory', types: typesSource },
    newGeneration: () => {
      cached.newGeneration();
      space.newGeneration();
    },
  };
}

export const emptyTypes: TypeTable = {
  get: () => ({ kind: 'void' }),
  findStruct: () => undefined,
  sizeOf: () => 0,
  resolve: (id) => id,
  field: () => undefined,
  ids: () => [],
};
