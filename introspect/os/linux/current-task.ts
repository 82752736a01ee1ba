// The task running on a vCPU, from its GS base: the per-CPU `current_task` (up to 6.1) or
// `pcpu_hot.current_task` (6.2 on), whose per-CPU offset kallsyms gives as an absolute symbol.
import { RingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';

export function currentTaskOffset(kernel: LinuxKernel): bigint {
  const hot = kernel.symbols.address('pcpu_hot');
  if (hot !== undefined) return hot + kernel.reader.offset('pcpu_hot', 'current_task');
  const current = kernel.symbols.address('current_task');
  if (current !== undefined) return current;
  throw new RingsideError(
    'NOT_FOUND',
    'neither pcpu_hot nor current_task is in the kernel symbols',
  );
}

/** The task_struct address running where GS base (kernel mode) points. */
export function currentTask(
  kernel: LinuxKernel,
  gsBase: bigint,
  offset = currentTaskOffset(kernel),
): bigint {
  return kernel.reader.u64(gsBase + offset);
}

/**
 * How this kernel finds the running task, from its architecture: x86-64 reads the per-CPU
 * `current_task` at GS base plus its offset; AArch64 keeps the task in SP_EL0.
 */
export interface CurrentTaskLocator {
  register: string;
  /** The per-CPU offset to read the task pointer at; absent when the register holds the task. */
  perCpuOffset?: bigint;
}

export function currentTaskLocator(kernel: LinuxKernel): CurrentTaskLocator {
  const where = kernel.arch.currentTask;
  return where.kind === 'per-cpu'
    ? { register: where.register, perCpuOffset: currentTaskOffset(kernel) }
    : { register: where.register };
}

/** The running task's address from a vCPU's registers (kernel mode). */
export function currentTaskFrom(
  kernel: LinuxKernel,
  registers: Readonly<Record<string, bigint>> | undefined,
  locator: CurrentTaskLocator = currentTaskLocator(kernel),
): bigint {
  const base = registers?.[locator.register];
  if (base === undefined) {
    throw new RingsideError(
      'GUEST_STRUCTURE',
      `the running task cannot be found: ${kernel.arch.label} register ${locator.register} was not reported`,
    );
  }
  return locator.perCpuOffset === undefined ? base : kernel.reader.u64(base + locator.perCpuOffset);
}
