// `ringside demo`: the main job on the embedded default. Boots the sample guest, attaches every
// detector with the starter rules, runs the attack scenarios inside the guest, prints each finding
// as it leaves the sink (readable, or ECS NDJSON with --json), judges a snapshot after each
// scenario, and ends with a summary: what each scenario should have raised, what it did, how fast.
import type { Command } from 'commander';
import type { PhaseFindings, SuiteReport } from '../../lab/scenarios/suite.js';
import { hostname } from 'node:os';
import { RINGSIDE_VERSION } from '../version.js';

/** The scenario raised exactly what it expects, live (and on its snapshot when one was taken). */
const exact = (scenario: SuiteReport['scenarios'][number], snapshots: boolean): boolean =>
  scenario.live.missing.length + scenario.live.unexpected.length === 0 &&
  (!snapshots || scenario.snapshot.missing.length + scenario.snapshot.unexpected.length === 0);

function summaryLines(report: SuiteReport, snapshots: boolean): string[] {
  const lines = ['', `Summary (${report.guest}, Linux ${report.kernel}):`];
  const phase = (name: string, result: PhaseFindings): string[] => {
    const out: string[] = [];
    for (const missing of result.missing)
      out.push(
        `      ${name}: MISSING ${missing.rule} ${Object.entries(missing.fields)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')}`,
      );
    for (const extra of result.unexpected)
      out.push(`      ${name}: UNEXPECTED ${extra.rule.id}: ${extra.message}`);
    return out;
  };
  let ok = 0;
  for (const scenario of report.scenarios) {
    const good = exact(scenario, snapshots);
    if (good) ok += 1;
    const ttd =
      scenario.timeToDetectMs !== undefined
        ? `first finding ${scenario.timeToDetectMs.toFixed(0)} ms after the step started`
        : 'no finding';
    lines.push(
      `  ${good ? 'ok  ' : 'FAIL'} ${scenario.scenario.padEnd(22)} live ${scenario.live.found.length}` +
        (snapshots ? `, snapshot ${scenario.snapshot.found.length}` : '') +
        ` finding(s); ${ttd}`,
    );
    lines.push(...phase('live', scenario.live));
    if (snapshots) lines.push(...phase('snapshot', scenario.snapshot));
  }
  if (report.background.length)
    lines.push(`  ${report.background.length} finding(s) outside the scenarios (benign workload):`);
  for (const finding of report.background)
    lines.push(`      ${finding.rule.id}: ${finding.message}`);
  lines.push(
    `${ok} of ${report.scenarios.length} scenarios raised exactly their expected findings; ${report.findings} finding(s) in all`,
  );
  return lines;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'The main job: boot the sample guest, attach every detector and the starter rules, run the attack scenarios, print findings',
    )
    .option('--json', 'findings as ECS NDJSON on stdout (headings and summary go to stderr)')
    .option(
      '--sinks <file>',
      'also send findings to the sinks in this YAML/JSON file (docs/sinks.md)',
    )
    .option('--scenarios <list>', 'comma-separated scenario names (default: all)')
    .option('--no-snapshots', 'skip the snapshot taken and judged after each scenario')
    .action(
      async (options: {
        json?: boolean;
        sinks?: string;
        scenarios?: string;
        snapshots: boolean;
      }) => {
        const [{ runSuite }, { formatText }, { formatter }, { openSinks, reportUndelivered }] =
          await Promise.all([
            import('../../lab/scenarios/suite.js'),
            import('../../sinks/text/format.js'),
            import('../../sinks/format.js'),
            import('../sinks-setup.js'),
          ]);
        const info = (line: string): void => {
          (options.json ? process.stderr : process.stdout).write(`${line}\n`);
        };
        const sink = await openSinks({
          text: options.json !== true,
          ...(options.sinks ? { sinksFile: options.sinks } : {}),
        });
        info('Booting the sample guest (built from Debian packages on first use) …');
        const ecs = formatter('ecs', { hostname: hostname(), version: RINGSIDE_VERSION });
        const report = await runSuite({
          sink,
          name: 'demo',
          ...(options.scenarios
            ? { scenarios: options.scenarios.split(',').map((name) => name.trim()) }
            : {}),
          snapshots: options.snapshots,
          log: (line) => process.stderr.write(`${line}\n`),
          onPhase: (scenario, phase) => {
            if (phase === 'run') info(`\n== scenario ${scenario}`);
            if (phase === 'snapshot') info(`-- ${scenario}: snapshot taken, judging it`);
            if (phase === 'cleanup') {
              info(`-- ${scenario}: cleaning up`);
            }
          },
          // Findings on each scenario's snapshot: ECS lines on stdout with --json, else one line each.
          onSnapshot: (findings) => {
            for (const finding of findings) {
              if (options.json) process.stdout.write(`${ecs(finding)}\n`);
              else info(`   [snapshot] ${formatText(finding).split('\n')[0]}`);
            }
          },
        });
        await sink.close();
        // The SIEM unreachable or refusing: said per sink, exit 2 (not 0 as if everything arrived).
        reportUndelivered(sink);
        for (const line of summaryLines(report, options.snapshots)) info(line);
        if (report.scenarios.some((scenario) => !exact(scenario, options.snapshots)))
          process.exitCode = 1;
      },
    );
}
