// The process list read with the guest paused for as short a time as we can: walks first while the
// guest runs (results unused) so that the paused walk runs compiled code, not V8's first pass.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './kernel-types.js';
import { listTasks, type TaskList } from './tasks.js';

/**
 * Walks done while the guest runs before pausing it. Measured from a fresh process on the plain
 * sample guest (65–67 tasks): the paused walk took 21–25 ms of CPU with none, 4–18 with two or four
 * (V8's optimising compiler, on its own thread, often still busy during the pause), 2.0–3.3 with
 * eight. The eight cost ~0.4–0.6 s of wall time at load 12–16 on 2 cores, with the guest running.
 */
export const WARM_UP_WALKS = 8;

export interface PausedTaskList {
  list: TaskList;
  /** From asking for the pause until the resume was answered: what the guest paid. */
  pausedMs: number;
}

/**
 * `pause` and `resume` stop and restart every vCPU (QMP stop and cont, or nothing for a dump). The
 * page cache is dropped after the pause, so nothing read while the guest ran reaches the answer.
 */
export async function pausedTaskList(
  kernel: LinuxKernel,
  pause: () => Promise<unknown>,
  resume: () => Promise<unknown>,
  warmUps = WARM_UP_WALKS,
): Promise<PausedTaskList> {
  for (let walk = 0; walk < warmUps; walk++) {
    kernel.newGeneration();
    try {
      listTasks(kernel);
    } catch (error) {
      // A running guest's list may be caught mid-update: only the paused walk counts.
      if (!isRingsideError(error)) throw error;
    }
  }
  const started = performance.now();
  await pause();
  let list: TaskList;
  try {
    kernel.newGeneration();
    list = listTasks(kernel);
  } finally {
    await resume();
  }
  return { list, pausedMs: performance.now() - started };
}
