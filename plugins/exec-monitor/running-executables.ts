// On a snapshot, no exec is left to see, but each process still holds its executable
// (mm->exe_file): a process running a program from a world-writable folder, an unlinked file or a
// memfd is reported as the process.exec that started it, so the exec rules judge it as they do live.
import type { VmiEvent } from '../../introspect/events/event.js';
import { isRingsideError } from '../../introspect/errors.js';
import { PagedAddressSpace } from '../../introspect/memory/paged-address-space.js';
import { readExecutablePath, type FilePath } from '../../introspect/os/linux/file-path.js';
import { KernelReader } from '../../introspect/os/linux/kernel-reader.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks, type TaskInfo } from '../../introspect/os/linux/tasks.js';
import { processFields, userFields } from '../guest-context.js';

/** Where droppers unpack: any user can write there (the starter rules' writable_exec_dirs). */
export const WRITABLE_FOLDERS = ['/tmp/', '/var/tmp/', '/dev/shm/', '/run/user/'] as const;
const MAX_COMMAND_LINE = 4096;

/** Whether a running executable is worth an event: from a writable folder, unlinked, or a memfd. */
export function suspiciousExecutable(file: FilePath): boolean {
  return (
    file.deleted ||
    file.path.startsWith('/memfd:') ||
    WRITABLE_FOLDERS.some((folder) => file.path.startsWith(folder))
  );
}

/** The executable as /proc/PID/exe shows it: " (deleted)" after an unlinked file's path. */
export const executableName = (file: FilePath): string =>
  file.deleted ? `${file.path} (deleted)` : file.path;

/** argv from mm->arg_start..arg_end in the process's own address space ([] when unreadable). */
export function readCommandLine(kernel: LinuxKernel, task: TaskInfo): string[] {
  const r = kernel.reader;
  if (task.pageTableRoot === undefined) return [];
  const start = r.u64(task.mm + r.offset('mm_struct', 'arg_start'));
  const end = r.u64(task.mm + r.offset('mm_struct', 'arg_end'));
  if (end <= start) return [];
  const length = Number(end - start > BigInt(MAX_COMMAND_LINE) ? MAX_COMMAND_LINE : end - start);
  const space = new PagedAddressSpace(
    r.space.physical,
    task.pageTableRoot,
    kernel.image.translator,
    'process',
  );
  try {
    const bytes = new KernelReader(space, kernel.types).bytes(start, length);
    return Buffer.from(bytes).toString('utf8').split('\0').filter(Boolean);
  } catch (error) {
    if (isRingsideError(error)) return [];
    throw error;
  }
}

/** One process.exec event per user process whose executable is suspicious. */
export function runningExecutableEvents(
  kernel: LinuxKernel,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent[] {
  const events: VmiEvent[] = [];
  for (const task of listTasks(kernel).tasks) {
    if (task.kernelThread || task.mm === 0n) continue;
    let file: FilePath | undefined;
    try {
      file = readExecutablePath(kernel, task.mm);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      continue;
    }
    if (!file || !suspiciousExecutable(file)) continue;
    const args = readCommandLine(kernel, task);
    events.push({
      type: 'process.exec',
      ...base,
      process: {
        ...processFields(kernel, task),
        executable: executableName(file),
        args,
        command_line: args.join(' '),
      },
      user: userFields(task),
      details: { source: 'mm.exe_file', deleted: file.deleted },
    });
  }
  return events;
}
