// `ringside snapshot info|pslist|pstree|psxview|modxview|hooks|bpf|lsmod|syscalls <dump>`: questions
// asked of a memory snapshot.
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';
import { hex, parseAddress } from '../../introspect/memory/address.js';
import { crossView, type CrossViewTask } from '../../introspect/os/linux/cross-view.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { readSyscallTableEntries } from '../../introspect/os/linux/syscalls.js';
import { TASK_VIEW_NAMES } from '../../introspect/os/linux/task-views.js';
import { listTasks, type TaskInfo } from '../../introspect/os/linux/tasks.js';
import { createProgress, withProgress } from '../progress.js';
import { registerSnapshotCheck } from './check.js';
import { registerSnapshotDiff } from './diff.js';
import { KERNEL_OBJECT_LISTINGS } from './snapshot-kernel-objects.js';
import { registerSnapshotReport } from './report.js';
import {
  asSnapshotInputError,
  DEFAULT_TIME_LIMIT_MS,
  openSnapshotKernel,
  timeLimitOption,
  type OpenedSnapshot,
} from '../snapshot-context.js';
import { formatTable, toJson } from '../table.js';
import { escapeForTerminal } from '../../sinks/text/terminal.js';

interface CommonOptions {
  json?: boolean;
  timeLimit?: string;
  ramBase?: string;
  systemMap?: string;
  isf?: string;
}

const write = (text: string): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

function withKernel<T>(
  dump: string,
  options: CommonOptions,
  body: (opened: OpenedSnapshot) => T,
): T {
  // The step ends on success and on failure alike: no progress line may follow an error line.
  const opened = withProgress(createProgress(), `reading ${dump}`, () =>
    openSnapshotKernel(dump, {
      ...(options.ramBase !== undefined ? { ramBase: ramBaseOption(options.ramBase) } : {}),
      ...(options.systemMap ? { systemMap: options.systemMap } : {}),
      ...(options.isf ? { isf: options.isf } : {}),
      ...(options.timeLimit !== undefined
        ? { timeLimitMs: timeLimitOption(options.timeLimit) }
        : {}),
    }),
  );
  try {
    const result = body(opened);
    if (opened.budget?.expired)
      warn({
        message: `the time budget of ${opened.budget.budgetMs / 1000} s (--time-limit) ran out: what could be read in time is shown`,
      });
    return result;
  } catch (error) {
    throw asSnapshotInputError(error, dump);
  } finally {
    opened.snapshot.close();
  }
}

function ramBaseOption(text: string): bigint {
  try {
    return parseAddress(text);
  } catch (error) {
    throw new InputError('not an address', `--ram-base ${text}`, { cause: error });
  }
}

function warn(problem: { message: string } | undefined): void {
  if (problem)
    process.stderr.write(
      `ringside: warning: partial answer: ${escapeForTerminal(problem.message)}\n`,
    );
}

export const taskJson = (task: TaskInfo) => ({
  pid: task.pid,
  ppid: task.ppid,
  tgid: task.tgid,
  uid: task.uid,
  gid: task.gid,
  euid: task.euid,
  egid: task.egid,
  comm: task.comm,
  kernel_thread: task.kernelThread,
  start_time: Number(task.startTime) / 1e9,
  task: hex(task.address),
  ...(task.pageTableRoot !== undefined ? { page_table_root: hex(task.pageTableRoot) } : {}),
});

export const psxviewJson = (task: CrossViewTask) => ({
  pid: task.pid ?? null,
  tgid: task.tgid ?? null,
  comm: task.comm ?? null,
  kernel_thread: task.kernelThread ?? null,
  task: hex(task.address),
  task_list: task.views.taskList,
  id_tree: task.views.idTree,
  pid_links: task.views.pidLinks,
  run_queues: task.views.runQueues,
  hidden: task.hidden,
  exiting: task.exiting,
  where: task.where,
  ...(task.unreadable ? { unreadable: task.unreadable } : {}),
});

/** Levels of indentation drawn; a deeper (hostile) chain keeps this indent and says its depth. */
export const PSTREE_MAX_INDENT = 64;

/**
 * Draws the task list as a tree. Iterative, with the indent capped, because the parent links are
 * guest data: a chain as deep as the list must neither overflow the stack nor grow the output
 * quadratically, and a parent cycle must neither loop nor drop its tasks.
 */
