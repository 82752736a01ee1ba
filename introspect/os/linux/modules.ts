// The kernel's module list (the `modules` list of struct module): name, base and size of each
// module's core, as /proc/modules shows them.
import { GuestStructureError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import { readListEntries, type WalkProblem } from './list-walk.js';

const MODULE_NAME_LEN = 56; // 64 - sizeof(unsigned long)

export interface ModuleInfo {
  address: bigint;
  name: string;
  base: bigint;
  size: number;
  /** enum module_state: 0 live, 1 coming, 2 going, 3 unformed. */
  state: number;
}

export interface ModuleList {
  modules: ModuleInfo[];
  problem?: WalkProblem;
}

export function readModule(kernel: LinuxKernel, address: bigint): ModuleInfo {
  const r = kernel.reader;
  let base: bigint;
  let size: number;
  if (r.hasField('module', 'core_layout.base')) {
    // Up to 6.3: one core layout.
    base = r.u64(address + r.offset('module', 'core_layout.base'));
    size = r.fieldNumber(address, 'module', 'core_layout.size');
  } else {
    // 6.4 on: `struct module_memory mem[MOD_MEM_NUM_TYPES]`; mem[MOD_TEXT] holds the base and
    // /proc/modules sums the core types (MOD_TEXT, MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT).
    const memory = r.field('module', 'mem');
    const array = r.types.get(r.types.resolve(memory.type));
    if (array.kind !== 'array' || array.count < 4) {
      throw new GuestStructureError(
        'module.mem is not the array of module_memory this reader knows',
      );
    }
    const entrySize = r.types.sizeOf(array.element);
    const baseOffset = r.field('module_memory', 'base').offset;
    const sizeOffset = r.field('module_memory', 'size').offset;
    base = r.u64(address + BigInt(memory.offset + baseOffset));
    size = 0;
    for (let index = 0; index < 4; index++) {
      size += r.u32(address + BigInt(memory.offset + index * entrySize + sizeOffset));
    }
  }
  return {
    address,
    name: r.cString(address + r.offset('module', 'name'), MODULE_NAME_LEN),
    base,
    size,
    state: r.fieldNumber(address, 'module', 'state'),
  };
}

export function listModules(kernel: LinuxKernel, limit = 65536): ModuleList {
  const r = kernel.reader;
  const head = kernel.symbols.address('modules');
  if (head === undefined)
    return { modules: [], problem: { address: 0n, message: 'no modules symbol' } };
  const listOffset = r.offset('module', 'list');
  const { entries, problem } = readListEntries(
    r,
    head,
    listOffset,
    'module',
    (address) => readModule(kernel, address),
    limit,
  );
  return problem ? { modules: entries, problem } : { modules: entries };
}

/**
 * Every memory region a module owns, each its own allocation on 6.4+ (mem[]: text, data, rodata,
 * ro_after_init, init text, init data, init rodata), core and init layouts before; empty ones left out.
 */
export function moduleMemory(
  kernel: LinuxKernel,
  address: bigint,
): { base: bigint; size: number }[] {
  const r = kernel.reader;
  const regions: { base: bigint; size: number }[] = [];
  if (r.hasField('module', 'core_layout.base')) {
    for (const layout of ['core_layout', 'init_layout']) {
      if (!r.hasField('module', `${layout}.base`)) continue;
      regions.push({
        base: r.u64(address + r.offset('module', `${layout}.base`)),
        size: r.fieldNumber(address, 'module', `${layout}.size`),
      });
    }
  } else {
    const memory = r.field('module', 'mem');
    const array = r.types.get(r.types.resolve(memory.type));
    if (array.kind !== 'array' || array.count > 16) {
      throw new GuestStructureError(
        'module.mem is not the array of module_memory this reader knows',
      );
    }
    const entrySize = r.types.sizeOf(array.element);
    const baseOffset = r.field('module_memory', 'base').offset;
    const sizeOffset = r.field('module_memory', 'size').offset;
    for (let index = 0; index < array.count; index++) {
      const at = address + BigInt(memory.offset + index * entrySize);
      regions.push({ base: r.u64(at + BigInt(baseOffset)), size: r.u32(at + BigInt(sizeOffset)) });
    }
  }
  return regions.filter((region) => region.base !== 0n && region.size > 0);
}

/** kernel/panic.c's taint_flags, by bit: the letters /proc/modules prints. */
const TAINT_LETTERS = 'PFSRMBUDAWCIOELKXTN';

/** The taint letters of a module (module.taints), '' when none or unreadable. */
export function moduleTaints(kernel: LinuxKernel, module: ModuleInfo): string {
  const r = kernel.reader;
  if (!r.hasField('module', 'taints')) return '';
  const taints = r.fieldValue(module.address, 'module', 'taints');
  let letters = '';
  for (let bit = 0; bit < TAINT_LETTERS.length; bit++) {
    if ((taints >> BigInt(bit)) & 1n) letters += TAINT_LETTERS[bit];
  }
  return letters;
}

/** Whether the kernel found the module's signature good (module.sig_ok); undefined on a kernel
 *  built without module signing (no such field). */
export function moduleSignatureOk(kernel: LinuxKernel, module: ModuleInfo): boolean | undefined {
  const r = kernel.reader;
  if (!r.hasField('module', 'sig_ok')) return undefined;
  return r.fieldValue(module.address, 'module', 'sig_ok') !== 0n;
}
