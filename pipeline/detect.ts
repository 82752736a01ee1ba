// The pipeline from a guest to findings, in one place for the CLI, the demo, the scenarios, the
// benches and library users: detectors → rules → sink, live on a Domain or judging a snapshot.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatMap, from, lastValueFrom, tap, toArray, type Observable } from 'rxjs';
import type { Domain } from '../introspect/domain/types.js';
import type { VcpuState } from '../introspect/domain/vcpu.js';
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import type { CpuControlState } from '../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import {
  DETECTORS,
  judgeWithDetectors,
  startDetectors,
  type JudgeOutcome,
} from '../plugins/index.js';
import type { DetectorPlugin } from '../plugins/types.js';
import { detect, RuleEngine, type Ruleset } from '../rules/index.js';
import type { Sink } from '../sinks/types.js';
import { acrossReboots, type RebootOptions } from './reboots.js';
import {
  actionsByRule,
  recordUnactionable,
  respond,
  type ActionLogEntry,
} from './response/respond.js';

export interface LiveOptions {
  domain: Domain;
  kernel: LinuxKernel;
  plugins: readonly DetectorPlugin[];
  /** What to say and do when the guest reboots under the detectors (domains that report it). */
  reboots?: RebootOptions;
}

/**
 * Semantic events of the detectors on a live guest (requirements checked before any hook). On a
 * domain that reports reboots, a reboot is a guest.reboot event and the detectors start again on
 * the next kernel (pipeline/reboots.ts).
 */
export function liveEvents({
  domain,
  kernel,
  plugins,
  reboots,
}: LiveOptions): Observable<VmiEvent> {
  return acrossReboots(
    domain,
    kernel,
    (current) => startDetectors(plugins, { domain, kernel: current }),
    reboots,
  );
}

/** Where response actions put their dumps and their audit lines (see docs/rules.md, actions). */
export interface ResponseOptions {
  /** Default: ringside-dumps in the system's temporary folder. */
  snapshotDir?: string;
  /** Default: a line per action on stderr. */
  log?: (entry: ActionLogEntry) => void;
}

/**
 * Findings of the rules on the detectors' events, each emitted once the sink has taken it (so a
 * finding seen downstream is a finding delivered). Without a sink, as the rules raise them. Rules
 * that name `actions` have them run (and recorded in the finding) before the sink gets it.
 */
export function liveFindings(
  options: LiveOptions & {
    rules: Ruleset | RuleEngine;
    sink?: Sink;
    response?: ResponseOptions;
    /** Sees every detector event on its way to the rules (a live view counts them). */
    onEvent?: (event: VmiEvent) => void;
  },
): Observable<Finding> {
  const actions = actionsByRule(options.rules);
  const events = liveEvents(options);
  const onEvent = options.onEvent;
  const detected = (onEvent ? events.pipe(tap(onEvent)) : events).pipe(detect(options.rules));
  const findings =
    actions.size === 0
      ? detected
      : detected.pipe(
          respond({
            domain: options.domain,
            actions,
            snapshotDir: options.response?.snapshotDir ?? join(tmpdir(), 'ringside-dumps'),
            ...(options.response?.log ? { log: options.response.log } : {}),
          }),
        );
  const sink = options.sink;
  return sink
    ? findings.pipe(
        concatMap(async (finding) => {
          await sink.write(finding);
          return finding;
        }),
      )
    : findings;
}

/** The control registers an integrity check judges, from a snapshot's recorded vCPUs. */
export function controlStates(vcpus: readonly VcpuState[]): CpuControlState[] {
  return vcpus.map((vcpu) => ({
    vcpu: vcpu.index,
    ...(vcpu.registers.cr0 !== undefined ? { cr0: vcpu.registers.cr0 } : {}),
    ...(vcpu.registers.cr4 !== undefined ? { cr4: vcpu.registers.cr4 } : {}),
  }));
}

export interface JudgeOptions {
  kernel: LinuxKernel;
  /** The guest's name in events and findings. */
  name: string;
  vcpus?: readonly VcpuState[];
  /** Default: every detector that can judge a snapshot. */
  plugins?: readonly DetectorPlugin[];
  rules: Ruleset | RuleEngine;
  /** When the snapshot was taken (default now). */
  timestamp?: string;
}

export interface SnapshotVerdict {
  events: VmiEvent[];
  findings: Finding[];
  /** A line per detector that could not judge this snapshot; the others still did. */
  warnings: string[];
  /** Each detector with a judge, by id: judged, refused (a requirement missing) or failed. */
  outcomes: Record<string, JudgeOutcome>;
}

/** Judges a snapshot: every snapshot-capable detector on its own, then the rules on their events. */
export async function judgeSnapshot(options: JudgeOptions): Promise<SnapshotVerdict> {
  const { events, warnings, outcomes } = await judgeWithDetectors(
    options.plugins ?? Object.values(DETECTORS),
    {
      kernel: options.kernel,
      domain: options.name,
      cpus: controlStates(options.vcpus ?? []),
      timestamp: options.timestamp ?? new Date().toISOString(),
    },
  );
  const findings = recordUnactionable(
    await lastValueFrom(from(events).pipe(detect(options.rules), toArray())),
    actionsByRule(options.rules),
    'a snapshot cannot act (response actions run live only)',
  );
  return { events, findings, warnings, outcomes };
}
