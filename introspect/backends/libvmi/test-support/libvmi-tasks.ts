// The guest's task list as LibVMI sees it: init_task's `tasks` list walked with LibVMI's own offsets
// (from the profile it was initialised with) and its own reads and translations — what
// vmi-process-list does, so that it can be compared with Ringside's walk of the same memory.
import { GuestStructureError, RingsideError } from '../../../errors.js';
import type { LibvmiInstance } from '../libvmi-instance.js';

export interface LibvmiTask {
  address: bigint;
  pid: number;
  comm: string;
}

/** More tasks than any real kernel runs: a longer list is a cycle or a forgery. */
const MAX_TASKS = 1 << 20;
const COMM_LENGTH = 16;

function required(instance: LibvmiInstance, name: string): bigint {
  const offset = instance.offset(name);
  if (offset === undefined)
    throw new RingsideError(
      'NOT_FOUND',
      `libvmi:${instance.name}: LibVMI has no ${name} offset (was it initialised with a Linux profile?)`,
    );
  return offset;
}

export function listLibvmiTasks(instance: LibvmiInstance, limit = MAX_TASKS): LibvmiTask[] {
  const tasksOffset = required(instance, 'linux_tasks');
  const pidOffset = required(instance, 'linux_pid');
  const nameOffset = required(instance, 'linux_name');
  const initTask = instance.symbolAddress('init_task');
  if (initTask === undefined)
    throw new RingsideError('NOT_FOUND', `libvmi:${instance.name}: LibVMI cannot find init_task`);
  const head = initTask + tasksOffset;
  const word = new Uint8Array(8);
  const view = new DataView(word.buffer);
  const comm = new Uint8Array(COMM_LENGTH);
  const tasks: LibvmiTask[] = [];
  const seen = new Set<bigint>();
  let entry = head;
  do {
    const address = entry - tasksOffset;
    if (seen.has(address))
      throw new GuestStructureError(
        `the task list loops back to 0x${address.toString(16)} without reaching init_task`,
      );
    if (tasks.length >= limit)
      throw new GuestStructureError(`the task list has more than ${limit} entries`);
    seen.add(address);
    instance.readVirtual(address + pidOffset, word.subarray(0, 4));
    const pid = view.getInt32(0, true);
    instance.readVirtual(address + nameOffset, comm);
    const end = comm.indexOf(0);
    tasks.push({
      address,
      pid,
      comm: Buffer.from(comm.subarray(0, end < 0 ? COMM_LENGTH : end)).toString('latin1'),
    });
    instance.readVirtual(entry, word);
    entry = view.getBigUint64(0, true);
  } while (entry !== head);
  return tasks;
}