export function pstreeLines(tasks: readonly TaskInfo[]): string[] {
  const children = new Map<number, TaskInfo[]>();
  const pids = new Set(tasks.map((task) => task.pid));
  for (const task of tasks) {
    const parent = pids.has(task.ppid) && task.ppid !== task.pid ? task.ppid : 0;
    let siblings = children.get(parent);
    if (!siblings) children.set(parent, (siblings = []));
    siblings.push(task);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => a.pid - b.pid);
  const lines: string[] = [];
  const seen = new Set<number>();
  interface Visit {
    task: TaskInfo;
    prefix: string;
    last: boolean;
    root: boolean;
    depth: number;
  }
  const draw = (start: TaskInfo): void => {
    const stack: Visit[] = [{ task: start, prefix: '', last: true, root: true, depth: 0 }];
    while (stack.length > 0) {
      const { task, prefix, last, root, depth } = stack.pop()!;
      if (seen.has(task.pid)) continue; // a hostile parent cycle must not loop
      seen.add(task.pid);
      const branch = root ? '' : last ? '└─ ' : '├─ ';
      const deep = depth > PSTREE_MAX_INDENT ? `[depth ${depth}] ` : '';
      lines.push(
        `${prefix}${branch}${deep}${escapeForTerminal(task.comm)} (${task.pid}, uid ${task.uid})`,
      );
      const kids = children.get(task.pid) ?? [];
      const nextPrefix =
        root || depth >= PSTREE_MAX_INDENT ? prefix : `${prefix}${last ? '   ' : '│  '}`;
      for (let index = kids.length - 1; index >= 0; index--)
        stack.push({
          task: kids[index]!,
          prefix: nextPrefix,
          last: index === kids.length - 1,
          root: false,
          depth: depth + 1,
        });
    }
  };
  for (const root of children.get(0) ?? []) draw(root);
  // Tasks whose parent chain loops never hang off a root: list them rather than drop them.
  for (const task of tasks) if (!seen.has(task.pid)) draw(task);
  return lines;
}

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('Ask a memory snapshot (QEMU ELF core, LiME or raw) about the Linux kernel in it');
  const common = (command: Command): Command =>
    command
      .argument('<dump>', 'memory snapshot: QEMU dump-guest-memory ELF core, LiME, or raw')
      .option('--json', 'print a JSON array instead of a table')
      .option(
        '--ram-base <address>',
        'guest-physical address of a raw dump’s first byte (default 0, else 0x40000000 for an ARM64 virt guest)',
      )
      .option('--system-map <file>', 'use this System.map instead of the kernel’s own kallsyms')
      .option(
        '--isf <file>',
        'use this Volatility 3 ISF (.json, .json.xz) instead of kallsyms and BTF',
      )
      .option(
        '--time-limit <seconds>',
        'stop reading guest memory after this long and answer with what was read (0: no limit)',
        String(DEFAULT_TIME_LIMIT_MS / 1000),
      );

  common(
    snapshot
      .command('info')
      .description('Kernel, KASLR, vCPUs and where symbols and types came from'),
  ).action((dump: string, options: CommonOptions) =>
    withKernel(dump, options, ({ snapshot: file, kernel }) => {
      const info = {
        file: dump,
        format: file.layout.format,
        architecture: kernel.arch.name,
        memory_bytes: file.memory
          .ranges()
          .reduce((sum, range) => sum + Number(range.end - range.start), 0),
        vcpus: file.layout.vcpus.length,
        ram_base: hex(file.memory.ranges()[0]?.start ?? 0n),
        banner: kernel.banner,
        release: kernel.release,
        kaslr_slide: hex(kernel.slide),
        text_virtual: hex(kernel.symbols.address('_text') ?? 0n),
        text_physical: hex(kernel.textPhysical),
        direct_map_base: hex(kernel.directMapBase),
        kernel_page_table: hex(kernel.root),
        page_table_found_by: kernel.image.rootSource,
        paging: kernel.image.paging,
        symbols: kernel.symbols.size,
        symbols_from: kernel.sources.symbols,
        types_from: kernel.sources.types,
      };
      if (options.json) write(toJson(info));
      else
        write(
          Object.entries(info)
            .map(([key, value]) => `${key.padEnd(20)} ${escapeForTerminal(String(value))}`)
            .join('\n'),
        );
    }),
  );

  common(
    snapshot
      .command('pslist')
      .description('Processes (thread-group leaders) from the kernel task list'),
  ).action((dump: string, options: CommonOptions) =>
    withKernel(dump, options, ({ kernel }) => {
      const { tasks, problem } = listTasks(kernel);
      warn(problem);
      if (options.json) return write(toJson(tasks.map(taskJson)));
      write(
        formatTable(
          [
            { header: 'PID', value: (t: TaskInfo) => t.pid, align: 'right' },
            { header: 'PPID', value: (t) => t.ppid, align: 'right' },
            { header: 'UID', value: (t) => t.uid, align: 'right' },
            { header: 'GID', value: (t) => t.gid, align: 'right' },
            { header: 'EUID', value: (t) => t.euid, align: 'right' },
            { header: 'KTHREAD', value: (t) => (t.kernelThread ? 'yes' : '') },
            {
              header: 'START(s)',
              value: (t) => (Number(t.startTime) / 1e9).toFixed(3),
              align: 'right',
            },
            { header: 'TASK', value: (t) => hex(t.address) },
            { header: 'COMM', value: (t) => t.comm },
          ],
          tasks,
        ),
      );
    }),
  );

  common(
    snapshot.command('pstree').description('Processes as a tree of parents and children'),
  ).action((dump: string, options: CommonOptions) =>
    withKernel(dump, options, ({ kernel }) => {
      const { tasks, problem } = listTasks(kernel);
      warn(problem);
      if (options.json) return write(toJson(tasks.map(taskJson)));
      write(pstreeLines(tasks).join('\n'));
    }),
  );

  common(
    snapshot
      .command('psxview')
      .description(
        'Hidden processes: each task as seen by the task list, the PID ID tree, the pid links and the run queues',
      ),
  ).action((dump: string, options: CommonOptions) =>
    withKernel(dump, options, ({ kernel }) => {
      const view = crossView(kernel);
      for (const name of TASK_VIEW_NAMES)
        for (const problem of view.views[name].problems)
          warn({ message: `${name}: ${problem.message}` });
      if (options.json) return write(toJson(view.tasks.map(psxviewJson)));
      const mark = (seen: boolean) => (seen ? 'yes' : '-');
      write(
        formatTable(
          [
            { header: 'PID', value: (t: CrossViewTask) => t.pid ?? '?', align: 'right' },
            { header: 'TGID', value: (t) => t.tgid ?? '?', align: 'right' },
            { header: 'COMM', value: (t) => t.comm ?? `(unreadable)` },
            { header: 'TASK', value: (t) => hex(t.address) },
            { header: 'TASKLIST', value: (t) => mark(t.views.taskList) },
            { header: 'IDTREE', value: (t) => mark(t.views.idTree) },
            { header: 'PIDLINKS', value: (t) => mark(t.views.pidLinks) },
            { header: 'RUNQUEUE', value: (t) => mark(t.views.runQueues) },
            {
              header: 'HIDDEN',
              value: (t) => (t.hidden ? 'HIDDEN' : t.exiting && !t.views.taskList ? 'exiting' : ''),
            },
          ],
          view.tasks,
        ),
      );
      process.stderr.write(`${view.tasks.length} tasks, ${view.hidden.length} hidden\n`);
    }),
  );

  for (const listing of KERNEL_OBJECT_LISTINGS)
    common(snapshot.command(listing.name).description(listing.description)).action(
      (dump: string, options: CommonOptions) =>
        withKernel(dump, options, ({ kernel }) => {
          const { json, table, summary, problems } = listing.list(kernel);
          for (const message of problems) warn({ message });
          if (options.json) return write(toJson(json));
          write(table);
          process.stderr.write(`${summary}\n`);
        }),
    );

  common(snapshot.command('lsmod').description('Loaded kernel modules')).action(
    (dump: string, options: CommonOptions) =>
      withKernel(dump, options, ({ kernel }) => {
        const { modules, problem } = listModules(kernel);
        warn(problem);
        const rows = modules.map((module) => ({
          name: module.name,
          base: hex(module.base),
          size: module.size,
          state: module.state,
          module: hex(module.address),
        }));
        if (options.json) return write(toJson(rows));
        write(
          formatTable(
            [
              { header: 'NAME', value: (m: (typeof rows)[number]) => m.name },
              { header: 'SIZE', value: (m) => m.size, align: 'right' },
              { header: 'BASE', value: (m) => m.base },
              {
                header: 'STATE',
                value: (m) => ['live', 'coming', 'going', 'unformed'][m.state] ?? String(m.state),
              },
            ],
            rows,
          ),
        );
      }),
  );

  common(
    snapshot
      .command('syscalls')
      .description('The system call table, each entry resolved or flagged'),
  ).action((dump: string, options: CommonOptions) =>
    withKernel(dump, options, ({ kernel }) => {
      const { entries, problem } = readSyscallTableEntries(kernel);
      warn(problem);
      const rows = entries.map((entry) => ({
        index: entry.index,
        target: hex(entry.target),
        symbol: entry.symbol ?? null,
        location: entry.location,
        module: entry.module ?? null,
        suspicious: entry.suspicious,
      }));
      if (options.json) return write(toJson(rows));
      write(
        formatTable(
          [
            { header: 'NR', value: (e: (typeof rows)[number]) => e.index, align: 'right' },
            { header: 'TARGET', value: (e) => e.target },
            { header: 'SYMBOL', value: (e) => e.symbol ?? (e.module ? `[${e.module}]` : '?') },
            { header: 'WHERE', value: (e) => e.location },
            { header: 'FLAG', value: (e) => (e.suspicious ? 'SUSPICIOUS' : '') },
          ],
          rows,
        ),
      );
      const flagged = rows.filter((row) => row.suspicious).length;
      process.stderr.write(`${rows.length} entries, ${flagged} flagged\n`);
    }),
  );
  registerSnapshotCheck(snapshot);
  registerSnapshotDiff(snapshot);
  registerSnapshotReport(snapshot);
}
