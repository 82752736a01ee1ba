// `ringside snapshot check <dump>`: the detectors that can judge a snapshot (kernel integrity,
// hidden processes, forged root credentials) and the rules, on a memory snapshot; each finding is
// printed as it would leave a sink (readable, or ECS NDJSON with --json). Each detector judges on
// its own: one that cannot read its structures is a partial answer (a warning; exit 0), not a failure.
import { RINGSIDE_VERSION } from '../version.js';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { toJson } from '../../introspect/events/json.js';
import { escapeForTerminal } from '../../sinks/text/terminal.js';
import { DEFAULT_TIME_LIMIT_MS, openSnapshotKernel, timeLimitOption } from '../snapshot-context.js';

interface CheckOptions {
  json?: boolean;
  rules?: string[];
  systemMap?: string;
  isf?: string;
  name?: string;
  plugin?: string[];
  timeLimit?: string;
}

export function registerSnapshotCheck(snapshot: Command): void {
  snapshot
    .command('check')
    .description(
      'Run the snapshot-capable detectors (syscall table, IDT, CR0/CR4, hidden and forged-root processes) and the rules',
    )
    .argument('<dump>', 'memory snapshot: QEMU dump-guest-memory ELF core, LiME, or raw')
    .option('--json', 'findings as ECS NDJSON')
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
    )
    .action(async (dump: string, options: CheckOptions) => {
      const [{ judgeSnapshot, loadRules }, { formatter }, { loadPluginModules }, { DETECTORS }] =
        await Promise.all([
          import('../../pipeline/index.js'),
          import('../../sinks/format.js'),
          import('../../pipeline/user-modules.js'),
          import('../../plugins/index.js'),
        ]);
      const own = await loadPluginModules(options.plugin ?? []);
      const rules = await loadRules(options.rules);
      const { snapshot, kernel, budget } = openSnapshotKernel(dump, {
        ...(options.systemMap ? { systemMap: options.systemMap } : {}),
        ...(options.isf ? { isf: options.isf } : {}),
        ...(options.timeLimit !== undefined
          ? { timeLimitMs: timeLimitOption(options.timeLimit) }
          : {}),
      });
      try {
        const verdict = await judgeSnapshot({
          kernel,
          name: options.name ?? dump.split('/').pop() ?? dump,
          vcpus: snapshot.layout.vcpus,
          plugins: [...Object.values(DETECTORS), ...own],
          rules,
        });
        const format = formatter(options.json ? 'ecs' : 'text', {
          hostname: hostname(),
          version: RINGSIDE_VERSION,
        });
        for (const finding of verdict.findings) process.stdout.write(`${format(finding)}\n`);
        const warnings = [...verdict.warnings];
        if (budget?.expired)
          warnings.push(
            `the time budget of ${budget.budgetMs / 1000} s (--time-limit) ran out: what could be read in time was judged`,
          );
        // --json: the last line says how the check went, so a partial answer is in the data too.
        if (options.json)
          process.stdout.write(
            `${toJson(checkSummary(dump, verdict.findings.length, verdict.outcomes, warnings))}\n`,
          );
        for (const warning of warnings)
          process.stderr.write(
            `ringside: warning: partial answer: ${escapeForTerminal(warning)}\n`,
          );
        process.stderr.write(
          `${verdict.findings.length} finding(s) from ${verdict.events.length} detector event(s) in ${dump}\n`,
        );
      } finally {
        snapshot.close();
      }
    });
}

/**
 * The summary record `check --json` ends with: an ECS event (dataset `ringside.check`) saying
 * whether the answer is partial, how each detector fared, and the warnings.
 */
export function checkSummary(
  dump: string,
  findings: number,
  detectors: Record<string, 'judged' | 'refused' | 'failed'>,
  warnings: readonly string[],
): Record<string, unknown> {
  const partial = warnings.length > 0;
  return {
    '@timestamp': new Date().toISOString(),
    event: {
      kind: 'event',
      dataset: 'ringside.check',
      action: 'snapshot-check',
    },
    file: { path: dump },
    ringside: { check: { findings, partial, detectors, warnings: [...warnings] } },
  };
}
