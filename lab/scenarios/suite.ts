// Runs the attack scenarios against the sample guest with every detector, the starter rules and the
// given sink attached: each scenario's run.sh, a snapshot judged by the snapshot-capable detectors,
// then its cleanup.sh. Findings are attributed to the scenario running when they left the sink, and
// compared with its expected.yaml; the time from the step to the first finding is measured.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import type { Finding } from '../../introspect/events/finding.js';
import {
  judgeSnapshot,
  liveFindings,
  loadRules,
  openDomain,
  openGuestKernel,
} from '../../pipeline/index.js';
import { chooseDetectors, DETECTOR_NAMES } from '../../plugins/index.js';
import { fieldGetter } from '../../rules/access.js';
import { RuleEngine, type Ruleset } from '../../rules/index.js';
import type { Sink } from '../../sinks/types.js';
import type { KernelSeries } from '../guest/build.js';
import { snapshotWith, startSampleGuest, type RunningGuest } from '../guest/launch.js';
import { cacheRoot } from '../guest/paths.js';
import type { ExpectedFinding } from './expected.js';
import { sampleRulesDir } from './paths.js';
import { listScenarios, runScenario, type Scenario } from './scenarios.js';

/** Periodic detectors (hidden tasks, integrity, credentials) check every second; give them two. */
export const SETTLE_MS = 2500;

/**
 * A benign, busy workload: shells, many short processes, users switching, files in /tmp read and
 * written (not executed), no modules. It runs in the background until killed.
 */
export const BENIGN_WORKLOAD = [
  '(while true; do',
  '  for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; sh -c "echo $i >/tmp/benign.$i; cat /tmp/benign.$i >/dev/null"; done;',
  '  su -s /bin/sh app -c "ls / >/dev/null; id >/dev/null";',
  '  su -s /bin/sh www-data -c "ps >/dev/null" 2>/dev/null;',
  '  cat /proc/modules /proc/self/status >/dev/null; rm -f /tmp/benign.*;',
  'done) </dev/null >/dev/null 2>&1 & echo $! >/tmp/benign.pid',
].join(' ');

export { sampleRulesDir };

export interface PhaseFindings {
  found: Finding[];
  missing: ExpectedFinding[];
  unexpected: Finding[];
}

export interface ScenarioReport {
  scenario: string;
  live: PhaseFindings;
  snapshot: PhaseFindings;
  /** From sending run.sh to the first finding of the scenario leaving the sink (ms). */
  timeToDetectMs?: number;
  /**
   * Per live finding: from the guest's step (the hooked instruction or trapped write, as the
   * host saw it; for periodic checks, the check) to the finding leaving the sink (ms).
   */
  latenciesMs: number[];
  output: string;
}

export interface SuiteOptions {
  /** Where findings go (they count as detected once write() resolved). */
  sink: Sink;
  /** Scenario names (default: all). */
  scenarios?: string[];
  /** Runs the benign part only: no scenario, just the guest's own workload for this long (ms). */
  benignMs?: number;
  log?: (line: string) => void;
  /** Called as each phase starts, to print headings. */
  onPhase?: (scenario: string, phase: 'run' | 'snapshot' | 'cleanup') => void;
  /** Called with the findings of each scenario's snapshot. */
  onSnapshot?: (findings: Finding[]) => void;
  guest?: RunningGuest;
  /** Name of the guest it starts (its run folder and RAM file); default "scenarios". */
  name?: string;
  /** The kernel series of the guest it starts (default 6.1). */
  kernel?: KernelSeries;
  snapshots?: boolean;
}

export interface SuiteReport {
  guest: string;
  kernel: string;
  scenarios: ScenarioReport[];
  /** Findings outside any scenario (boot, benign workload, idle). */
  background: Finding[];
  findings: number;
}

const sameValue = (actual: unknown, expected: unknown): boolean =>
  typeof actual === 'bigint'
    ? typeof expected === 'string'
      ? actual === BigInt(expected)
      : actual === BigInt(expected as number)
    : actual === expected;

export function matches(finding: Finding, expected: ExpectedFinding): boolean {
  return (
    finding.rule.id === expected.rule &&
    Object.entries(expected.fields).every(([path, value]) =>
      sameValue(fieldGetter(path)(finding.events[finding.events.length - 1]!), value),
    )
  );
}

/** Pairs expectations with findings one to one: what is left on either side is the difference. */
export function compareFindings(
  found: readonly Finding[],
  expected: readonly ExpectedFinding[],
): PhaseFindings {
  const unmatched = [...found];
  const missing: ExpectedFinding[] = [];
  // The most specific expectations first, so a general one cannot take a specific one's finding.
  const ordered = [...expected].sort(
    (a, b) => Object.keys(b.fields).length - Object.keys(a.fields).length,
  );
  for (const expectation of ordered) {
    const index = unmatched.findIndex((finding) => matches(finding, expectation));
    if (index >= 0) unmatched.splice(index, 1);
    else missing.push(expectation);
  }
  return { found: [...found], missing, unexpected: unmatched };
}

