// The Linux detectors, by the short name a user picks them with (`--plugins exec,module`); the host
// that checks every plugin's declared requirements before any starts; and the two ways to run them:
// live on a Domain as one stream of semantic events, or judging a snapshot, each detector on its own.
import { merge, type Observable } from 'rxjs';
import { isRingsideError, RingsideError } from '../introspect/errors.js';
import type { VmiEvent } from '../introspect/events/event.js';
import { bpfPrograms } from './bpf-programs/index.js';
import { credMonitor } from './cred-monitor/index.js';
import { execMonitor } from './exec-monitor/index.js';
import { codeInjection } from './code-injection/index.js';
import { functionHooks } from './function-hooks/index.js';
import { hiddenModule } from './hidden-module/index.js';
import { hiddenProcess } from './hidden-process/index.js';
import { kernelIntegrity } from './kernel-integrity/index.js';
import { kernelThreadMasquerade } from './kthread-masquerade/index.js';
import { moduleMonitor } from './module-monitor/index.js';
import { namespaceEscape } from './namespace-escape/index.js';
import { networkMonitor } from './network-monitor/index.js';
import { processExit } from './process-exit/index.js';
import { DETECTOR_NAMES, type DetectorName } from './names.js';
import { describeRefusal, partitionByRequirements, requireAll } from './requirements.js';
import type { DetectorPlugin, PluginContext, SnapshotContext } from './types.js';

export const DETECTORS: Readonly<Record<DetectorName, DetectorPlugin>> = {
  exec: execMonitor,
  exit: processExit,
  cred: credMonitor,
  module: moduleMonitor,
  network: networkMonitor,
  integrity: kernelIntegrity,
  hidden: hiddenProcess,
  injection: codeInjection,
  escape: namespaceEscape,
  masquerade: kernelThreadMasquerade,
  modhide: hiddenModule,
  hooks: functionHooks,
  bpf: bpfPrograms,
};

export { DETECTOR_NAMES, type DetectorName };

/** Looks detectors up by name; an unknown name is an error that lists the known ones. */
export function chooseDetectors(names: readonly string[]): DetectorPlugin[] {
  const known = (name: string): name is DetectorName =>
    (DETECTOR_NAMES as readonly string[]).includes(name);
  const unknown = names.filter((name) => !known(name));
  if (unknown.length)
    throw new RingsideError(
      'BAD_INPUT',
      `unknown plugin(s): ${unknown.join(', ')} (known: ${DETECTOR_NAMES.join(', ')})`,
    );
  return names.filter(known).map((name) => DETECTORS[name]);
}

/**
 * Starts the detectors and merges their events. Every plugin's requirements (architecture,
 * symbols, capabilities) are checked first: if any plugin cannot run, this throws one error naming
 * each refused plugin and why, before any hook is planted.
 */
export function startDetectors(
  plugins: readonly DetectorPlugin[],
  context: PluginContext,
): Observable<VmiEvent> {
  requireAll(plugins, context.kernel, context.domain);
  return merge(...plugins.map((plugin) => plugin.start(context)));
}

/** The detectors that can run on this live guest, and one line for each that cannot. */
export function runnableDetectors(
  plugins: readonly DetectorPlugin[],
  context: PluginContext,
): { runnable: DetectorPlugin[]; refused: string[] } {
  const { runnable, refused } = partitionByRequirements(plugins, context.kernel, context.domain);
  return {
    runnable,
    refused: refused.map((refusal) => describeRefusal(refusal, context.domain.name)),
  };
}

/** How one detector fared on a snapshot: it judged, it was refused, or its judge failed. */
export type JudgeOutcome = 'judged' | 'refused' | 'failed';

/** What judging a snapshot gave: the detectors' events, and a line for each check that failed. */
export interface SnapshotJudgement {
  events: VmiEvent[];
  /** One per detector that could not judge (a structure unreadable, a requirement missing). */
  warnings: string[];
  /** Each detector with a judge, by id, and how it fared. */
  outcomes: Record<string, JudgeOutcome>;
}

/**
 * Judges a snapshot with every detector that can (those with `judge`), each on its own: one whose
 * structures cannot be read, or whose requirements are missing, becomes a warning and the others
 * still run. Errors that are not about the guest (bugs) are thrown.
 */
export async function judgeWithDetectors(
  plugins: readonly DetectorPlugin[],
  context: SnapshotContext,
): Promise<SnapshotJudgement> {
  const judges = plugins.filter((plugin) => plugin.judge !== undefined);
  const { runnable, refused } = partitionByRequirements(judges, context.kernel);
  const warnings = refused.map((refusal) => describeRefusal(refusal, context.domain));
  const outcomes: Record<string, JudgeOutcome> = {};
  for (const { plugin } of refused) outcomes[plugin.meta.id] = 'refused';
  const events: VmiEvent[] = [];
  for (const plugin of runnable) {
    try {
      events.push(...(await plugin.judge!(context)));
      outcomes[plugin.meta.id] = 'judged';
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      outcomes[plugin.meta.id] = 'failed';
      warnings.push(`plugin ${plugin.meta.id} could not judge ${context.domain}: ${error.message}`);
    }
  }
  return { events, warnings, outcomes };
}
