// Every attack scenario, live and on a snapshot taken after it, must raise exactly the findings its
// expected.yaml lists: all detectors and the starter rules on the real sample guest, findings
// delivered through a real (stdout-format) sink. Time-to-detect is printed for each scenario.
// RINGSIDE_KERNEL=6.12 runs them on the 6.12 guest of the kernel matrix; RINGSIDE_GUEST_NAME names
// the guest (default it-detect), so that two runs on one machine do not share a run folder.
import { kernelSeries } from '../guest/build.js';
import { listScenarios } from './scenarios.js';
import { runSuite, type SuiteReport } from './suite.js';
import { collectingSink } from './test-support/collecting-sink.js';

const { sink, lines } = collectingSink();

let report: SuiteReport;

beforeAll(async () => {
  report = await runSuite({
    sink,
    name: process.env.RINGSIDE_GUEST_NAME ?? 'it-detect',
    kernel: kernelSeries(process.env.RINGSIDE_KERNEL),
  });
  const rows = report.scenarios.map((scenario) => {
    const sorted = [...scenario.latenciesMs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]!.toFixed(1) : '-';
    return `  ${scenario.scenario.padEnd(22)} first finding ${scenario.timeToDetectMs?.toFixed(0) ?? '-'} ms after run.sh started; step → sink median ${median} ms`;
  });
  console.log(`time to detect:\n${rows.join('\n')}`);
}, 900_000);

const names = listScenarios().map((scenario) => scenario.name);

describe('attack scenarios on the live sample guest', () => {
  it.each(names)('%s raises exactly its expected findings, live and on a snapshot', (name) => {
    const scenario = report.scenarios.find((entry) => entry.scenario === name)!;
    const describe = (findings: { rule: { id: string }; message: string }[]) =>
      findings.map((finding) => `${finding.rule.id}: ${finding.message}`);
    expect({
      liveMissing: scenario.live.missing,
      liveUnexpected: describe(scenario.live.unexpected),
      snapshotMissing: scenario.snapshot.missing,
      snapshotUnexpected: describe(scenario.snapshot.unexpected),
    }).toEqual({
      liveMissing: [],
      liveUnexpected: [],
      snapshotMissing: [],
      snapshotUnexpected: [],
    });
  });

  it('raises nothing outside the scenarios, and every finding left the sink as ECS', () => {
    expect(report.background.map((finding) => finding.message)).toEqual([]);
    expect(lines.length).toBe(report.findings);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('rule.id');
  });
});
