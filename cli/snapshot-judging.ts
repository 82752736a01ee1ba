// What `snapshot check` and `snapshot report` share: their options (rules, name, profile, users'
// detectors, time budget) and judging a dump with every snapshot-capable detector and the rules.
import type { Command } from 'commander';
import type { SnapshotVerdict } from '../pipeline/detect.js';
import {
  DEFAULT_TIME_LIMIT_MS,
  openSnapshotKernel,
  timeLimitOption,
  type OpenedSnapshot,
} from './snapshot-context.js';

export interface JudgingOptions {
  rules?: string[];
  systemMap?: string;
  isf?: string;
  name?: string;
  plugin?: string[];
  timeLimit?: string;
}

/** Adds the judging options to a snapshot command. */
export function withJudgingOptions(command: Command): Command {
  return command
    .option('--rules <paths...>', 'rule files or folders (default: the starter rules)')
    .option('--name <name>', 'the guest’s name in findings (default: the dump’s file name)')
    .option('--system-map <file>', 'use this System.map instead of the kernel’s own kallsyms')
    .option('--isf <file>', 'use this Volatility 3 ISF instead of kallsyms and BTF')
    .option(
      '--plugin <modules...>',
      'also run your own detectors (ES modules whose default export is a DetectorPlugin with judge())',
    )
    .option(
      '--time-limit <seconds>',
      'stop reading guest memory after this long and judge what was read (0: no limit)',
      String(DEFAULT_TIME_LIMIT_MS / 1000),
    );
}

export interface JudgedDump extends OpenedSnapshot {
  verdict: SnapshotVerdict;
  /** The detectors' warnings, and one when the time budget ran out: each makes the answer partial. */
  warnings: string[];
}

/** Opens a dump and judges it; the caller closes `snapshot` (also when this throws after opening). */
export async function judgeDump(dump: string, options: JudgingOptions): Promise<JudgedDump> {
  const [{ judgeSnapshot, loadRules }, { loadPluginModules }, { DETECTORS }] = await Promise.all([
    import('../pipeline/index.js'),
    import('../pipeline/user-modules.js'),
    import('../plugins/index.js'),
  ]);
  const own = await loadPluginModules(options.plugin ?? []);
  const rules = await loadRules(options.rules);
  const opened = openSnapshotKernel(dump, {
    ...(options.systemMap ? { systemMap: options.systemMap } : {}),
    ...(options.isf ? { isf: options.isf } : {}),
    ...(options.timeLimit !== undefined ? { timeLimitMs: timeLimitOption(options.timeLimit) } : {}),
  });
  try {
    const verdict = await judgeSnapshot({
      kernel: opened.kernel,
      name: options.name ?? dump.split('/').pop() ?? dump,
      vcpus: opened.snapshot.layout.vcpus,
      plugins: [...Object.values(DETECTORS), ...own],
      rules,
    });
    const warnings = [...verdict.warnings];
    if (opened.budget?.expired)
      warnings.push(
        `the time budget of ${opened.budget.budgetMs / 1000} s (--time-limit) ran out: what could be read in time was judged`,
      );
    return { ...opened, verdict, warnings };
  } catch (error) {
    opened.snapshot.close();
    throw error;
  }
}
