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
