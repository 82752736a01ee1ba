// process.exec events: every execve in the guest, read from kernel structures at bprm_execve (the
// point where the new program is open and its arguments are copied): pid, parent, uid, filename, argv.
import { Observable } from 'rxjs';
import { isRingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { PagedAddressSpace } from '../../introspect/memory/paged-address-space.js';
import { currentTask, currentTaskOffset } from '../../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { KernelReader } from '../../introspect/os/linux/kernel-reader.js';
import { readTask } from '../../introspect/os/linux/tasks.js';
import { checkRequirements } from '../requirements.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

const MAX_ARGS = 256;
const MAX_ARG_BYTES = 4096;
const MAX_PATH = 4096;

/** argv as copied to the top of the new program's stack (bprm->p in bprm->mm). */
export function readArguments(kernel: LinuxKernel, bprm: bigint): string[] {
  const r = kernel.reader;
  const argc = r.i32(bprm + r.offset('linux_binprm', 'argc'));
  const p = r.u64(bprm + r.offset('linux_binprm', 'p'));
  const mm = r.u64(bprm + r.offset('linux_binprm', 'mm'));
  if (argc <= 0 || mm === 0n) return [];
  const pgd = r.u64(mm + r.offset('mm_struct', 'pgd'));
  const space = new PagedAddressSpace(
    r.space.physical,
    pgd - kernel.directMapBase,
    kernel.image.translator,
    'new program',
  );
  const userReader = new KernelReader(space, kernel.types);
  const args: string[] = [];
  let at = p;
  for (let index = 0; index < Math.min(argc, MAX_ARGS); index++) {
    const { text, length } = userReader.readCString(at, MAX_ARG_BYTES);
    args.push(text);
    at += BigInt(length + 1);
  }
  return args;
}

export const execMonitor: DetectorPlugin = {
  meta: {
    id: 'exec-monitor',
    version: '1.0.0',
    description: 'Every program execution in the guest, from bprm_execve',
    symbols: ['bprm_execve'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['process.exec'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    checkRequirements(execMonitor, { domain, kernel });
    const address = kernel.symbols.address('bprm_execve')!;
    // bprm_execve(bprm, fd, filename, flags): the first and third arguments, and the running task —
    // from the per-CPU current_task through GS on x86-64, from SP_EL0 on ARM64.
    const arm64 = kernel.architecture === 'aarch64';
    const currentOffset = arm64 ? 0n : currentTaskOffset(kernel);
    const r = kernel.reader;
    return new Observable<VmiEvent>((subscriber) => {
      const subscription = domain.hook({ kind: 'exec', address, name: 'bprm_execve' }).subscribe({
        next: ({ event }) => {
          const registers = event.registers ?? {};
          try {
            const bprm = (arm64 ? registers.x0 : registers.rdi) ?? 0n;
            const filenameStruct = (arm64 ? registers.x2 : registers.rdx) ?? 0n;
            const task = readTask(
              kernel,
              arm64
                ? (registers.sp_el0 ?? 0n)
                : currentTask(kernel, registers.gs_base ?? 0n, currentOffset),
            );
            const filename = r.cString(
              r.u64(filenameStruct + r.offset('filename', 'name')),
              MAX_PATH,
            );
            let args: string[] = [];
            try {
              args = readArguments(kernel, bprm);
            } catch (error) {
              if (!isRingsideError(error)) throw error;
            }
            const parent = kernel.reader.u64(task.address + r.offset('task_struct', 'real_parent'));
            subscriber.next({
              type: 'process.exec',
              domain: event.domain,
              vcpu: event.vcpu,
              time: event.time,
              timestamp: event.timestamp,
              process: {
                pid: task.tgid,
                tgid: task.tgid,
                ppid: task.ppid,
                name: task.comm,
                executable: filename,
                args,
                command_line: args.join(' '),
                task: task.address,
                parent: {
                  pid: task.ppid,
                  name: parent ? r.cString(parent + r.offset('task_struct', 'comm'), 16) : '',
                },
              },
              user: { id: task.uid, group_id: task.gid, effective_id: task.euid },
              vmi: { rip: registers.rip ?? registers.pc ?? address, hook: 'bprm_execve' },
            });
          } catch (error) {
            if (!isRingsideError(error)) throw error;
            subscriber.next({
              type: 'process.exec',
              domain: event.domain,
              vcpu: event.vcpu,
              time: event.time,
              details: { error: `could not read the exec: ${error.message}` },
            });
          }
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => subscription.unsubscribe();
    });
  },
};
