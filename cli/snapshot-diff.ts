// What `snapshot diff A B` compares: each snapshot reduced to its state (modules, processes by pid
// and start time with their credentials and executable, the syscall table, the IDT, inline hooks,
// the findings of the rules) and the difference of two such states. The diff is pure, over states.
import type { Finding } from '../introspect/events/finding.js';
import { isRingsideError } from '../introspect/errors.js';
import { hex } from '../introspect/memory/address.js';
import { executableName } from '../plugins/exec-monitor/running-executables.js';
import { readExecutablePath } from '../introspect/os/linux/file-path.js';
import { findInlineHooks } from '../introspect/os/linux/inline-hooks.js';
import { readIdt, symbolName } from '../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { listModules } from '../introspect/os/linux/modules.js';
import { readSyscallTableEntries } from '../introspect/os/linux/syscalls.js';
import { listTasks } from '../introspect/os/linux/tasks.js';

export interface ProcessState {
  pid: number;
  ppid: number;
  name: string;
  /** Nanoseconds since boot: with the pid, a process's identity (pids are reused). */
  startTime: bigint;
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  kernelThread: boolean;
  executable?: string;
}

export interface ModuleState {
  name: string;
  base: bigint;
  size: number;
}

export interface SnapshotState {
  release: string;
  /** The KASLR slide: two snapshots of one boot share it. */
  slide: bigint;
  modules: ModuleState[];
  processes: ProcessState[];
  /** Integrity entries by key (`sys_call_table[217]`, `idt[221]`, `inline_hook __x64_sys_getppid+0x0`). */
  integrity: Map<string, bigint>;
  findings: Finding[];
  /** What could not be read (that part of the state is missing, not empty). */
  problems: string[];
}

/** Reads what a diff compares from an opened snapshot's kernel and its judged findings. */
export function snapshotState(kernel: LinuxKernel, findings: readonly Finding[]): SnapshotState {
  const problems: string[] = [];
  const attempt = <T>(what: string, read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      problems.push(`${what}: ${error.message}`);
      return fallback;
    }
  };
  const moduleList = attempt('modules', () => listModules(kernel), { modules: [] });
  if (moduleList.problem) problems.push(`modules: ${moduleList.problem.message}`);
  const taskList = attempt('processes', () => listTasks(kernel), { tasks: [] });
  if (taskList.problem) problems.push(`processes: ${taskList.problem.message}`);
  const processes = taskList.tasks.map((task): ProcessState => {
    const file = task.kernelThread
      ? undefined
      : attempt(
          `pid ${task.tgid} executable`,
          () => readExecutablePath(kernel, task.mm),
          undefined,
        );
    return {
      pid: task.tgid,
      ppid: task.ppid,
      name: task.comm,
      startTime: task.startTime,
      uid: task.uid,
      euid: task.euid,
      gid: task.gid,
      egid: task.egid,
      kernelThread: task.kernelThread,
      ...(file ? { executable: executableName(file) } : {}),
    };
  });
  const integrity = new Map<string, bigint>();
  const table = attempt('sys_call_table', () => readSyscallTableEntries(kernel), { entries: [] });
  for (const entry of table.entries) integrity.set(`sys_call_table[${entry.index}]`, entry.target);
  for (const gate of attempt('idt_table', () => readIdt(kernel), []))
    if (gate.present) integrity.set(`idt[${gate.vector}]`, gate.handler);
  for (const hook of attempt('kernel text', () => findInlineHooks(kernel).violations, []))
    integrity.set(`inline_hook ${hook.symbol}`, hook.new_value);
  return {
    release: kernel.release,
    slide: kernel.slide,
    modules: moduleList.modules.map(({ name, base, size }) => ({ name, base, size })),
    processes,
    integrity,
    findings: [...findings],
    problems,
  };
}

export interface CredentialChange {
  pid: number;
  name: string;
  before: { uid: number; euid: number; gid: number; egid: number };
  after: { uid: number; euid: number; gid: number; egid: number };
}

export interface IntegrityChange {
  entry: string;
  before?: bigint;
  after?: bigint;
  /** Where the value in B leads (`symbol+0x…`, `[module]+0x…`), when it is known. */
  location?: string;
}

