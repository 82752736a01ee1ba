// process.exec events: every program execution in the guest, read at setup_new_exec(bprm) — past
// the point of no return, with the new program's address space, name and credentials in place:
// pid, parent, uid, filename, argv. Where the backend captures and the running task can be reached
// through a capture (x86-64 with the TCG plugin), the backend reads all of it at the hit (the task,
// bprm->filename, bprm->argc and the argument strings at bprm->p in the new address space) and the
// vCPU does not wait; elsewhere (ARM64, the gdbstub fallback) the vCPU is held while the same
// structures are read. The architecture descriptor says which register holds bprm.
import type { Observable } from 'rxjs';
import type { HookContext } from '../../introspect/domain/types.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { PagedAddressSpace } from '../../introspect/memory/paged-address-space.js';
import { argument, instructionPointer } from '../../introspect/arch/index.js';
import { currentTaskFrom, currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { KernelReader } from '../../introspect/os/linux/kernel-reader.js';
import { readTask } from '../../introspect/os/linux/tasks.js';
import {
  currentTaskCaptures,
  envelope,
  hookEvents,
  hookTask,
  processFields,
  TASK_CAPTURES,
  unreadable,
  userFields,
} from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';
import { runningExecutableEvents } from './running-executables.js';

const MAX_ARGS = 256;
const MAX_ARG_BYTES = 4096;
const MAX_PATH = 4096;
/** Bytes of argument strings and of the filename the plugin reads at the hit. */
const CAPTURED_BYTES = 1024;

/** argv as copied to the new program's stack: `argc` NUL-terminated strings from `p`. */
export function readArguments(
  kernel: LinuxKernel,
  pageTableRoot: bigint,
  p: bigint,
  argc: number,
): string[] {
  if (argc <= 0) return [];
  const space = new PagedAddressSpace(
    kernel.reader.space.physical,
    pageTableRoot,
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

/** The first `count` NUL-terminated strings of captured bytes; `complete` when all were there. */
export function splitStrings(
  bytes: Uint8Array,
  count: number,
): { strings: string[]; complete: boolean } {
  const strings: string[] = [];
  let start = 0;
  while (strings.length < Math.min(count, MAX_ARGS)) {
    const end = bytes.indexOf(0, start);
    if (end < 0) return { strings, complete: false };
    strings.push(Buffer.from(bytes.subarray(start, end)).toString('utf8'));
    start = end + 1;
  }
  return { strings, complete: strings.length === count };
}

export const execMonitor: DetectorPlugin = {
  meta: {
    id: 'exec-monitor',
    version: '2.0.0',
    description: 'Every program execution in the guest, from setup_new_exec',
    architectures: ['x86_64', 'aarch64'],
    symbols: ['setup_new_exec'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['process.exec'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    const arch = kernel.arch;
    const hookName = 'setup_new_exec';
    const address = kernel.symbols.address(hookName)!;
    const locator = currentTaskLocator(kernel);
    const r = kernel.reader;
    const at = (field: string): number => Number(r.offset('linux_binprm', field));
    // Captured at the hit where the backend can and the task is reachable by a capture; otherwise
    // (an ARM64 guest's task is SP_EL0 itself) the handler reads while the vCPU is held.
    const taskCaptures = domain.capabilities.captures
      ? currentTaskCaptures(kernel, locator)
      : undefined;
    const bprmRegister = arch.argumentRegisters[0]!;
    const capture = taskCaptures
      ? [
          ...taskCaptures,
          { register: bprmRegister, derefs: [at('filename')], offset: 0, length: CAPTURED_BYTES },
          { register: bprmRegister, offset: at('argc'), length: 4 },
          { register: bprmRegister, derefs: [at('p')], offset: 0, length: CAPTURED_BYTES },
        ]
      : undefined;

    const fromCaptures = (context: HookContext): VmiEvent => {
      const captures = context.captures!;
      const { process, user } = hookTask(kernel, context, locator);
      const filenameBytes = captures[TASK_CAPTURES];
      const argcBytes = captures[TASK_CAPTURES + 1];
      const argBytes = captures[TASK_CAPTURES + 2];
      const filename = filenameBytes ? (splitStrings(filenameBytes, 1).strings[0] ?? '') : '';
      const argc = argcBytes
        ? new DataView(argcBytes.buffer, argcBytes.byteOffset, 4).getInt32(0, true)
        : 0;
      const { strings: args, complete } = argBytes
        ? splitStrings(argBytes, argc)
        : { strings: [], complete: argc === 0 };
      return execEvent(context.event, process, user, filename, args, complete ? undefined : argc);
    };

    // Read while the vCPU is held (ARM64, the gdbstub fallback): the new program's address space
    // is already the task's own at setup_new_exec.
    const fromMemory = ({ event }: HookContext): VmiEvent => {
      const bprm = argument(arch, event, 0);
      const task = readTask(kernel, currentTaskFrom(kernel, event.registers, locator));
      const filename = r.cString(r.u64(bprm + BigInt(at('filename'))), MAX_PATH);
      const argc = r.i32(bprm + BigInt(at('argc')));
      const p = r.u64(bprm + BigInt(at('p')));
      const args =
        task.pageTableRoot !== undefined ? readArguments(kernel, task.pageTableRoot, p, argc) : [];
      return execEvent(event, processFields(kernel, task), userFields(task), filename, args);
    };

    const execEvent = (
      event: VmiEvent,
      process: NonNullable<VmiEvent['process']>,
      user: NonNullable<VmiEvent['user']>,
      executable: string,
      args: string[],
      truncatedArgc?: number,
    ): VmiEvent => ({
      type: 'process.exec',
      ...envelope(event),
      process: { ...process, executable, args, command_line: args.join(' ') },
      user,
      vmi: {
        rip: instructionPointer(arch, event) ?? address,
        hook: hookName,
      },
      ...(truncatedArgc !== undefined
        ? { details: { args_truncated: true, argc: truncatedArgc } }
        : {}),
    });

    return hookEvents(
      domain,
      {
        kind: 'exec',
        address,
        name: hookName,
        ...(capture ? { capture, hold: false } : {}),
      },
      (context) => (context.captures ? fromCaptures(context) : fromMemory(context)),
      (event, error) => unreadable('process.exec', event, 'the exec', error),
    );
  },
  // On a snapshot: the processes running from a writable folder, an unlinked file or a memfd.
  judge: async ({ kernel, domain, timestamp }) =>
    runningExecutableEvents(kernel, { domain, time: performance.now(), timestamp }),
};
