// Where each possible CPU's copy of a per-CPU variable lies: __per_cpu_offset[cpu] plus the variable's
// per-CPU symbol, for cpu < nr_cpu_ids (bounded, as both numbers come from guest memory).
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';

/** CONFIG_NR_CPUS is at most 8192 on x86-64. */
export const MAX_CPUS = 8192;

export interface PerCpuBases {
  /** __per_cpu_offset[cpu] for each cpu < nr_cpu_ids. */
  offsets: bigint[];
  problem?: WalkProblem;
}

export function perCpuOffsets(kernel: LinuxKernel): PerCpuBases {
  const table = kernel.symbols.address('__per_cpu_offset');
  const count = kernel.symbols.address('nr_cpu_ids');
  if (table === undefined || count === undefined) {
    return {
      offsets: [],
      problem: {
        address: 0n,
        message: 'the kernel symbols have no __per_cpu_offset or nr_cpu_ids',
      },
    };
  }
  const offsets: bigint[] = [];
  try {
    const cpus = kernel.reader.u32(count);
    if (cpus === 0 || cpus > MAX_CPUS) {
      return {
        offsets,
        problem: {
          address: count,
          message: `nr_cpu_ids is ${cpus}, not between 1 and ${MAX_CPUS}`,
        },
      };
    }
    const bytes = kernel.reader.bytes(table, cpus * 8);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let cpu = 0; cpu < cpus; cpu++) offsets.push(view.getBigUint64(cpu * 8, true));
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return {
      offsets,
      problem: { address: table, message: `unreadable per-CPU offsets: ${error.message}` },
    };
  }
  return { offsets };
}

/** The address of `symbol`'s copy on each CPU. */
export function perCpuAddresses(
  kernel: LinuxKernel,
  symbol: string,
): { addresses: bigint[]; problem?: WalkProblem } {
  const variable = kernel.symbols.address(symbol);
  if (variable === undefined)
    return { addresses: [], problem: { address: 0n, message: `no per-CPU symbol ${symbol}` } };
  const { offsets, problem } = perCpuOffsets(kernel);
  const addresses = offsets.map((offset) => (offset + variable) & 0xffff_ffff_ffff_ffffn);
  return problem ? { addresses, problem } : { addresses };
}
