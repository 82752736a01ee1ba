// Credentials no legitimate path produces, judged from memory alone (a snapshot): a real uid of 0
// while cred->user still belongs to another user (setuid() and execs switch the user_struct; a
// patched cred copy does not).
import { isRingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';

export function forgedRootEvents(
  kernel: LinuxKernel,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent[] {
  const r = kernel.reader;
  if (!r.hasField('cred', 'user') || !r.hasField('user_struct', 'uid')) return [];
  const events: VmiEvent[] = [];
  for (const task of listTasks(kernel).tasks) {
    if (task.uid !== 0 || task.kernelThread) continue;
    try {
      const cred = r.u64(task.address + r.offset('task_struct', 'real_cred'));
      const owner = r.u32(r.u64(cred + r.offset('cred', 'user')) + r.offset('user_struct', 'uid'));
      if (owner === 0) continue;
      events.push({
        type: 'cred.change',
        ...base,
        process: {
          pid: task.tgid,
          tgid: task.tgid,
          ppid: task.ppid,
          name: task.comm,
          task: task.address,
        },
        user: {
          id: task.uid,
          group_id: task.gid,
          effective_id: task.euid,
          previous_id: owner,
          previous_effective_id: owner,
          setuid_exec: false,
        },
        details: { via: `uid 0 while cred->user is uid ${owner}'s (no setuid, no exec made it)` },
      });
    } catch (error) {
      if (!isRingsideError(error)) throw error;
    }
  }
  return events;
}
