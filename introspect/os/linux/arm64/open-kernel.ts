// Opens an ARM64 Linux kernel found in memory: its kallsyms plus the data symbols searched for in the
// image, its .BTF, KASLR against KIMAGE_VADDR, and the base of the linear map (the direct map).
import { AARCH64 } from '../../../arch/index.js';
import { GuestStructureError, RingsideError } from '../../../errors.js';
import { CachedPhysicalMemory } from '../../../memory/cached-memory.js';
import { PagedAddressSpace } from '../../../memory/paged-address-space.js';
import { levelShift } from '../../../memory/arm64/granule.js';
import { descriptorAddress } from '../../../memory/arm64/walk.js';
import type { Arm64Stage1Regime } from '../../../memory/arm64/stage1.js';
import type { PhysicalMemory } from '../../../memory/types.js';
import { parseBtf } from '../btf/index.js';
import type { Arm64KernelImage } from '../kernel-image.js';
import { KernelReader } from '../kernel-reader.js';
import type { LinuxKernel, OpenKernelOptions } from '../kernel-types.js';
import { OverlaySymbolTable } from '../profile/overlay-symbol-table.js';
import type { KernelSymbol, SymbolTable } from '../profile/types.js';
import {
  derivedSymbol,
  findBannerInImage,
  findBtfInImage,
  findInitPidNamespace,
  findInitTask,
  findModuleList,
  findSyscallTableInImage,
} from './data-symbols.js';
import { entryReader } from '../../../memory/paged-address-space.js';

/**
 * Link-time _text (KIMAGE_VADDR = MODULES_END): the bottom of the upper half for VA_BITS_MIN (at most
 * 48) plus the module area, 128 MiB before Linux 6.5 and 2 GiB since.
 */
export function kimageVaddr(vaBits: number, release: string): bigint {
  const vaBitsMin = Math.min(vaBits, 48);
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  const modules = major > 6 || (major === 6 && minor >= 5) ? 2n << 30n : 128n << 20n;
  return (1n << 64n) - (1n << BigInt(vaBitsMin - 1)) + modules;
}

/**
 * The lowest mapping in [from, to) of the kernel's table, by a bounded descent that visits tables in
 * address order and stops at the first leaf: on Linux, the linear map of the first byte of RAM.
 */
export function firstMapping(
  regime: Arm64Stage1Regime,
  read: (physical: bigint) => bigint | undefined,
  from: bigint,
  to: bigint,
): { virtual: bigint; physical: bigint } | undefined {
  const half = regime.upper;
  const { granule } = half;
  const mask = (1n << BigInt(half.inputBits)) - 1n;
  let budget = 1 << 16;
  const visit = (
    table: bigint,
    level: number,
    base: bigint,
  ): { virtual: bigint; physical: bigint } | undefined => {
    const shift = levelShift(granule, level);
    const span = 1n << BigInt(shift);
    const entries = level === half.startLevel ? 1 << (half.inputBits - shift) : 1 << granule.stride;
    for (let index = 0; index < entries; index++) {
      const virtual = base + BigInt(index) * span;
      if (virtual + span <= (from & mask) || virtual >= (to & mask)) continue;
      if (--budget < 0) return undefined;
      const entry = read(table + BigInt(index) * 8n);
      if (entry === undefined || (entry & 1n) === 0n) continue;
      const address = descriptorAddress(entry, granule, half.ds, half.outputBits);
      if (level < 3 && (entry & 2n) !== 0n) {
        const found = visit(address, level + 1, virtual);
        if (found) return found;
        continue;
      }
      return { virtual: virtual | (from & ~mask), physical: address & ~(span - 1n) };
    }
    return undefined;
  };
  return visit(half.tableBase, half.startLevel, 0n);
}

function requireAddress(symbols: SymbolTable, name: string): bigint {
  const address = symbols.address(name);
  if (address === undefined) {
    throw new RingsideError(
      'NOT_FOUND',
      `the kernel symbol ${name} is missing (not in kallsyms, and not found in the image)`,
    );
  }
  return address;
}