export interface SnapshotDiff {
  kernel: { a: string; b: string };
  modules: { added: ModuleState[]; removed: ModuleState[] };
  processes: { started: ProcessState[]; ended: ProcessState[] };
  credentials: CredentialChange[];
  integrity: IntegrityChange[];
  findings: { new: Finding[]; gone: Finding[] };
}

const processKey = (process: ProcessState): string => `${process.pid}@${process.startTime}`;
const moduleKey = (module: ModuleState): string => `${module.name}@${module.base}`;
/** A finding's identity across snapshots: its rule and what it says (ids carry the time). */
const findingKey = (finding: Finding): string => `${finding.rule.id}\n${finding.message}`;

function minus<T>(left: readonly T[], right: readonly T[], key: (item: T) => string): T[] {
  const keys = new Set(right.map(key));
  return left.filter((item) => !keys.has(key(item)));
}

/** What changed from A to B; `locate` names where an integrity value of B leads. */
export function diffSnapshots(
  a: SnapshotState,
  b: SnapshotState,
  locate: (value: bigint) => string | undefined = () => undefined,
): SnapshotDiff {
  const before = new Map(a.processes.map((process) => [processKey(process), process]));
  const credentials: CredentialChange[] = [];
  for (const process of b.processes) {
    const old = before.get(processKey(process));
    if (!old) continue;
    const ids = (p: ProcessState) => ({ uid: p.uid, euid: p.euid, gid: p.gid, egid: p.egid });
    if (JSON.stringify(ids(old)) !== JSON.stringify(ids(process)))
      credentials.push({
        pid: process.pid,
        name: process.name,
        before: ids(old),
        after: ids(process),
      });
  }
  const integrity: IntegrityChange[] = [];
  for (const entry of new Set([...a.integrity.keys(), ...b.integrity.keys()])) {
    const old = a.integrity.get(entry);
    const now = b.integrity.get(entry);
    if (old === now) continue;
    const location = now !== undefined ? locate(now) : undefined;
    integrity.push({
      entry,
      ...(old !== undefined ? { before: old } : {}),
      ...(now !== undefined ? { after: now } : {}),
      ...(location ? { location } : {}),
    });
  }
  return {
    kernel: { a: a.release, b: b.release },
    modules: {
      added: minus(b.modules, a.modules, moduleKey),
      removed: minus(a.modules, b.modules, moduleKey),
    },
    processes: {
      started: minus(b.processes, a.processes, processKey),
      ended: minus(a.processes, b.processes, processKey),
    },
    credentials,
    integrity,
    findings: {
      new: minus(b.findings, a.findings, findingKey),
      gone: minus(a.findings, b.findings, findingKey),
    },
  };
}

/** Where a value of B's kernel leads: a kernel symbol, else a module of B, else nothing. */
export function locator(
  kernel: LinuxKernel,
  modules: readonly ModuleState[],
): (value: bigint) => string | undefined {
  return (value) => {
    const owner = modules.find(
      (module) => value >= module.base && value < module.base + BigInt(module.size),
    );
    if (owner) return `[${owner.name}]+0x${(value - owner.base).toString(16)}`;
    return symbolName(kernel, value);
  };
}

/** Whether anything changed. */
export const changed = (diff: SnapshotDiff): boolean =>
  diff.modules.added.length +
    diff.modules.removed.length +
    diff.processes.started.length +
    diff.processes.ended.length +
    diff.credentials.length +
    diff.integrity.length +
    diff.findings.new.length +
    diff.findings.gone.length >
  0;

/** The diff as JSON-ready data (bigints become "0x…" in toJson). */
export function diffJson(diff: SnapshotDiff): Record<string, unknown> {
  const finding = (f: Finding) => ({ rule: f.rule.id, severity: f.severity, message: f.message });
  return {
    kernel: diff.kernel,
    changed: changed(diff),
    modules: diff.modules,
    processes: diff.processes,
    credentials: diff.credentials,
    integrity: diff.integrity.map((change) => ({
      entry: change.entry,
      before: change.before !== undefined ? hex(change.before) : null,
      after: change.after !== undefined ? hex(change.after) : null,
      location: change.location ?? null,
    })),
    findings: { new: diff.findings.new.map(finding), gone: diff.findings.gone.map(finding) },
  };
}
