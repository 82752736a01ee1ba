// The name of a function inside a loaded module, from the module's own symbol table
// (module->kallsyms: an Elf64_Sym array and its string table, as /proc/kallsyms shows them).
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';

/** Bounds: symbols read per module, bytes of a name. */
export const MODULE_SYMBOL_LIMITS = { symbols: 1 << 16, name: 128 };
const ELF64_SYM_BYTES = 24;

/**
 * `name+0xoff` of the module symbol at or below `address` (within its size when it has one), or
 * undefined when the module keeps no symbols, none fits, or they cannot be read.
 */
export function moduleSymbol(
  kernel: LinuxKernel,
  module: bigint,
  address: bigint,
): string | undefined {
  const r = kernel.reader;
  if (!r.hasField('module', 'kallsyms') || !r.hasField('mod_kallsyms', 'symtab')) return undefined;
  try {
    const table = r.u64(module + r.offset('module', 'kallsyms'));
    if (table === 0n) return undefined;
    const copy = r.struct(table, 'mod_kallsyms', ['symtab', 'num_symtab', 'strtab']);
    const count = Math.min(copy.u32('num_symtab'), MODULE_SYMBOL_LIMITS.symbols);
    const symtab = copy.u64('symtab');
    const strtab = copy.u64('strtab');
    if (count === 0 || symtab === 0n || strtab === 0n) return undefined;
    const bytes = r.bytes(symtab, count * ELF64_SYM_BYTES);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let best: { name: number; value: bigint } | undefined;
    for (let index = 0; index < count; index++) {
      const at = index * ELF64_SYM_BYTES;
      const value = view.getBigUint64(at + 8, true);
      const size = view.getBigUint64(at + 16, true);
      const type = view.getUint8(at + 4) & 0xf; // STT_FUNC 2, STT_OBJECT 1
      if (value === 0n || value > address || (type !== 1 && type !== 2)) continue;
      if (size !== 0n && address >= value + size) continue;
      if (!best || value > best.value) best = { name: view.getUint32(at, true), value };
    }
    if (!best) return undefined;
    const name = r.cString(strtab + BigInt(best.name), MODULE_SYMBOL_LIMITS.name);
    return name ? `${name}+0x${(address - best.value).toString(16)}` : undefined;
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return undefined;
  }
}