export function openArm64Kernel(
  memory: PhysicalMemory,
  image: Arm64KernelImage,
  options: OpenKernelOptions,
): LinuxKernel {
  const { location } = image;
  const cached = new CachedPhysicalMemory(memory);
  const space = new PagedAddressSpace(cached, image.root, image.translator, 'kernel');
  const at = (offset: number): bigint => image.virtualStart + BigInt(offset);

  const derived: KernelSymbol[] = [derivedSymbol('_text', image.virtualStart, 'T')];
  const imageEnd = image.physicalStart + BigInt(image.bytes.length);
  if (image.root >= image.physicalStart && image.root < imageEnd) {
    derived.push(
      derivedSymbol('swapper_pg_dir', at(Number(image.root - image.physicalStart)), 'B'),
    );
  }
  const btf = findBtfInImage(image.bytes);
  if (btf) {
    derived.push(derivedSymbol('__start_BTF', at(btf.start), 'R'));
    derived.push(derivedSymbol('__stop_BTF', at(btf.end), 'R'));
  }
  const bannerOffset = findBannerInImage(image.bytes);
  if (bannerOffset !== undefined)
    derived.push(derivedSymbol('linux_banner', at(bannerOffset), 'R'));
  const textStart = location.symbols.address('_stext') ?? image.virtualStart;
  const textEnd = location.symbols.address('_etext') ?? textStart;
  const syscalls = findSyscallTableInImage(image.bytes, location.symbols, {
    start: textStart,
    end: textEnd,
  });
  if (syscalls) derived.push(derivedSymbol('sys_call_table', at(syscalls.offset), 'R'));

  let types = options.types;
  let typesSource = options.typesSource ?? 'ISF';
  if (!types) {
    if (!btf) {
      throw new RingsideError(
        'NOT_FOUND',
        'no .BTF in the ARM64 kernel image (a kernel without CONFIG_DEBUG_INFO_BTF needs --isf)',
      );
    }
    types = parseBtf(image.bytes.subarray(btf.start, btf.end), { source: 'kernel .BTF' });
    typesSource = 'kernel .BTF in guest memory';
  }
  const reader = new KernelReader(space, types);
  // init_task and the module list are found by their shape, which needs the types.
  const initTask = findInitTask(reader, image.bytes, image.virtualStart);
  if (initTask !== undefined) {
    derived.push(derivedSymbol('init_task', initTask, 'D'));
    const namespace = findInitPidNamespace(reader, initTask);
    if (namespace !== undefined) derived.push(derivedSymbol('init_pid_ns', namespace, 'D'));
  }
  const textOffset = Number(textEnd - image.virtualStart);
  const modules = findModuleList(reader, image.bytes, image.virtualStart, textOffset);
  if (modules !== undefined) derived.push(derivedSymbol('modules', modules, 'd'));

  const symbols = options.symbols?.(image) ?? new OverlaySymbolTable(location.symbols, derived);
  const symbolsSource =
    options.symbolsSource ?? 'kallsyms in guest memory, data symbols found in the image';
  const banner = reader.cString(requireAddress(symbols, 'linux_banner'), 512).trimEnd();
  const release = /^Linux version (\S+)/.exec(banner)?.[1] ?? 'unknown';
  const text = requireAddress(symbols, '_text');
  const { vaBits } = location.layout;
  // The linear map spans the lower half of the TTBR1 range; its lowest mapping is RAM's first byte.
  const top = (1n << 64n) - (1n << BigInt(vaBits));
  const linear = firstMapping(
    image.regime,
    entryReader(memory),
    top,
    top + (1n << BigInt(vaBits - 1)),
  );
  if (!linear) {
    throw new GuestStructureError('the kernel table maps nothing in the linear-map region');
  }
  const syscallAddress = symbols.address('sys_call_table');
  return {
    arch: AARCH64,
    banner,
    release,
    slide: text - kimageVaddr(vaBits, release),
    textPhysical: image.physicalStart,
    directMapBase: linear.virtual - linear.physical,
    root: image.root,
    ...(syscalls && syscallAddress === at(syscalls.offset)
      ? { syscallTable: { address: syscallAddress, entries: syscalls.entries } }
      : {}),
    image,
    symbols,
    types,
    reader,
    sources: { symbols: symbolsSource, types: typesSource },
    newGeneration: () => {
      cached.newGeneration();
      space.newGeneration();
    },
  };
}
