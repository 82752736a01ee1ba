// `ringside snapshot check <dump>`: the detectors that can judge a snapshot (kernel integrity,
// hidden processes, forged root credentials) and the rules, on a memory snapshot; each finding is
// printed as it would leave a sink (readable, or ECS NDJSON with --json).
import { RINGSIDE_VERSION } from '../version.js';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { RingsideError } from '../../introspect/errors.js';
import { sampleRulesDir } from '../../samples/scenarios/paths.js';
import { openSnapshotKernel } from '../snapshot-context.js';

interface CheckOptions {
  json?: boolean;
  rules?: string[];
  systemMap?: string;
  isf?: string;
  name?: string;
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
    .action(async (dump: string, options: CheckOptions) => {
      const [
        { from, lastValueFrom, toArray },
        { checkSnapshot },
        { detect, loadRulePaths },
        { formatter },
      ] = await Promise.all([
        import('rxjs'),
        import('../../plugins/snapshot-checks.js'),
        import('../../rules/index.js'),
        import('../../sinks/format.js'),
      ]);
      const loaded = await loadRulePaths(options.rules ?? [sampleRulesDir()]);
      if (loaded.errorCount > 0)
        throw new RingsideError(
          'BAD_INPUT',
          `the rules do not load: ${loaded.diagnostics.map((d) => d.message).join('; ')} (check them with ringside rules lint)`,
        );
      const { snapshot, kernel } = openSnapshotKernel(dump, {
        ...(options.systemMap ? { systemMap: options.systemMap } : {}),
        ...(options.isf ? { isf: options.isf } : {}),
      });
      try {
        const cpus = snapshot.layout.vcpus.map((vcpu) => ({
          vcpu: vcpu.index,
          ...(vcpu.registers.cr0 !== undefined ? { cr0: vcpu.registers.cr0 } : {}),
          ...(vcpu.registers.cr4 !== undefined ? { cr4: vcpu.registers.cr4 } : {}),
        }));
        const name = options.name ?? dump.split('/').pop() ?? dump;
        const events = await checkSnapshot(kernel, { domain: name, cpus });
        const findings = await lastValueFrom(from(events).pipe(detect(loaded.ruleset), toArray()));
        const format = formatter(options.json ? 'ecs' : 'text', {
          hostname: hostname(),
          version: RINGSIDE_VERSION,
        });
        for (const finding of findings) process.stdout.write(`${format(finding)}\n`);
        process.stderr.write(
          `${findings.length} finding(s) from ${events.length} detector event(s) in ${dump}\n`,
        );
      } finally {
        snapshot.close();
      }
    });
}
