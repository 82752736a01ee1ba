// What one fuzz case runs: the code behind `snapshot info|pslist|pstree|psxview|lsmod|syscalls|check`
// on a (mutated) dump, rendering included, with each outcome classified: ok, partial (a warning),
// a typed error (RingsideError: a clear message), or a crash (anything else: a bug).
import { RingsideError } from '../introspect/errors.js';
import { crossView } from '../introspect/os/linux/cross-view.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { listModules } from '../introspect/os/linux/modules.js';
import { readSyscallTableEntries } from '../introspect/os/linux/syscalls.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
import { TASK_VIEW_NAMES } from '../introspect/os/linux/task-views.js';
import { controlStates } from '../pipeline/detect.js';
import { DETECTORS, judgeWithDetectors } from '../plugins/index.js';
import { pstreeLines, psxviewJson, taskJson } from '../cli/commands/snapshot.js';
import { openSnapshotKernel, type OpenedSnapshot } from '../cli/snapshot-context.js';
import { formatTable, toJson } from '../cli/table.js';

export type Outcome = 'ok' | 'partial' | 'typed-error' | 'crash';

export interface TargetResult {
  target: string;
  outcome: Outcome;
  /** The warning or error message (the first line of a crash's stack for crashes). */
  message?: string;
}

export const TARGETS = [
  'open',
  'info',
  'pslist',
  'pstree',
  'psxview',
  'lsmod',
  'syscalls',
  'check',
];

const classify = (target: string, error: unknown): TargetResult =>
  error instanceof RingsideError && error.code !== 'INTERNAL'
    ? { target, outcome: 'typed-error', message: error.message.slice(0, 300) }
    : {
        target,
        outcome: 'crash',
        message:
          error instanceof Error
            ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`
            : String(error),
      };

async function attempt(
  target: string,
  body: () => string | undefined | Promise<string | undefined>,
): Promise<TargetResult> {
  try {
    const warning = await body();
    return warning === undefined
      ? { target, outcome: 'ok' }
      : { target, outcome: 'partial', message: warning.slice(0, 300) };
  } catch (error) {
    return classify(target, error);
  }
}

/** Runs every command's code on an opened kernel. */
export async function runOnKernel(opened: OpenedSnapshot): Promise<TargetResult[]> {
  const { kernel, snapshot } = opened;
  const results: TargetResult[] = [];
  results.push(
    await attempt('info', () => {
      toJson({ banner: kernel.banner, release: kernel.release, slide: kernel.slide });
      return undefined;
    }),
  );
  results.push(
    await attempt('pslist', () => {
      const { tasks, problem } = listTasks(kernel);
      toJson(tasks.map(taskJson));
      formatTable([{ header: 'COMM', value: (t: (typeof tasks)[number]) => t.comm }], tasks);
      return problem?.message;
    }),
  );
  results.push(
    await attempt('pstree', () => {
      const { tasks, problem } = listTasks(kernel);
      pstreeLines(tasks);
      return problem?.message;
    }),
  );
  results.push(
    await attempt('psxview', () => {
      const view = crossView(kernel);
      toJson(view.tasks.map(psxviewJson));
      const problems = TASK_VIEW_NAMES.flatMap((name) => view.views[name].problems);
      return problems[0]?.message;
    }),
  );
  results.push(
    await attempt('lsmod', () => {
      const { modules, problem } = listModules(kernel);
      toJson(modules);
      return problem?.message;
    }),
  );
  results.push(
    await attempt('syscalls', () => {
      const { entries, problem } = readSyscallTableEntries(kernel);
      toJson(entries);
      return problem?.message;
    }),
  );
  results.push(
    await attempt('check', async () => {
      const { warnings } = await judgeWithDetectors(Object.values(DETECTORS), {
        kernel,
        domain: 'fuzz',
        cpus: controlStates(snapshot.layout.vcpus),
        timestamp: new Date().toISOString(),
      });
      return warnings[0];
    }),
  );
  return results;
}

/** Opens the dump as the CLI does, then runs every command; the snapshot is closed afterwards. */
export async function runTargets(path: string): Promise<TargetResult[]> {
  let opened: OpenedSnapshot;
  try {
    // No watchdog: the campaign measures how long each case takes, and a hang must show as one.
    opened = openSnapshotKernel(path, { timeLimitMs: 0 });
  } catch (error) {
    return [classify('open', error)];
  }
  try {
    return [{ target: 'open', outcome: 'ok' }, ...(await runOnKernel(opened))];
  } finally {
    opened.snapshot.close();
  }
}

export type { LinuxKernel };
