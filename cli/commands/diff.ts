// `ringside snapshot diff <a> <b>`: what changed between two snapshots of one guest — modules
// loaded or gone, processes started or ended (by pid and start time), credentials changed, syscall
// table, IDT and inline-hook differences, and findings new in B. A table, or JSON with --json.
// A dump that cannot be read is bad input naming it (exit 2).
import type { Command } from 'commander';
import { openSnapshot } from '../../introspect/backends/snapshot/index.js';
import { InputError } from '../../introspect/errors.js';
import { hex } from '../../introspect/memory/address.js';
import {
  changed,
  diffJson,
  diffSnapshots,
  locator,
  snapshotState,
  type SnapshotDiff,
  type SnapshotState,
} from '../snapshot-diff.js';
import { asSnapshotInputError } from '../snapshot-context.js';
import { judgeDump, withJudgingOptions, type JudgingOptions } from '../snapshot-judging.js';
import { formatTable, toJson } from '../table.js';

interface DiffOptions extends JudgingOptions {
  json?: boolean;
}

/** One snapshot's state (its findings judged by the same detectors and rules as `check`). */
async function stateOf(
  dump: string,
  options: DiffOptions,
): Promise<{ state: SnapshotState; locate: (value: bigint) => string | undefined }> {
  let judged;
  try {
    judged = await judgeDump(dump, options);
  } catch (error) {
    throw asSnapshotInputError(error, dump);
  }
  try {
    const state = snapshotState(judged.kernel, judged.verdict.findings);
    return { state, locate: locator(judged.kernel, state.modules) };
  } catch (error) {
    throw asSnapshotInputError(error, dump);
  } finally {
    judged.snapshot.close();
  }
}

export function registerSnapshotDiff(snapshot: Command): void {
  withJudgingOptions(
    snapshot
      .command('diff')
      .description(
        'What changed from snapshot A to B: modules, processes, credentials, syscall table/IDT/inline hooks, new findings',
      )
      .argument('<a>', 'the earlier snapshot')
      .argument('<b>', 'the later snapshot')
      .option('--json', 'print the difference as JSON'),
  ).action(async (a: string, b: string, options: DiffOptions) => {
    if (a === b) throw new InputError('compare two different snapshots', a);
    // Both files must be snapshots before either is judged: a bad B is named at once.
    for (const dump of [a, b]) openSnapshot(dump).close();
    const before = await stateOf(a, options);
    const after = await stateOf(b, options);
    const diff = diffSnapshots(before.state, after.state, after.locate);
    for (const [dump, state] of [
      [a, before.state],
      [b, after.state],
    ] as const)
      for (const problem of state.problems)
        process.stderr.write(`ringside: warning: partial answer: ${dump}: ${problem}\n`);
    if (before.state.slide !== after.state.slide || before.state.release !== after.state.release)
      process.stderr.write(
        `ringside: warning: ${a} and ${b} are not of one boot (kernel or KASLR slide differs): every process and module differs\n`,
      );
    if (options.json) process.stdout.write(`${toJson(diffJson(diff))}\n`);
    else process.stdout.write(renderDiff(diff));
    process.stderr.write(
      changed(diff) ? `${summary(diff)} from ${a} to ${b}\n` : `no difference from ${a} to ${b}\n`,
    );
  });
}

function summary(diff: SnapshotDiff): string {
  return [
    `${diff.modules.added.length} module(s) added, ${diff.modules.removed.length} removed`,
    `${diff.processes.started.length} process(es) started, ${diff.processes.ended.length} ended`,
    `${diff.credentials.length} credential change(s)`,
    `${diff.integrity.length} integrity difference(s)`,
    `${diff.findings.new.length} new finding(s)`,
  ].join(', ');
}

/** The human table: one section per kind of change that has any. */
export function renderDiff(diff: SnapshotDiff): string {
  const sections: string[] = [];
  if (diff.kernel.a !== diff.kernel.b) sections.push(`KERNEL  ${diff.kernel.a} → ${diff.kernel.b}`);
  const modules = [
    ...diff.modules.added.map((module) => ({ change: '+', ...module })),
    ...diff.modules.removed.map((module) => ({ change: '-', ...module })),
  ];
  if (modules.length)
    sections.push(
      `MODULES\n${formatTable(
        [
          { header: '', value: (m: (typeof modules)[number]) => m.change },
          { header: 'NAME', value: (m) => m.name },
          { header: 'BASE', value: (m) => hex(m.base) },
          { header: 'SIZE', value: (m) => m.size, align: 'right' },
        ],
        modules,
      )}`,
    );
  const processes = [
    ...diff.processes.started.map((p) => ({ change: '+', ...p })),
    ...diff.processes.ended.map((p) => ({ change: '-', ...p })),
  ];
  if (processes.length)
    sections.push(
      `PROCESSES\n${formatTable(
        [
          { header: '', value: (p: (typeof processes)[number]) => p.change },
          { header: 'PID', value: (p) => p.pid, align: 'right' },
          { header: 'PPID', value: (p) => p.ppid, align: 'right' },
          { header: 'NAME', value: (p) => p.name },
          { header: 'UID', value: (p) => p.uid, align: 'right' },
          {
            header: 'EXECUTABLE',
            value: (p) => p.executable ?? (p.kernelThread ? '[kernel]' : ''),
          },
        ],
        processes,
      )}`,
    );
  if (diff.credentials.length) {
    const ids = (c: { uid: number; euid: number; gid: number; egid: number }): string =>
      `uid ${c.uid} euid ${c.euid} gid ${c.gid} egid ${c.egid}`;
    sections.push(
      `CREDENTIALS\n${formatTable(
        [
          {
            header: 'PID',
            value: (c: SnapshotDiff['credentials'][number]) => c.pid,
            align: 'right',
          },
          { header: 'NAME', value: (c) => c.name },
          { header: 'BEFORE', value: (c) => ids(c.before) },
          { header: 'AFTER', value: (c) => ids(c.after) },
        ],
        diff.credentials,
      )}`,
    );
  }
  if (diff.integrity.length)
    sections.push(
      `INTEGRITY\n${formatTable(
        [
          { header: 'ENTRY', value: (c: SnapshotDiff['integrity'][number]) => c.entry },
          { header: 'BEFORE', value: (c) => (c.before !== undefined ? hex(c.before) : '-') },
          { header: 'AFTER', value: (c) => (c.after !== undefined ? hex(c.after) : '-') },
          { header: 'LEADS TO', value: (c) => c.location ?? '' },
        ],
        diff.integrity,
      )}`,
    );
  const findings = [
    ...diff.findings.new.map((f) => ({ change: '+', finding: f })),
    ...diff.findings.gone.map((f) => ({ change: '-', finding: f })),
  ];
  if (findings.length)
    sections.push(
      `FINDINGS\n${formatTable(
        [
          { header: '', value: (f: (typeof findings)[number]) => f.change },
          { header: 'SEVERITY', value: (f) => f.finding.severity },
          { header: 'RULE', value: (f) => f.finding.rule.id },
          { header: 'MESSAGE', value: (f) => f.finding.message },
        ],
        findings,
      )}`,
    );
  return sections.length ? `${sections.join('\n\n')}\n` : '';
}
