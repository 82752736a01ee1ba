// The system call table: each entry resolved to the kernel symbol it points at, or flagged when it
// points outside the kernel's text (into a module, or anywhere else: a hook).
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';
import { listModules, type ModuleInfo } from './modules.js';
import { nextSymbolAddress } from './profile/symbol-table.js';

const MAX_SYSCALLS = 1024;

export interface SyscallEntry {
  index: number;
  target: bigint;
  /** `name` or `name+0xoff` of the nearest symbol below the target. */
  symbol?: string;
  /** Where the target lies. */
  location: 'kernel-text' | 'module' | 'elsewhere';
  module?: string;
  /** True when the entry is not what a clean kernel holds: outside text, or inside a function. */
  suspicious: boolean;
}

export function tableLength(kernel: LinuxKernel, table: bigint): number {
  // The table's extent is the distance to the next symbol; a clean kernel has ~450 entries.
  const next = kernel.symbols.nearest(table) && nextSymbolAddress(kernel.symbols, table);
  const bytes = next !== undefined ? next - table : 0n;
  const entries = Number(bytes / 8n);
  return entries > 0 && entries <= MAX_SYSCALLS ? entries : 0;
}

export interface SyscallTable {
  entries: SyscallEntry[];
  /** Set when part of the table could not be read: its entries are missing, the rest are there. */
  problem?: WalkProblem;
}

/** The table, all of it: a page that cannot be read is an error (the integrity check's contract). */
export function readSyscallTable(kernel: LinuxKernel, name = 'sys_call_table'): SyscallEntry[] {
  const { entries, problem, error } = readTable(kernel, name);
  if (problem) throw error;
  return entries;
}

/**
 * What can be read of the table: entries on an unmapped or unreadable page are left out and named
 * in `problem`, the others resolved as usual (a damaged dump still answers for the rest).
 */
export function readSyscallTableEntries(
  kernel: LinuxKernel,
  name = 'sys_call_table',
): SyscallTable {
  const { entries, problem } = readTable(kernel, name);
  return problem ? { entries, problem } : { entries };
}

function readTable(kernel: LinuxKernel, name: string): SyscallTable & { error?: unknown } {
  const table = kernel.symbols.address(name);
  if (table === undefined) return { entries: [] };
  // A table found by a search (ARM64 without data symbols in kallsyms) comes with its extent.
  const count =
    kernel.syscallTable?.address === table
      ? kernel.syscallTable.entries
      : tableLength(kernel, table);
  const start = kernel.symbols.address('_stext') ?? kernel.symbols.address('_text')!;
  const end = kernel.symbols.address('_etext') ?? start;
  let modules: ModuleInfo[] | undefined;
  // Read page by page: an unreadable page costs its entries only.
  const bytes = new Uint8Array(count * 8);
  const readable = new Uint8Array(count).fill(1);
  const unreadable: { first: number; last: number; message: string }[] = [];
  let error: unknown;
  for (let at = 0; at < bytes.length;) {
    const address = table + BigInt(at);
    const chunk = Math.min(bytes.length - at, 4096 - Number(address & 0xfffn));
    try {
      bytes.set(kernel.reader.bytes(address, chunk), at);
    } catch (failure) {
      if (!isRingsideError(failure)) throw failure;
      error ??= failure;
      const first = Math.floor(at / 8);
      const last = Math.ceil((at + chunk) / 8) - 1;
      readable.fill(0, first, last + 1);
      unreadable.push({ first, last, message: failure.message });
    }
    at += chunk;
  }
  const view = new DataView(bytes.buffer);
  const entries: SyscallEntry[] = [];
  // NULL entries after the last real one are the alignment padding up to the next symbol.
  let used = count;
  while (used > 0 && readable[used - 1] === 1 && view.getBigUint64((used - 1) * 8, true) === 0n)
    used--;
  for (let index = 0; index < used; index++) {
    if (readable[index] === 0) continue;
    const target = view.getBigUint64(index * 8, true);
    if (target >= start && target < end) {
      const nearest = kernel.symbols.nearest(target);
      const offset = nearest?.offset ?? 0n;
      entries.push({
        index,
        target,
        ...(nearest
          ? {
              symbol:
                offset === 0n
                  ? nearest.symbol.name
                  : `${nearest.symbol.name}+0x${offset.toString(16)}`,
            }
          : {}),
        location: 'kernel-text',
        suspicious: offset !== 0n,
      });
      continue;
    }
    modules ??= listModules(kernel).modules;
    const owner = modules.find(
      (module) => target >= module.base && target < module.base + BigInt(module.size),
    );
    entries.push({
      index,
      target,
      location: owner ? 'module' : 'elsewhere',
      ...(owner ? { module: owner.name } : {}),
      suspicious: true,
    });
  }
  if (unreadable.length === 0) return { entries };
  const missing = unreadable.reduce((sum, range) => sum + range.last - range.first + 1, 0);
  const ranges = unreadable.map((range) => `${range.first}–${range.last}`).join(', ');
  return {
    entries,
    error,
    problem: {
      address: table + BigInt(unreadable[0]!.first * 8),
      message: `${name} entries ${ranges} (${missing} of ${count}) unreadable: ${unreadable[0]!.message}`,
    },
  };
}
