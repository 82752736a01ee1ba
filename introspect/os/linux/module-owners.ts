// struct modules found inside module memory: a module's struct module lives in its own memory (the
// core layout up to 6.3, the MOD_DATA region from 6.4) and names that region as its own, so module
// memory no view knows is searched for one — a hidden module's name and state, bounded and page-wise.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';
import { moduleMemory, readModule, type ModuleInfo } from './modules.js';

export interface EmbeddedModule {
  module: ModuleInfo;
  /** The bases of every memory region it names as its own. */
  regions: bigint[];
}

/** Bounds: bytes searched per region and in all (modules are kilobytes to a few megabytes). */
export const OWNER_SCAN_LIMITS = { regionBytes: 8 << 20, totalBytes: 64 << 20 };

const PAGE = 4096;

/** Offsets in struct module of the fields that hold a region's base. */
function baseOffsets(kernel: LinuxKernel): bigint[] {
  const r = kernel.reader;
  if (r.hasField('module', 'core_layout.base')) return [r.offset('module', 'core_layout.base')];
  if (!r.hasField('module', 'mem') || !r.hasField('module_memory', 'base')) return [];
  const memory = r.field('module', 'mem');
  const array = r.types.get(r.types.resolve(memory.type));
  if (array.kind !== 'array' || array.count > 16) return [];
  const entry = r.types.sizeOf(array.element);
  const base = r.field('module_memory', 'base').offset;
  return Array.from({ length: array.count }, (_, index) =>
    BigInt(memory.offset + index * entry + base),
  );
}

/**
 * The struct modules inside `regions` that name the region they lie in as one of theirs (each
 * found once, however many regions it owns), read with their state so a caller can tell a module
 * the kernel is loading or freeing (unformed) from a live one.
 */
export function findEmbeddedModules(
  kernel: LinuxKernel,
  regions: readonly { start: bigint; end: bigint }[],
  problems: WalkProblem[],
): EmbeddedModule[] {
  const r = kernel.reader;
  const offsets = baseOffsets(kernel);
  const moduleSize = BigInt(r.types.sizeOf(r.types.findStruct('module') ?? -1));
  if (offsets.length === 0 || moduleSize <= 0n) return [];
  const found = new Map<bigint, EmbeddedModule>();
  let budget = OWNER_SCAN_LIMITS.totalBytes;
  for (const { start, end } of regions) {
    const low = Number(start & 0xffff_ffffn);
    const high = Number(start >> 32n);
    const wanted = Math.min(Number(end - start), OWNER_SCAN_LIMITS.regionBytes);
    const length = Math.min(wanted, budget);
    budget -= length;
    for (let page = 0; page + 8 <= length; page += PAGE) {
      let bytes: Uint8Array;
      try {
        bytes = r.bytes(start + BigInt(page), Math.min(PAGE, length - page));
      } catch (error) {
        if (!isRingsideError(error)) throw error;
        continue; // a guard page or one not mapped: nothing of a struct module there
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at + 8 <= bytes.length; at += 8) {
        if (view.getUint32(at, true) !== low || view.getUint32(at + 4, true) !== high) continue;
        const word = start + BigInt(page + at);
        for (const offset of offsets) {
          const candidate = word - offset;
          if (candidate < start || candidate + moduleSize > end || found.has(candidate)) continue;
          const embedded = readEmbedded(kernel, candidate, start);
          if (embedded) found.set(candidate, embedded);
        }
      }
    }
    if (length < wanted) {
      problems.push({
        address: start,
        message: `module memory searched for struct modules up to ${OWNER_SCAN_LIMITS.totalBytes} bytes; stopped`,
      });
      break;
    }
  }
  return [...found.values()];
}

/** A struct module at `address` that names `home` as one of its regions and has a plain name. */
function readEmbedded(kernel: LinuxKernel, address: bigint, home: bigint) {
  try {
    const module = readModule(kernel, address);
    if (!/^[\x21-\x7e]{1,55}$/.test(module.name) || module.state < 0 || module.state > 3)
      return undefined;
    const regions = moduleMemory(kernel, address).map((region) => region.base);
    return regions.includes(home) ? { module, regions } : undefined;
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return undefined;
  }
}
