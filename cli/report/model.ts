// The data an evidence report is drawn from, gathered once: the guest's facts, its processes (hidden
// ones placed where they sit), modules, syscall table, IDT and the findings. Plain values only.
import { isRingsideError } from '../../introspect/errors.js';
import type { Finding } from '../../introspect/events/finding.js';
import { hex } from '../../introspect/memory/address.js';
import { crossView } from '../../introspect/os/linux/cross-view.js';
import { readExecutablePath } from '../../introspect/os/linux/file-path.js';
import { kernelText, readIdt, symbolExtent } from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import {
  listModules,
  moduleSignatureOk,
  moduleTaints,
  type ModuleInfo,
} from '../../introspect/os/linux/modules.js';
import { readSyscallTableEntries } from '../../introspect/os/linux/syscalls.js';
import { TASK_VIEW_NAMES, type TaskViewName } from '../../introspect/os/linux/task-views.js';
import { listTasks, readTask } from '../../introspect/os/linux/tasks.js';

export interface ReportProcess {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  /** Seconds since boot. */
  start: number;
  executable?: string;
  task: string;
  kernelThread: boolean;
  hidden: boolean;
  /** The task views that do not see it (empty for an ordinary process). */
  missingFrom: TaskViewName[];
}

export interface ReportEntry {
  index: number;
  target: string;
  symbol?: string;
  /** kernel-text, module or elsewhere: anything but kernel-text is marked. */
  location: string;
  module?: string;
  suspicious: boolean;
}

export interface ReportModule {
  name: string;
  base: string;
  size: number;
  state: string;
  /** Taint letters as /proc/modules prints them (O out-of-tree, E unsigned, P proprietary …). */
  taints: string;
  /** The kernel's verdict on its signature (sig_ok): signed, unsigned, or unknown (no module
   *  signing in this kernel, or unreadable). */
  signature: 'signed' | 'unsigned' | 'unknown';
}

export interface ReportModel {
  title: string;
  generated: string;
  /** Label and value, in the order shown. */
  facts: [string, string][];
  processes: ReportProcess[];
  modules: ReportModule[];
  syscalls: ReportEntry[];
  idt: ReportEntry[];
  findings: Finding[];
  /** Partial answers: a view, a table or a detector that could not be read. */
  warnings: string[];
}

const MODULE_STATES = ['live', 'coming', 'going', 'unformed'];

/** A module's taints and signature verdict; an unreadable one is a warning, not a stop. */
function moduleTrust(
  kernel: LinuxKernel,
  module: ModuleInfo,
  warnings: string[],
): Pick<ReportModule, 'taints' | 'signature'> {
  try {
    const signed = moduleSignatureOk(kernel, module);
    return {
      taints: moduleTaints(kernel, module),
      signature: signed === undefined ? 'unknown' : signed ? 'signed' : 'unsigned',
    };
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    warnings.push(`module ${module.name}: taints and signature: ${error.message}`);
    return { taints: '', signature: 'unknown' };
  }
}

function locate(address: bigint, text: { start: bigint; end: bigint }, modules: ModuleInfo[]) {
  if (address >= text.start && address < text.end) return { location: 'kernel-text' };
  const owner = modules.find(
    (module) => address >= module.base && address < module.base + BigInt(module.size),
  );
  return owner ? { location: 'module', module: owner.name } : { location: 'elsewhere' };
}

/** Processes from the task list, plus those only other views see (hidden), each read once. */
export function reportProcesses(kernel: LinuxKernel, warnings: string[]): ReportProcess[] {
  const { tasks, problem } = listTasks(kernel);
  if (problem) warnings.push(`task list: ${problem.message}`);
  const view = crossView(kernel);
  for (const name of TASK_VIEW_NAMES)
    for (const viewProblem of view.views[name].problems)
      warnings.push(`${name}: ${viewProblem.message}`);
  const byAddress = new Map(view.tasks.map((row) => [row.address, row]));
  const processes: ReportProcess[] = [];
  const add = (task: ReturnType<typeof readTask>, hidden: boolean) => {
    const row = byAddress.get(task.address);
    const executable = task.kernelThread ? undefined : executableOf(kernel, task.mm);
    processes.push({
      pid: task.pid,
      ppid: task.ppid,
      uid: task.uid,
      comm: task.comm,
      start: Number(task.startTime) / 1e9,
      ...(executable !== undefined ? { executable } : {}),
      task: hex(task.address),
      kernelThread: task.kernelThread,
      hidden,
      missingFrom: row ? TASK_VIEW_NAMES.filter((name) => !row.views[name]) : [],
    });
  };
  for (const task of tasks) add(task, false);
  const listed = new Set(tasks.map((task) => task.address));
  for (const row of view.hidden) {
    // Threads of a listed process share its tgid; only thread-group leaders are drawn.
    if (listed.has(row.address) || (row.tgid !== undefined && row.tgid !== row.pid)) continue;
    try {
      add(readTask(kernel, row.address), true);
    } catch (error) {
      warnings.push(`hidden task ${hex(row.address)}: ${(error as Error).message}`);
    }
  }
  return processes;
}