export const loadSampleRules = (): Promise<Ruleset> => loadRules([sampleRulesDir()]);

/** Judges a snapshot with the snapshot-capable detectors and the rules. */
export async function snapshotFindings(
  path: string,
  ruleset: Ruleset | RuleEngine,
  domain: string,
): Promise<Finding[]> {
  const opened = await openDomain({ kind: 'snapshot', path, name: domain });
  try {
    const kernel = openGuestKernel(opened);
    const verdict = await judgeSnapshot({
      kernel,
      name: domain,
      vcpus: opened.recorded?.vcpus ?? [],
      rules: ruleset,
    });
    return verdict.findings;
  } finally {
    await opened.domain.close();
  }
}

export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  const log = options.log ?? (() => {});
  const ruleset = await loadSampleRules();
  const engine = new RuleEngine(ruleset);
  const guest =
    options.guest ??
    (await startSampleGuest({
      name: options.name ?? 'scenarios',
      log,
      ...(options.kernel ? { kernel: options.kernel } : {}),
    }));
  const qmp = await guest.qmp();
  const { domain } = await openDomain({
    kind: 'qemu',
    name: guest.name,
    pluginSocket: guest.endpoints.pluginSocket!,
    ramFile: guest.endpoints.ramFile,
    qmp,
  });
  const kernel = openGuestKernel(domain);
  let current:
    | {
        name: string;
        started: number;
        findings: Finding[];
        latencies: number[];
        first?: number;
      }
    | undefined;
  const background: Finding[] = [];
  let total = 0;
  let failure: unknown;
  const subscription: Subscription = liveFindings({
    domain,
    kernel,
    plugins: chooseDetectors(DETECTOR_NAMES),
    rules: engine,
    sink: options.sink,
  }).subscribe({
    next: (finding) => {
      total += 1;
      if (!current) return void background.push(finding);
      const now = performance.now();
      current.findings.push(finding);
      current.first ??= now;
      const step = finding.events[0]?.time;
      if (step !== undefined) current.latencies.push(now - step);
    },
    error: (error: unknown) => (failure = error),
  });
  const reports: ScenarioReport[] = [];
  const control = await guest.control();
  const snapshotDir = join(cacheRoot(), 'snapshots');
  mkdirSync(snapshotDir, { recursive: true });
  try {
    await domain.synced();
    if (options.benignMs) {
      await control.run(BENIGN_WORKLOAD, 10_000);
      await new Promise((resolve) => setTimeout(resolve, options.benignMs));
      await control.run('kill $(cat /tmp/benign.pid) 2>/dev/null; true', 10_000);
    }
    const chosen: Scenario[] = options.benignMs
      ? []
      : listScenarios().filter(
          (scenario) => !options.scenarios || options.scenarios.includes(scenario.name),
        );
    for (const scenario of chosen) {
      if (failure) throw failure;
      options.onPhase?.(scenario.name, 'run');
      current = { name: scenario.name, started: performance.now(), findings: [], latencies: [] };
      const run = await runScenario(control, scenario.name, 'run');
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      let snapshot: Finding[] = [];
      if (options.snapshots !== false) {
        options.onPhase?.(scenario.name, 'snapshot');
        const path = join(snapshotDir, `${guest.name}-${scenario.name}.elf`);
        try {
          await snapshotWith(qmp, path);
          kernel.newGeneration();
          snapshot = await snapshotFindings(path, engine, guest.name);
          options.onSnapshot?.(snapshot);
        } finally {
          rmSync(path, { force: true });
        }
      }
      options.onPhase?.(scenario.name, 'cleanup');
      const cleanup = await runScenario(control, scenario.name, 'cleanup');
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const live = current;
      current = undefined;
      reports.push({
        scenario: scenario.name,
        live: compareFindings(live.findings, scenario.expected.live),
        snapshot: compareFindings(snapshot, scenario.expected.snapshot),
        ...(live.first !== undefined ? { timeToDetectMs: live.first - live.started } : {}),
        latenciesMs: live.latencies,
        output: `${run.output}${cleanup.output}`,
      });
    }
    if (failure) throw failure;
  } finally {
    subscription.unsubscribe();
    await domain.close();
    control.close();
    if (!options.guest) await guest.stop();
  }
  return {
    guest: guest.name,
    kernel: kernel.release,
    scenarios: reports,
    background,
    findings: total,
  };
}
