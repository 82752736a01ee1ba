// process.anomaly events for a user process posing as a kernel thread: named like one (kworker/0:1,
// ksoftirqd/0 … in its comm, or "[kworker/0:1]" as ps prints kernel threads, in its command line)
// while it has an address space and no PF_KTHREAD, which every kernel thread has and lacks. The
// names come from the kernel threads running in the same guest, plus the usual ones.
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { readCommandLine } from '../exec-monitor/running-executables.js';
import { processFields, userFields } from '../guest-context.js';
import {
  processKey,
  scanningDetector,
  type EventBase,
  type ScanFinding,
  type ScanOptions,
} from '../process-scan.js';
import type { DetectorPlugin } from '../types.js';

/** Kernel threads every kernel has (the family name: the part before "/" or a trailing number). */
export const KERNEL_THREAD_FAMILIES = [
  'kthreadd',
  'kworker',
  'ksoftirqd',
  'migration',
  'rcu_sched',
  'rcu_preempt',
  'rcu_gp',
  'kswapd',
  'kcompactd',
  'khugepaged',
  'watchdog',
  'cpuhp',
  'idle_inject',
  'irq',
  'kdevtmpfs',
  'kauditd',
  'oom_reaper',
  'writeback',
  'kblockd',
  'jbd2',
] as const;

/** "kworker/0:2H" → "kworker", "kswapd0" → "kswapd", "[kworker/u4:1]" → "kworker". */
export function threadFamily(name: string): string {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  const slash = bare.indexOf('/');
  return (slash >= 0 ? bare.slice(0, slash) : bare).replace(/[0-9]+$/, '');
}

/** ps prints a process with no command line as "[comm]": a command line written so is a disguise. */
const bracketed = (text: string): boolean =>
  text.length > 2 && text.startsWith('[') && text.endsWith(']');

export function kernelThreadMasquerades(kernel: LinuxKernel, base: EventBase): ScanFinding[] {
  const { tasks } = listTasks(kernel);
  const families = new Set<string>(KERNEL_THREAD_FAMILIES);
  for (const task of tasks)
    if (task.kernelThread && task.comm) families.add(threadFamily(task.comm));
  const findings: ScanFinding[] = [];
  for (const task of tasks) {
    if (task.kernelThread || task.mm === 0n) continue;
    const nameLooksKernel = families.has(threadFamily(task.comm));
    const args = readCommandLine(kernel, task);
    const argv0 = args[0] ?? '';
    const commandLooksKernel =
      bracketed(argv0) && (families.has(threadFamily(argv0)) || argv0.includes('/'));
    if (!nameLooksKernel && !commandLooksKernel) continue;
    findings.push({
      key: `${processKey(task)}:${task.comm}:${argv0}`,
      event: {
        type: 'process.anomaly',
        ...base,
        process: {
          ...processFields(kernel, task),
          args,
          command_line: args.join(' '),
        },
        user: userFields(task),
        details: {
          technique: 'kernel_thread_masquerade',
          message: `${task.comm} (pid ${task.tgid}) is named like a kernel thread${commandLooksKernel ? ` (command line ${JSON.stringify(argv0)})` : ''} but is a user process with an address space`,
          disguise: nameLooksKernel ? 'comm' : 'command_line',
        },
      },
    });
  }
  return findings;
}

export const createKernelThreadMasquerade = (options: ScanOptions = {}): DetectorPlugin =>
  scanningDetector(
    {
      id: 'kthread-masquerade',
      version: '1.0.0',
      description: 'User processes named like kernel threads (comm or command line)',
      architectures: ['x86_64', 'aarch64'],
      symbols: ['init_task'],
      capabilities: { live: [true] },
      emits: ['process.anomaly'],
    },
    kernelThreadMasquerades,
    options,
  );

export const kernelThreadMasquerade = createKernelThreadMasquerade();
