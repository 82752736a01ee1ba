// `ringside snapshot check <dump>`: the detectors that can judge a snapshot (kernel integrity,
// hidden processes and modules, function hooks, eBPF, forged root credentials) and the rules, on a
// memory snapshot; each finding is printed as it would leave a sink (readable, or ECS NDJSON with
// --json). Each detector judges on its own: one that cannot read its structures is a partial answer
// (a warning; exit 0), not a failure.
import { RINGSIDE_VERSION } from '../version.js';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { toJson } from '../../introspect/events/json.js';
import { escapeForTerminal } from '../../sinks/text/terminal.js';
import { judgeDump, withJudgingOptions, type JudgingOptions } from '../snapshot-judging.js';

interface CheckOptions extends JudgingOptions {
  json?: boolean;
}

export function registerSnapshotCheck(snapshot: Command): void {
  withJudgingOptions(
    snapshot
      .command('check')
      .description(
        'Run the snapshot-capable detectors (syscall table, IDT, CR0/CR4, inline hooks, hidden modules, function hooks, eBPF programs, hidden, forged-root, injected, escaped and disguised processes) and the rules',
      )
      .argument('<dump>', 'memory snapshot: QEMU dump-guest-memory ELF core, LiME, or raw')
      .option('--json', 'findings as ECS NDJSON'),
  ).action(async (dump: string, options: CheckOptions) => {
    const { formatter } = await import('../../sinks/format.js');
    const { snapshot, verdict, warnings } = await judgeDump(dump, options);
    try {
      const format = formatter(options.json ? 'ecs' : 'text', {
        hostname: hostname(),
        version: RINGSIDE_VERSION,
      });
      for (const finding of verdict.findings) process.stdout.write(`${format(finding)}\n`);
      // --json: the last line says how the check went, so a partial answer is in the data too.
      if (options.json)
        process.stdout.write(
          `${toJson(checkSummary(dump, verdict.findings.length, verdict.outcomes, warnings))}\n`,
        );
      for (const warning of warnings)
        process.stderr.write(`ringside: warning: partial answer: ${escapeForTerminal(warning)}\n`);
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