export interface SnapshotFacts {
  file: string;
  sha256: string;
  format: string;
}

/** Everything the snapshot report shows, read from an opened kernel and the judged findings. */
export function snapshotReportModel(
  kernel: LinuxKernel,
  facts: SnapshotFacts,
  findings: Finding[],
  detectorWarnings: readonly string[],
  generated = new Date().toISOString(),
): ReportModel {
  const warnings = [...detectorWarnings];
  const processes = reportProcesses(kernel, warnings);
  const { modules, problem: moduleProblem } = listModules(kernel);
  if (moduleProblem) warnings.push(`modules: ${moduleProblem.message}`);
  const { entries, problem: tableProblem } = readSyscallTableEntries(kernel);
  if (tableProblem) warnings.push(`syscall table: ${tableProblem.message}`);
  const text = kernelText(kernel);
  let idt: ReportEntry[] = [];
  // As the integrity check: vectors the kernel never re-points keep their early-boot stubs (in
  // init text, early_idt_handler_array); they are shown as such, not marked.
  const stubs = symbolExtent(kernel, 'early_idt_handler_array', 32 * 13);
  const early = (address: bigint) =>
    stubs !== undefined && address >= stubs.start && address < stubs.end;
  if (kernel.arch.name === 'x86_64')
    try {
      idt = readIdt(kernel)
        .filter((gate) => gate.present)
        .map((gate) => {
          const where = early(gate.handler)
            ? { location: 'early-stub' }
            : locate(gate.handler, text, modules);
          const nearest = kernel.symbols.nearest(gate.handler);
          return {
            index: gate.vector,
            target: hex(gate.handler),
            ...(nearest
              ? { symbol: `${nearest.symbol.name}+0x${nearest.offset.toString(16)}` }
              : {}),
            ...where,
            suspicious: where.location !== 'kernel-text' && where.location !== 'early-stub',
          };
        });
    } catch (error) {
      warnings.push(`IDT: ${(error as Error).message}`);
    }
  return {
    title: `Ringside evidence report: ${facts.file}`,
    generated,
    facts: [
      ['dump', facts.file],
      ['format', facts.format],
      ['SHA-256', facts.sha256],
      ['kernel', kernel.release],
      ['banner', kernel.banner],
      ['architecture', kernel.arch.name],
      ['KASLR slide', hex(kernel.slide)],
      ['symbols from', String(kernel.sources.symbols)],
      ['types from', String(kernel.sources.types)],
      ['processes', String(processes.length)],
      ['findings', String(findings.length)],
    ],
    processes,
    modules: modules.map((module) => ({
      name: module.name,
      base: hex(module.base),
      size: module.size,
      state: MODULE_STATES[module.state] ?? String(module.state),
      ...moduleTrust(kernel, module, warnings),
    })),
    syscalls: entries.map((entry) => ({
      index: entry.index,
      target: hex(entry.target),
      ...(entry.symbol !== undefined ? { symbol: entry.symbol } : {}),
      location: entry.location,
      ...(entry.module !== undefined ? { module: entry.module } : {}),
      suspicious: entry.suspicious,
    })),
    idt,
    findings,
    warnings,
  };
}

/** The executable's path as d_path prints it (" (deleted)" for an unlinked file or a memfd), or
 *  undefined when the process has none or its dentries cannot be read. */
function executableOf(kernel: LinuxKernel, mm: bigint): string | undefined {
  try {
    const file = readExecutablePath(kernel, mm);
    return file && (file.deleted ? `${file.path} (deleted)` : file.path);
  } catch {
    return undefined;
  }
}
