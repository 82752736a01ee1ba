// `ringside snapshot check <dump>`: the detectors that can judge a snapshot (kernel integrity,
// hidden processes, forged root credentials) and the rules, on a memory snapshot; each finding is
// printed as it would leave a sink (readable, or ECS NDJSON with --json). Each detector judges on
// its own: one that cannot read its structures is a partial answer (a warning; exit 0), not a failure.
import { RINGSIDE_VERSION } from '../version.js';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { openSnapshotKernel } from '../snapshot-context.js';

interface CheckOptions {
  json?: boolean;
  rules?: string[];
  systemMap?: string;
  isf?: string;
  name?: string;
  plugin?: string[];
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
      const { snapshot, kernel } = openSnapshotKernel(dump, {
        ...(options.systemMap ? { systemMap: options.systemMap } : {}),
        ...(options.isf ? { isf: options.isf } : {}),
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
        for (const warning of verdict.warnings)
          process.stderr.write(`ringside: warning: partial answer: ${warning}\n`);
        process.stderr.write(
          `${verdict.findings.length} finding(s) from ${verdict.events.length} detector event(s) in ${dump}\n`,
        );
      } finally {
        snapshot.close();
      }
    });
}
